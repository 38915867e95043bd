#include "idle_phase.hpp"

#include "health_observer.hpp"
#include "pool_setup.hpp"
#include "process_metrics.hpp"

#include <iostream>
#include <memory>
#include <thread>

namespace tether_scale {
namespace {

using clock = std::chrono::steady_clock;
using seconds_d = std::chrono::duration<double>;

void check(idle_figures& f, bool ok, std::string what)
{
    if (!ok)
        f.failures.push_back(std::move(what));
}

void check_health(idle_figures& f, const health_window& h, const char* when)
{
    check(f, h.lost == 0,
          std::to_string(h.lost) + " connections lost " + when + " (" + std::to_string(h.dead) +
              " declared dead: no pong within ping_timeout)");
}

} // namespace

idle_figures run_idle_phase(const options& o, tether_bench::server_process& server,
                            const pool_tls& tls, const server_probe& probe)
{
    idle_figures f;
    f.links = o.links;
    f.rss_before = rss_bytes();
    f.heap_before = heap_in_use();
    f.server_rss_before = rss_bytes(server.pid());

    std::cerr << "phase 1: opening " << o.links << " links\n";
    auto observer = std::make_shared<health_observer>();
    const auto open_start = clock::now();
    tether::pool pool = build_pool(o, server.port(), tls, o.links, observer);
    const tether::pool_stats s_start{};
    const auto opened = wait_all_open(pool, o.links, "idle");
    const auto s_open = pool.stats();
    f.during_open = make_health_window(s_start, s_open, observer->take(),
                                       probe.between(open_start, clock::now()));
    if (!opened) {
        f.total_end = s_open.total;
        f.ready_end = s_open.idle + s_open.leased;
        f.connect_failures = s_open.connect_failures;
        f.connections_lost = s_open.connections_lost;
        f.dead_links = s_open.dead_links_detected;
        give_up_opening(pool, server, f.failures);
        return f;
    }
    f.opened = true;
    f.open_seconds = opened->count();
    f.rss_open = rss_bytes();
    f.heap_open = heap_in_use();
    f.server_rss_open = rss_bytes(server.pid());

    // The hold: no requests, so everything the pool's threads do is health checking. The
    // bench's own threads (this one: stats polling and sleeping; the server probe) are taken out.
    std::cerr << "phase 1: " << o.links << " links open in " << f.open_seconds << " s; holding for "
              << o.hold.count() << " s\n";
    const auto s0 = pool.stats();
    (void)observer->take();
    const auto usage0 = process_usage();
    const auto main0 = thread_usage();
    const auto probe0 = probe.cpu();
    const auto server_cpu0 = other_process_cpu(server.pid());
    const auto machine0 = machine_cpu_now();
    const auto t0 = clock::now();
    const auto end = t0 + o.hold;
    auto next_report = t0 + std::chrono::seconds(10);
    while (clock::now() < end) {
        std::this_thread::sleep_until(std::min(end, clock::now() + std::chrono::seconds(1)));
        if (!server.running())
            break;
        if (clock::now() >= next_report) {
            next_report += std::chrono::seconds(10);
            const auto s = pool.stats();
            std::cerr << "  [idle] " << seconds_d(clock::now() - t0).count()
                      << " s: " << s.idle + s.leased << " ready, "
                      << s.connections_lost - s0.connections_lost << " lost, "
                      << s.pings_sent - s0.pings_sent << " pings\n";
        }
    }
    const auto t1 = clock::now();
    const auto pool_usage = (process_usage() - usage0) - (thread_usage() - main0);
    const auto probe_cpu = probe.cpu() - probe0;
    const auto server_cpu1 = other_process_cpu(server.pid());
    const auto machine = machine_load_between(machine0, machine_cpu_now());
    const auto s1 = pool.stats();
    f.during_hold = make_health_window(s0, s1, observer->take(), probe.between(t0, t1));
    f.rss_end = rss_bytes();
    f.server_fds_end = open_fds(server.pid());

    f.hold_seconds = seconds_d(t1 - t0).count();
    f.client_cpu_seconds = seconds_d(pool_usage.cpu - probe_cpu).count();
    f.context_switches = pool_usage.context_switches;
    f.server_cpu_seconds = seconds_d(server_cpu1 - server_cpu0).count();
    f.machine_busy_percent = machine.busy_percent;
    f.machine_steal_percent = machine.steal_percent;
    f.pings = s1.pings_sent - s0.pings_sent;
    f.pongs = s1.pongs_received - s0.pongs_received;
    f.total_end = s1.total;
    f.ready_end = s1.idle + s1.leased;
    f.connecting_end = s1.connecting;
    f.connects = s1.connects;
    f.connect_failures = s1.connect_failures;
    f.connections_lost = s1.connections_lost;
    f.dead_links = s1.dead_links_detected;

    check(f, server.running(), "the server " + server.exit_status());
    check(f, s1.total == o.links && s1.idle == o.links,
          "links at the end: " + std::to_string(s1.total) + " open, " + std::to_string(s1.idle) +
              " idle, expected " + std::to_string(o.links));
    check_health(f, f.during_open, "while opening");
    check_health(f, f.during_hold, "during the hold");
    check(f, s1.connects == o.links,
          std::to_string(s1.connects) + " connects for " + std::to_string(o.links) +
              " links (reconnects happened)");
    // Every link is probed once per ping_interval it stays silent (jitter shortens that by up
    // to 10 %; round trips and timer latency lengthen it). A much longer period means the
    // health check is not running at the configured rate, and its CPU figure is no answer.
    const double expected_period = seconds_d(o.ping_interval).count();
    check(f, f.pings > 0 && f.mean_ping_period_seconds() < 1.33 * expected_period,
          "links were pinged every " + std::to_string(f.mean_ping_period_seconds()) +
              " s on average, not every " + std::to_string(expected_period) + " s");

    const auto d0 = clock::now();
    pool.shutdown(std::chrono::seconds(1));
    f.shutdown_seconds = seconds_d(clock::now() - d0).count();
    return f;
}

} // namespace tether_scale
