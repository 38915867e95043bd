// tether_soak: a soak test of the pool. For MINUTES (fractional allowed) it runs mixed load from
// several caller threads (blocking and pipelined leases, one-shots, cancelled acquires and
// requests, sleeps past the request timeout, server errors, notifies, goaways) through an
// in-process fault proxy to the reference echo_server, a child process, while every few seconds
// one fault hits: the server restarted (SIGTERM or SIGKILL, same port), suspended
// (SIGSTOP/SIGCONT), its links cut with RST or FIN, blackholed, delayed, or one link reset,
// closed, hung or told goaway.
//
// Every 5 s it prints requests (every operation, acquires included), successes, failures by
// error name, operations in flight, req/s, the p99 round trip of plain echoes on a lease, RSS,
// open descriptors and threads. At the end it stops the faults, checks that the pool serves
// again, shuts the pool down while load is still running, tears everything down and prints
// the verdict. It exits 0 only when:
//   - every operation completed exactly once (lost = 0, no double completion) with its own reply;
//   - nothing hung: no 10 s without a completion while operations were open, no operation open
//     for 30 s, shutdown returned within 10 s, the callers stopped within 30 s;
//   - the pool served again within 15 s of the last fault;
//   - RSS grew by at most max(8 MiB, 50 %) from the end of the warm-up (first 20 % of the run)
//     to its peak, descriptors and threads stayed under their ceilings during the run and
//     returned exactly to their starting counts after teardown.
// Exit status: 0 pass, 1 a check failed, 2 bad command line, 3 the environment failed.
//
// Run: build/release/bench/soak/tether_soak 2            (the CI run; ctest -L soak)
//      build/release/bench/soak/tether_soak 60 --seed 42 (longer; --help for the options)

#include "chaos.hpp"
#include "ledger.hpp"
#include "load.hpp"
#include "monitor.hpp"
#include "options.hpp"
#include "outcome.hpp"
#include "output.hpp"
#include "process_stats.hpp"

#include <tether/tether.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fault_proxy.hpp>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <server_process.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using soak::clock;
using soak::say;

constexpr int exit_pass = 0;
constexpr int exit_fail = 1;
constexpr int exit_environment = 3;

// The pool: short probes and timeouts so that every fault is found and cleared fast.
constexpr unsigned io_threads = 2;
constexpr std::size_t max_connections = 6;
constexpr auto ping_interval = 200ms;
constexpr auto ping_timeout = 200ms;
constexpr auto request_timeout = 1s;
constexpr auto acquire_timeout = 1s;
constexpr auto connect_timeout = 500ms;
constexpr auto drain = 1s;

// The bounds of the verdict (see the header comment).
constexpr long rss_growth_floor_kib = 8 * 1024; // allowed growth: the larger of this ...
constexpr long rss_growth_percent = 50;         // ... and this share of the warm-up RSS
constexpr int fd_headroom = 24; // during the run, outside proxy pairs, over the count with fixtures
constexpr int thread_headroom = 4; // over fixtures + io threads + callers + monitor
constexpr auto shutdown_limit = 10s;
constexpr auto callers_stop_limit = 30s;
constexpr auto recovery_limit = 15s;
constexpr std::uint64_t recovery_successes = 100;
constexpr auto completion_grace = 2s; // for handlers still posted when shutdown returns
constexpr auto teardown_limit = 5s;   // for descriptors and threads to return to baseline

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int)
{
    interrupted.store(true);
}

double seconds(clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}
double mib(long kib)
{
    return static_cast<double>(kib) / 1024.0;
}

std::string format(const char* fmt, auto... args)
{
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
}

/// Sleeps until `until` or until `stop()` holds, in short slices.
template <class Stop> void sleep_until(clock::time_point until, Stop stop)
{
    while (!stop() && clock::now() < until)
        std::this_thread::sleep_for(std::min<clock::duration>(50ms, until - clock::now()));
}

/// Prints pool.diagnostics(), unless the pool cannot answer within 2 s (a stuck lock).
void print_diagnostics(const tether::pool& pool)
{
    auto answer = std::make_shared<std::promise<std::string>>();
    auto text = answer->get_future();
    std::thread([answer, pool] { answer->set_value(pool.diagnostics()); }).detach();
    if (text.wait_for(2s) == std::future_status::ready)
        say("pool diagnostics: " + text.get());
    else
        say("pool diagnostics: no answer within 2 s");
}

/// A hang the soak cannot recover from: report, kill the server, leave without waiting.
[[noreturn]] void abandon(const std::string& why, const tether::pool& pool,
                          tether_bench::server_process& server)
{
    say("FAIL: hang: " + why);
    print_diagnostics(pool);
    server.kill();
    say("VERDICT: FAIL (hang; the process exits without waiting for stuck threads)");
    std::fflush(stdout);
    std::_Exit(exit_fail);
}

tether::pool build_pool(std::uint16_t port, std::atomic<std::uint64_t>& notifies)
{
    return tether::pool_builder{}
        .endpoint("127.0.0.1", port)
        .io_threads(io_threads)
        .min_connections(2)
        .max_connections(max_connections)
        .max_waiters(256)
        .acquire_timeout(acquire_timeout)
        .connect_timeout(connect_timeout)
        .request_timeout(request_timeout)
        .ping_interval(ping_interval)
        .ping_timeout(ping_timeout)
        .backoff(20ms, 2.0, 500ms, 0.3)
        .drain_timeout(drain)
        .lease_warn_threshold(10s)
        .on_notify([&notifies](const nlohmann::json&) { notifies.fetch_add(1); })
        .build();
}

void print_summary(const soak::ledger::totals& t, const std::map<std::string, unsigned>& faults,
                   const tether::pool_stats& ps, std::uint64_t notifies)
{
    say("operations by kind:            issued         ok     failed");
    for (std::size_t k = 0; k < soak::op_kind_count; ++k) {
        const auto& b = t.by_kind[k];
        say(format("  %-22s %12llu %10llu %10llu",
                   std::string(soak::name_of(static_cast<soak::op_kind>(k))).c_str(),
                   static_cast<unsigned long long>(b.issued), static_cast<unsigned long long>(b.ok),
                   static_cast<unsigned long long>(b.failed)));
    }
    std::string line = "failures by outcome:";
    for (const auto& [name, count] : t.failures)
        line += " " + name + "=" + std::to_string(count);
    say(t.failures.empty() ? line + " none" : line);
    line = "faults injected:";
    unsigned total = 0;
    for (const auto& [name, count] : faults) {
        line += " " + name + "=" + std::to_string(count);
        total += count;
    }
    say(line + " (" + std::to_string(total) + ")");
    say(format("pool: connects %llu, connect failures %llu, connections lost %llu, dead links "
               "found by ping %llu, request timeouts %llu, late responses %llu, goaways %llu, "
               "notifies %llu",
               static_cast<unsigned long long>(ps.connects),
               static_cast<unsigned long long>(ps.connect_failures),
               static_cast<unsigned long long>(ps.connections_lost),
               static_cast<unsigned long long>(ps.dead_links_detected),
               static_cast<unsigned long long>(ps.request_timeouts),
               static_cast<unsigned long long>(ps.late_responses),
               static_cast<unsigned long long>(ps.goaways),
               static_cast<unsigned long long>(notifies)));
}

int run(const soak::options& opt)
{
    say(format("tether_soak: %.2f min, seed %llu, %u callers, server %s",
               seconds(opt.duration) / 60.0, static_cast<unsigned long long>(opt.seed), opt.callers,
               opt.server.c_str()));

    const soak::process_sample baseline = soak::sample_process();

    soak::ledger book;
    // The server's own drain bound on SIGTERM is 1 s (chaos waits 3 s before a SIGKILL).
    tether_bench::server_process server(
        tether_bench::server_launch{opt.server, {"--threads", "1", "--drain-timeout", "1000"}, -1});
    const std::uint16_t server_port = server.start(0);
    std::optional<tether::test::fault_proxy> proxy;
    proxy.emplace("127.0.0.1", server_port);
    const soak::process_sample with_fixtures = soak::sample_process();

    const soak::monitor_limits limits{
        opt.duration / 5,
        with_fixtures.fds + fd_headroom,
        with_fixtures.threads + static_cast<int>(io_threads + opt.callers) + 1 + thread_headroom,
    };
    say(format("server pid %d on port %d, proxy port %d; pool: %zu links max, ping %lld+%lld ms, "
               "request/acquire timeout %lld/%lld ms",
               static_cast<int>(server.pid()), server_port, proxy->port(), max_connections,
               static_cast<long long>(ping_interval.count()),
               static_cast<long long>(ping_timeout.count()),
               static_cast<long long>(std::chrono::milliseconds(request_timeout).count()),
               static_cast<long long>(std::chrono::milliseconds(acquire_timeout).count())));
    say(format("bounds: lost 0, double completions 0, wrong replies 0; no 10 s without a "
               "completion, no operation open 30 s, shutdown <= %lld s; serving again <= %lld s "
               "after the faults stop; RSS growth after the %.0f s warm-up <= max(%ld MiB, %ld%%); "
               "fds outside proxy pairs <= %d and threads <= %d during the run, back to %d fds and "
               "%d threads after teardown",
               static_cast<long long>(shutdown_limit.count()),
               static_cast<long long>(recovery_limit.count()), seconds(limits.warmup),
               rss_growth_floor_kib / 1024, rss_growth_percent, limits.fd_ceiling,
               limits.thread_ceiling, baseline.fds, baseline.threads));

    std::atomic<std::uint64_t> notifies{0};
    tether::pool pool = build_pool(proxy->port(), notifies);
    if (!pool.wait_ready(5s))
        throw std::runtime_error("the pool did not become ready: " + pool.diagnostics());

    const auto start = clock::now();
    const auto end = start + opt.duration;
    std::atomic<unsigned> faults_injected{0};
    std::optional<soak::monitor> mon;
    mon.emplace(
        book, limits, [&] { return faults_injected.load(); },
        [&] { return 2 * static_cast<int>(proxy->connections_open()); });
    const auto stopping = [&] {
        return interrupted.load() || clock::now() >= end || !mon->failure().empty();
    };
    std::optional<soak::chaos> faults;
    faults.emplace(server, *proxy, pool, book, opt.seed ^ 0xc4a05ULL, stopping);
    std::optional<soak::load> callers;
    soak::monitor::print_header();
    callers.emplace(pool, book, opt.seed, opt.callers);

    // The faults, one at a time, on this thread (PR_SET_PDEATHSIG of the server is tied to it).
    std::string environment_error;
    try {
        for (;;) {
            sleep_until(std::min(clock::now() + faults->next_pause(), end), stopping);
            if (stopping())
                break;
            const std::string what = faults->inject_one();
            faults_injected.fetch_add(1);
            if (opt.verbose)
                say(format("%6.1fs fault: %s", seconds(clock::now() - start), what.c_str()));
        }
        faults->heal();
    } catch (const std::exception& e) {
        environment_error = e.what();
        say("ERROR: " + environment_error);
    }
    if (interrupted.load())
        say("interrupted: finishing early");
    if (!mon->failure().empty())
        print_diagnostics(pool);

    // The pool must serve again now that the faults have stopped.
    const auto healed_at = clock::now();
    const auto ok_at_heal = book.snapshot().ok;
    sleep_until(healed_at + recovery_limit, [&] {
        return book.snapshot().ok >= ok_at_heal + recovery_successes || !mon->failure().empty();
    });
    const bool recovered = book.snapshot().ok >= ok_at_heal + recovery_successes ||
                           !mon->failure().empty(); // cut short: judged by that failure instead
    const double recovery_s = seconds(clock::now() - healed_at);

    // Shut down while the callers are still issuing operations: everything must complete.
    callers->request_stop();
    const auto shutdown_started = clock::now();
    auto shutdown_done = std::async(std::launch::async, [&pool] { pool.shutdown(drain); });
    if (shutdown_done.wait_for(shutdown_limit) != std::future_status::ready)
        abandon("pool.shutdown did not return within " + std::to_string(shutdown_limit.count()) +
                    " s",
                pool, server);
    const double shutdown_s = seconds(clock::now() - shutdown_started);
    if (!callers->join(callers_stop_limit))
        abandon("a caller thread did not stop within " +
                    std::to_string(callers_stop_limit.count()) + " s",
                pool, server);
    sleep_until(clock::now() + completion_grace, [&] { return book.snapshot().outstanding == 0; });
    std::this_thread::sleep_for(200ms); // a second completion would show up here
    mon->stop();

    const auto totals = book.snapshot();
    const auto growth = mon->figures();
    const std::string monitor_failure = mon->failure();
    const auto pool_figures = pool.stats();
    const auto fault_counts = faults->counts();
    const auto stuck = book.oldest(5);
    const unsigned caller_errors = callers->caller_errors();

    // Teardown: every pool handle, then the fixtures; the process must be back to its baseline.
    callers.reset();
    faults.reset();
    mon.reset();
    pool = tether::pool{};
    proxy.reset();
    server.kill();
    soak::process_sample after = soak::sample_process();
    sleep_until(clock::now() + teardown_limit, [&] {
        after = soak::sample_process();
        return after.fds <= baseline.fds && after.threads <= baseline.threads;
    });

    say("---- summary");
    print_summary(totals, fault_counts, pool_figures, notifies.load());
    const std::uint64_t lost = totals.issued - totals.completed;
    const auto wrong = totals.failures.find(soak::wrong_reply);
    const std::uint64_t wrong_replies = wrong == totals.failures.end() ? 0 : wrong->second;
    say(format(
        "requests %llu, ok %llu, failed %llu, lost %llu, double completions %llu, wrong "
        "replies %llu",
        static_cast<unsigned long long>(totals.issued), static_cast<unsigned long long>(totals.ok),
        static_cast<unsigned long long>(totals.failed), static_cast<unsigned long long>(lost),
        static_cast<unsigned long long>(totals.double_completions),
        static_cast<unsigned long long>(wrong_replies)));
    for (const auto& op : stuck)
        say(format("  never completed: #%llu %s, open %.1f s",
                   static_cast<unsigned long long>(op.id),
                   std::string(soak::name_of(op.kind)).c_str(), seconds(op.age)));
    for (const auto& a : book.anomalies())
        say("  anomaly: " + a);
    say(format("shutdown under load took %.2f s; serving again %.2f s after the last fault",
               shutdown_s, recovery_s));

    std::vector<std::string> failed;
    if (!environment_error.empty())
        failed.push_back("environment: " + environment_error);
    if (lost != 0)
        failed.push_back(std::to_string(lost) + " lost");
    if (totals.double_completions != 0)
        failed.push_back(std::to_string(totals.double_completions) + " double completions");
    if (wrong_replies != 0)
        failed.push_back(std::to_string(wrong_replies) + " wrong replies");
    if (!monitor_failure.empty())
        failed.push_back(monitor_failure);
    if (!recovered)
        failed.push_back("the pool did not serve again within " +
                         std::to_string(recovery_limit.count()) + " s");
    if (caller_errors != 0)
        failed.push_back("exceptions in callers");
    if (growth.rss_at_warmup_kib >= 0) {
        const long allowed =
            std::max(rss_growth_floor_kib, growth.rss_at_warmup_kib * rss_growth_percent / 100);
        const long grew = growth.rss_max_after_kib - growth.rss_at_warmup_kib;
        say(format("RSS: %.1f MiB at the end of the warm-up, peak after it %.1f MiB: growth %.1f "
                   "MiB (bound %.1f MiB)",
                   mib(growth.rss_at_warmup_kib), mib(growth.rss_max_after_kib), mib(grew),
                   mib(allowed)));
        if (grew > allowed)
            failed.push_back(
                format("RSS grew by %.1f MiB (bound %.1f MiB)", mib(grew), mib(allowed)));
    } else {
        say("RSS: the run ended inside the warm-up; growth not judged");
    }
    say(format("descriptors: baseline %d, peak %d, peak outside proxy pairs %d (ceiling %d), after "
               "teardown %d",
               baseline.fds, growth.fds_max, growth.own_fds_max, limits.fd_ceiling, after.fds));
    say(format("threads: baseline %d, peak %d (ceiling %d), after teardown %d", baseline.threads,
               growth.threads_max, limits.thread_ceiling, after.threads));
    if (after.fds > baseline.fds)
        failed.push_back(
            format("%d descriptors still open after teardown", after.fds - baseline.fds));
    if (after.threads > baseline.threads)
        failed.push_back(
            format("%d threads still running after teardown", after.threads - baseline.threads));
    if (totals.ok == 0)
        failed.push_back("no operation succeeded");

    if (failed.empty()) {
        say(format("VERDICT: PASS (seed %llu)", static_cast<unsigned long long>(opt.seed)));
        return exit_pass;
    }
    std::string why;
    for (const auto& f : failed)
        why += (why.empty() ? "" : "; ") + f;
    say(format("VERDICT: FAIL (seed %llu): %s", static_cast<unsigned long long>(opt.seed),
               why.c_str()));
    return environment_error.empty() ? exit_fail : exit_environment;
}

} // namespace

int main(int argc, char** argv)
{
    const soak::options opt = soak::parse_options(argc, argv);
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "tether_soak: " << e.what() << '\n';
        return exit_environment;
    }
}
