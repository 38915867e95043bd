// tether_e2e: end-to-end comparison of tether with a hand-written Boost.Asio client and with
// Netty's FixedChannelPool.
//
// Starts the reference server (echo_server) as a child process pinned to one core (the last,
// like `taskset -c`), keeps itself to the other cores, then for each round runs every workload
// on tether, on the raw baseline (bench/raw_asio_client) and on the Netty peer (bench/peers/netty,
// a Java child process on the bench cores, plaintext rows only) one after the other, the order
// rotating each round, so drift hits all:
//   closed C x L   C caller threads doing blocking request/response on L connections
//                  (tether: pool.acquire() + lease.request() per request; 64x8 makes callers wait)
//   pipelined dD   D requests in flight on one lease / one connection, each completion sends the
//   next
// each with 64-byte and 4 KiB JSON bodies. Then over TLS (rows named "... tls"): closed 8x8 64B,
// pipelined d128 64B and closed 8x8 4KiB, against a second server child speaking TLS on test
// certificates made for the run, pinned to the same CPU; both clients verify its certificate.
// Per run: requests/s, latency p50/p99/p999 (send to completion), client CPU per request
// (getrusage user+sys over the run / requests) and the server's CPU per request (its CPU clock
// read where the measured window starts and ends). Per workload it prints the median over
// rounds, the tether/raw and tether/netty ratios and, for a TLS row, tether over TLS / tether
// plaintext; --json writes everything for plotting. The Netty peer, a JVM, gets a warm-up of at
// least 5 s per run (its JIT; --netty-warmup); without a JDK or the jars at build time it is
// skipped, and said so.
// The connect section ("connect x200 plain+tls", connect_cost.hpp) opens --connect-links new
// links per run on each implementation, plaintext and TLS: wall time and client CPU per link.
//
//   tether_e2e [--seconds S] [--rounds N] [--filter SUBSTR] [--quick] [--json FILE] [--tsv FILE]
//              [--server PATH] [--server-core N] [--io-threads N] [--connect-links N] [--list]
//              [--no-netty] [--netty-jar PATH] [--netty-warmup S]
//   tether_e2e --quick                       smoke test: 0.3 s runs, 1 round
//   tether_e2e --filter "closed 8x8"         the design's headline target (design.md §5)
//   tether_e2e --filter tls                  the TLS rows and the connect section
// scripts/bench.sh builds it in release mode, runs it and plots the results.
// Exit status: 0 ok, 1 a run failed or some requests failed, 2 bad arguments.

#include "cli_number.hpp" // bench/common
#include "connect_cost.hpp"
#include "connect_report.hpp"
#include "harness.hpp"
#include "machine.hpp"
#include "report.hpp"
#include "run_netty.hpp"
#include "server_process.hpp" // bench/common
#include "servers.hpp"
#include "workloads.hpp"

#include <tether/config.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef TETHER_E2E_SERVER
#define TETHER_E2E_SERVER ""
#endif

using namespace tether_bench;

namespace {

struct options {
    std::optional<double> seconds;
    std::optional<unsigned> rounds;
    bool quick = false;
    std::vector<std::string> filters; // a workload runs if its name contains any of them
    std::string json_path;
    std::string tsv_path;
    std::string server = TETHER_E2E_SERVER;
    std::optional<int> server_core;     // -1: no pinning
    std::optional<unsigned> io_threads; // unset: the pool's default, once the bench is pinned
    bool list = false;
    std::size_t connect_links = 200; // 0: no connect section
    bool no_netty = false;
    std::string netty_jar; // "": the one built with this program
    std::optional<double> netty_warmup;
};

constexpr std::string_view usage_text = R"(usage: tether_e2e [options]
  --seconds S        measured seconds per run (default 2)
  --rounds N         rounds; each runs every workload on tether, raw and netty (default 3)
  --quick            0.3 s runs, 1 round (explicit --seconds/--rounds win)
  --filter SUBSTR    only workloads whose name contains SUBSTR (repeatable), e.g. "closed 8x8"
  --json FILE        write every row, run and the machine's description as JSON
  --tsv FILE         write medians as tab-separated values (for gnuplot)
  --server PATH      tether-echo-server binary (default: the one built with this program)
  --server-core N    CPU for the server, -1 = no pinning (default: the last CPU)
  --io-threads N     io threads of both clients (default: the pool's default, the CPUs the
                     bench may use once it keeps off the server's)
  --connect-links N  links opened per run of the connect section, 0 = skip it (default 200)
  --list             print the workload names (and the connect section's) and exit
  --no-netty         do not run the Netty peer
  --netty-jar PATH   tether-netty-peer.jar (default: the one built with this program)
  --netty-warmup S   least warm-up of a Netty run, for the JVM's JIT (default 5)
)";

[[noreturn]] void usage_error(const std::string& message)
{
    std::cerr << "tether_e2e: " << message << '\n' << usage_text;
    std::exit(2);
}

template <class T> T number(std::string_view name, std::string_view text)
{
    const std::optional<T> value = parse_number<T>(text);
    if (!value)
        usage_error("bad value '" + std::string(text) + "' for " + std::string(name));
    return *value;
}

options parse(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        const cli_option option = split_option(argv[i]);
        const std::string_view name = option.name;
        const auto value = [&]() -> std::string_view {
            const auto v = option_value(option, argc, argv, i);
            if (!v)
                usage_error("option " + std::string(name) + " needs a value");
            return *v;
        };
        if (name == "--help" || name == "-h") {
            std::cout << usage_text;
            std::exit(0);
        } else if (name == "--list") {
            o.list = true;
        } else if (name == "--no-netty") {
            o.no_netty = true;
        } else if (name == "--netty-jar") {
            o.netty_jar = value();
        } else if (name == "--netty-warmup") {
            o.netty_warmup = number<double>(name, value());
            if (!(*o.netty_warmup >= 0 && *o.netty_warmup <= 600))
                usage_error("--netty-warmup must be in [0, 600]");
        } else if (name == "--quick") {
            o.quick = true;
        } else if (name == "--seconds") {
            o.seconds = number<double>(name, value());
            if (!(*o.seconds > 0 && *o.seconds <= 3600))
                usage_error("--seconds must be in (0, 3600]");
        } else if (name == "--rounds") {
            o.rounds = number<unsigned>(name, value());
            if (*o.rounds < 1 || *o.rounds > 1000)
                usage_error("--rounds must be in 1..1000");
        } else if (name == "--filter") {
            o.filters.emplace_back(value());
        } else if (name == "--json") {
            o.json_path = value();
        } else if (name == "--tsv") {
            o.tsv_path = value();
        } else if (name == "--server") {
            o.server = value();
        } else if (name == "--server-core") {
            o.server_core = number<int>(name, value());
        } else if (name == "--io-threads") {
            o.io_threads = number<unsigned>(name, value());
            if (*o.io_threads < 1 || *o.io_threads > 64)
                usage_error("--io-threads must be in 1..64");
        } else if (name == "--connect-links") {
            o.connect_links = number<std::size_t>(name, value());
            if (o.connect_links > 800) // each link is a descriptor here and in the server
                usage_error("--connect-links must be in 0..800");
        } else {
            usage_error("unknown argument '" + std::string(name) + "'");
        }
    }
    if (o.server.empty())
        usage_error("no tether-echo-server known at build time: pass --server PATH");
    return o;
}

bool wanted(const options& o, const std::string& name)
{
    return o.filters.empty() || std::any_of(o.filters.begin(), o.filters.end(), [&](const auto& f) {
               return name.find(f) != std::string::npos;
           });
}

std::vector<row> selected_rows(const options& o, const netty_peer& netty)
{
    std::vector<row> rows;
    for (const workload& w : standard_workloads())
        if (wanted(o, w.name))
            rows.push_back({w, {}, {}, {}, netty_skip_reason(w, netty)});
    return rows;
}

// How the Netty peer runs, or why it does not (for the report and the header).
std::string describe(const netty_peer& netty, const run_timing& timing)
{
    if (!netty.skipped.empty())
        return "skipped: " + netty.skipped;
    char warmup[32];
    std::snprintf(warmup, sizeof warmup, "%g", netty_warmup_seconds(netty, timing));
    return netty.java + " -jar " + netty.jar + " (Netty FixedChannelPool, one event loop; " +
           warmup + " s JIT warm-up per run; plaintext rows only)";
}

std::optional<connect_runs> selected_connect_section(const options& o)
{
    if (o.connect_links == 0 || !wanted(o, connect_section_name(o.connect_links)))
        return std::nullopt;
    connect_runs runs;
    runs.links = o.connect_links;
    return runs;
}

void print_list(const options& o)
{
    for (const workload& w : standard_workloads())
        std::cout << w.name << '\n';
    if (o.connect_links > 0)
        std::cout << connect_section_name(o.connect_links) << '\n';
}

void write_file(const std::string& path, const std::string& text)
{
    const std::filesystem::path p(path);
    if (p.has_parent_path())
        std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p);
    out << text;
    if (!out.flush())
        throw std::runtime_error("cannot write " + path);
}

void print_progress(unsigned round, unsigned rounds, const workload& w, const char* impl,
                    const run_result& r)
{
    char text[256];
    std::snprintf(text, sizeof text,
                  "[round %u/%u] %-22s %-6s %10.0f req/s  p99 %8.1f us  cpu %6.2f us/req  srv "
                  "%6.2f us/req%s\n",
                  round + 1, rounds, w.name.c_str(), impl, r.rps, r.p99_us, r.cpu_us_per_req,
                  r.server_cpu_us_per_req,
                  r.errors > 0      ? "  (some requests failed)"
                  : r.requests == 0 ? "  (nothing completed in the window: machine overloaded?)"
                                    : "");
    std::cerr << text;
}

// One side of the comparison: its name, where its runs go in a row, how to run a workload.
struct implementation {
    const char* name;
    std::vector<run_result> row::*runs;
    std::function<run_result(const workload&)> run;
};

// The implementations that run row `r`, in round `round`'s order: rotated one place each round
// (with two of them: flipped), so slow drift of the machine hits each alike.
std::vector<const implementation*> run_order(const std::vector<implementation>& all, const row& r,
                                             unsigned round)
{
    std::vector<const implementation*> order;
    for (const implementation& impl : all)
        if (impl.runs != &row::netty || r.netty_skipped.empty())
            order.push_back(&impl);
    std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(round % order.size()),
                order.end());
    return order;
}

// One round of the connect section: each implementation, plaintext then TLS, the order of the
// implementations flipping each round like the workloads'.
void run_connect_round(connect_runs& runs, const run_settings& settings, unsigned round,
                       unsigned rounds)
{
    const auto run = [&](bool tether, bool tls) {
        const connect_result r = tether ? connect_tether(runs.links, tls, settings)
                                        : connect_raw(runs.links, tls, settings);
        (tether ? (tls ? runs.tether_tls : runs.tether_plain)
                : (tls ? runs.raw_tls : runs.raw_plain))
            .push_back(r);
        char text[256];
        std::snprintf(text, sizeof text,
                      "[round %u/%u] %-22s %-6s %-5s %8.1f ms  %8.1f us/link  cpu %7.1f us/link\n",
                      round + 1, rounds, connect_section_name(runs.links).c_str(),
                      tether ? "tether" : "raw", tls ? "tls" : "plain", r.seconds * 1e3,
                      r.wall_us_per_link(), r.cpu_us_per_link());
        std::cerr << text;
    };
    const bool tether_first = round % 2 == 0;
    for (const bool tether : {tether_first, !tether_first})
        for (const bool tls : {false, true})
            run(tether, tls);
}

} // namespace

int main(int argc, char** argv)
{
    const options o = parse(argc, argv);
    if (o.list) {
        print_list(o);
        return 0;
    }
    netty_peer netty = find_netty_peer(o.netty_jar, o.no_netty);
    netty.min_warmup_seconds = o.netty_warmup.value_or(netty.min_warmup_seconds);
    std::vector<row> rows = selected_rows(o, netty);
    std::optional<connect_runs> connect = selected_connect_section(o);
    if (rows.empty() && !connect)
        usage_error("no workload matches the filter (see --list)");
    const bool tls =
        connect || std::any_of(rows.begin(), rows.end(), [](const row& r) { return r.w.tls; });

    report_context context;
    context.machine = probe_machine();
    context.rounds = o.rounds.value_or(o.quick ? 1u : 3u);
    context.timing.seconds = o.seconds.value_or(o.quick ? 0.3 : 2.0);
    context.timing.warmup_seconds = std::clamp(context.timing.seconds * 0.2, 0.05, 0.5);
    context.server = o.server;
    context.netty = describe(netty, context.timing);

    try {
        // The servers get the last CPU and the benchmark the others, when there are two or more.
        // Started before any thread of ours (they fork); they die with this process.
        const bool pin = allowed_cpus().size() >= 2;
        context.server_core = o.server_core.value_or(pin ? last_allowed_cpu() : -1);
        bench_servers servers(o.server, context.server_core, tls);
        if (pin && context.server_core >= 0 && !avoid_cpu(context.server_core))
            std::cerr << "tether_e2e: could not keep off CPU " << context.server_core
                      << "; running unpinned\n";
        if (tls)
            context.tls = "reference server with an EC P-256 certificate from a test CA "
                          "(tether::testing::write_test_pki); clients verify chain and 127.0.0.1";
        context.bench_cpus = cpu_list(allowed_cpus()); // threads started from now on inherit it
        context.io_threads = o.io_threads.value_or(tether::default_io_threads());
        std::cout << "tether_e2e: " << context.machine.cpu_model << ", " << context.machine.cores
                  << " CPUs, " << context.machine.kernel << ", " << context.machine.date
                  << "\n  server " << servers.describe() << " on CPU "
                  << (context.server_core >= 0 ? std::to_string(context.server_core) : "any")
                  << ", bench on CPUs " << context.bench_cpus << "; " << context.rounds
                  << " round(s) of " << context.timing.seconds << " s per run (+"
                  << context.timing.warmup_seconds << " s warm-up), " << context.io_threads
                  << " io threads\n  netty: " << context.netty
                  << (netty.skipped.empty() ? "" : "; tether and raw run without it") << '\n'
                  << std::flush;

        const run_settings settings{servers.port(),     servers.tls_port(), servers.ca_pem(),
                                    context.io_threads, context.timing,     servers.pid(),
                                    servers.tls_pid()};
        const std::vector<implementation> implementations{
            {"tether", &row::tether, [&](const workload& w) { return run_tether(w, settings); }},
            {"raw", &row::raw, [&](const workload& w) { return run_raw(w, settings); }},
            {"netty", &row::netty,
             [&](const workload& w) { return run_netty(w, settings, netty); }}};
        std::uint64_t errors = 0;
        for (unsigned round = 0; round < context.rounds; ++round) {
            for (row& r : rows) {
                for (const implementation* impl : run_order(implementations, r, round)) {
                    const run_result result = impl->run(r.w);
                    (r.*impl->runs).push_back(result);
                    errors += result.errors;
                    print_progress(round, context.rounds, r.w, impl->name, result);
                }
            }
            if (connect)
                run_connect_round(*connect, settings, round, context.rounds);
        }
        servers.terminate(std::chrono::seconds(3)); // SIGTERM: they drain, their clients are gone

        std::cout << '\n';
        if (!rows.empty())
            print_table(std::cout, rows);
        if (connect)
            print_connect_table(std::cout, *connect);
        if (!o.json_path.empty()) {
            nlohmann::json report = to_json(rows, context);
            if (connect)
                report["connect"] = to_json(*connect);
            write_file(o.json_path, report.dump(2) + "\n");
        }
        if (!o.tsv_path.empty())
            write_file(o.tsv_path, to_tsv(rows, context));
        if (errors > 0) {
            std::cerr << "tether_e2e: " << errors << " requests failed\n";
            return 1;
        }
        return 0;
    } catch (const std::exception& e) { // unwinding kills the server children
        std::cerr << "tether_e2e: " << e.what() << '\n';
        return 1;
    }
}
