// tether_e2e: end-to-end comparison of tether with a hand-written Boost.Asio client.
//
// Starts the reference server (echo_server) as a child process pinned to one core (the last,
// like `taskset -c`), keeps itself to the other cores, then for each round runs every workload
// on tether and on the raw baseline (bench/raw_asio_client) alternately, the order flipping each
// round, so drift hits both:
//   closed C x L   C caller threads doing blocking request/response on L connections
//                  (tether: pool.acquire() + lease.request() per request; 64x8 makes callers wait)
//   pipelined dD   D requests in flight on one lease / one connection, each completion sends the
//   next
// each with 64-byte and 4 KiB JSON bodies. Per run: requests/s, latency p50/p99/p999 (send to
// completion), client CPU per request (getrusage user+sys over the run / requests). Per workload it
// prints the median over rounds and the tether/raw ratios; --json writes everything for plotting.
//
//   tether_e2e [--seconds S] [--rounds N] [--filter SUBSTR] [--quick] [--json FILE] [--tsv FILE]
//              [--server PATH] [--server-core N] [--io-threads N] [--list]
//   tether_e2e --quick                       smoke test: 0.3 s runs, 1 round
//   tether_e2e --filter "closed 8x8"         the design's headline target (design.md §5)
// scripts/bench.sh builds it in release mode, runs it and plots the results.
// Exit status: 0 ok, 1 a run failed or some requests failed, 2 bad arguments.

#include "cli_number.hpp" // bench/common
#include "harness.hpp"
#include "machine.hpp"
#include "report.hpp"
#include "server_process.hpp" // bench/common
#include "workloads.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
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
    std::optional<int> server_core; // -1: no pinning
    unsigned io_threads = 2;
};

constexpr std::string_view usage_text = R"(usage: tether_e2e [options]
  --seconds S        measured seconds per run (default 2)
  --rounds N         rounds; each runs every workload on tether and raw (default 3)
  --quick            0.3 s runs, 1 round (explicit --seconds/--rounds win)
  --filter SUBSTR    only workloads whose name contains SUBSTR (repeatable), e.g. "closed 8x8"
  --json FILE        write every row, run and the machine's description as JSON
  --tsv FILE         write medians as tab-separated values (for gnuplot)
  --server PATH      tether-echo-server binary (default: the one built with this program)
  --server-core N    CPU for the server, -1 = no pinning (default: the last CPU)
  --io-threads N     io threads of both clients (default 2)
  --list             print the workload names and exit
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
            for (const workload& w : standard_workloads())
                std::cout << w.name << '\n';
            std::exit(0);
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
            if (o.io_threads < 1 || o.io_threads > 64)
                usage_error("--io-threads must be in 1..64");
        } else {
            usage_error("unknown argument '" + std::string(name) + "'");
        }
    }
    if (o.server.empty())
        usage_error("no tether-echo-server known at build time: pass --server PATH");
    return o;
}

std::vector<row> selected_rows(const options& o)
{
    std::vector<row> rows;
    for (const workload& w : standard_workloads()) {
        const bool wanted = o.filters.empty() ||
                            std::any_of(o.filters.begin(), o.filters.end(), [&](const auto& f) {
                                return w.name.find(f) != std::string::npos;
                            });
        if (wanted)
            rows.push_back({w, {}, {}});
    }
    return rows;
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
                  "[round %u/%u] %-20s %-6s %10.0f req/s  p99 %8.1f us  cpu %6.2f us/req%s\n",
                  round + 1, rounds, w.name.c_str(), impl, r.rps, r.p99_us, r.cpu_us_per_req,
                  r.errors > 0      ? "  (some requests failed)"
                  : r.requests == 0 ? "  (nothing completed in the window: machine overloaded?)"
                                    : "");
    std::cerr << text;
}

} // namespace

int main(int argc, char** argv)
{
    const options o = parse(argc, argv);
    std::vector<row> rows = selected_rows(o);
    if (rows.empty())
        usage_error("no workload matches the filter (see --list)");

    report_context context;
    context.machine = probe_machine();
    context.rounds = o.rounds.value_or(o.quick ? 1u : 3u);
    context.timing.seconds = o.seconds.value_or(o.quick ? 0.3 : 2.0);
    context.timing.warmup_seconds = std::clamp(context.timing.seconds * 0.2, 0.05, 0.5);
    context.io_threads = o.io_threads;
    context.server = o.server;

    try {
        // The server gets the last CPU and the benchmark the others, when there are two or more.
        // Started before any thread of ours (it forks); it dies with this process.
        const bool pin = allowed_cpus().size() >= 2;
        context.server_core = o.server_core.value_or(pin ? last_allowed_cpu() : -1);
        server_process server({o.server, {"--drain-timeout", "1000"}, context.server_core});
        const std::uint16_t port = server.start();
        if (pin && context.server_core >= 0 && !avoid_cpu(context.server_core))
            std::cerr << "tether_e2e: could not keep off CPU " << context.server_core
                      << "; running unpinned\n";
        context.bench_cpus = cpu_list(allowed_cpus()); // threads started from now on inherit it
        std::cout << "tether_e2e: " << context.machine.cpu_model << ", " << context.machine.cores
                  << " CPUs, " << context.machine.kernel << ", " << context.machine.date
                  << "\n  server pid " << server.pid() << " port " << port << " on CPU "
                  << (context.server_core >= 0 ? std::to_string(context.server_core) : "any")
                  << ", bench on CPUs " << context.bench_cpus << "; " << context.rounds
                  << " round(s) of " << context.timing.seconds << " s per run (+"
                  << context.timing.warmup_seconds << " s warm-up), " << o.io_threads
                  << " io threads\n"
                  << std::flush;

        const run_settings settings{port, o.io_threads, context.timing};
        std::uint64_t errors = 0;
        for (unsigned round = 0; round < context.rounds; ++round) {
            for (row& r : rows) {
                const auto run = [&](bool tether) {
                    const run_result result =
                        tether ? run_tether(r.w, settings) : run_raw(r.w, settings);
                    (tether ? r.tether : r.raw).push_back(result);
                    errors += result.errors;
                    print_progress(round, context.rounds, r.w, tether ? "tether" : "raw", result);
                };
                const bool tether_first = round % 2 == 0;
                run(tether_first);
                run(!tether_first);
            }
        }
        server.terminate(std::chrono::seconds(3)); // SIGTERM: it drains, its clients are gone

        std::cout << '\n';
        print_table(std::cout, rows);
        if (!o.json_path.empty())
            write_file(o.json_path, to_json(rows, context).dump(2) + "\n");
        if (!o.tsv_path.empty())
            write_file(o.tsv_path, to_tsv(rows, context));
        if (errors > 0) {
            std::cerr << "tether_e2e: " << errors << " requests failed\n";
            return 1;
        }
        return 0;
    } catch (const std::exception& e) { // unwinding kills the server child
        std::cerr << "tether_e2e: " << e.what() << '\n';
        return 1;
    }
}
