#pragma once

// Phase 1: many idle links, pinged every second, held open. Measures the time to open them,
// client RSS per link, and the client CPU spent on health checks (with no requests, all the
// pool's work is health checking).

#include "health_window.hpp"
#include "options.hpp"
#include "pool_setup.hpp"
#include "server_probe.hpp"
#include "server_process.hpp" // bench/common

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tether_scale {

struct idle_figures {
    std::size_t links = 0;
    bool opened = false;
    double open_seconds = 0;
    // client memory (bytes)
    std::int64_t rss_before = 0, rss_open = 0, rss_end = 0;
    std::int64_t heap_before = 0, heap_open = 0;
    // the hold
    double hold_seconds = 0;
    double client_cpu_seconds = 0;     ///< whole process minus the bench's own threads
    std::int64_t context_switches = 0; ///< of the pool's threads (thread sleeps and wake-ups)
    std::uint64_t pings = 0, pongs = 0;
    double server_cpu_seconds = 0;
    double machine_busy_percent = 0; ///< all CPUs, every process, during the hold
    double machine_steal_percent = 0;
    std::int64_t server_rss_before = 0, server_rss_open = 0;
    long server_fds_end = -1;
    health_window during_open, during_hold;
    // pool state at the end of the hold
    std::size_t total_end = 0, ready_end = 0, connecting_end = 0;
    std::uint64_t connects = 0, connect_failures = 0, connections_lost = 0, dead_links = 0;
    double shutdown_seconds = 0;
    std::vector<std::string> failures; ///< empty: every check passed

    double rss_per_link() const { return per_link(rss_open - rss_before); }
    double heap_per_link() const { return per_link(heap_open - heap_before); }
    double rss_growth_per_link_during_hold() const { return per_link(rss_end - rss_open); }
    double server_rss_per_link() const { return per_link(server_rss_open - server_rss_before); }
    double cpu_percent_of_core() const
    {
        return hold_seconds > 0 ? 100.0 * client_cpu_seconds / hold_seconds : 0;
    }
    double server_cpu_percent_of_core() const
    {
        return hold_seconds > 0 ? 100.0 * server_cpu_seconds / hold_seconds : 0;
    }
    double us_per_ping() const
    {
        return pings > 0 ? 1e6 * client_cpu_seconds / static_cast<double>(pings) : 0;
    }
    double server_us_per_ping() const
    {
        return pings > 0 ? 1e6 * server_cpu_seconds / static_cast<double>(pings) : 0;
    }
    double mean_ping_period_seconds() const
    {
        return pings > 0 ? static_cast<double>(links) * hold_seconds / static_cast<double>(pings)
                         : 0;
    }
    double switches_per_ping() const
    {
        return pings > 0 ? static_cast<double>(context_switches) / static_cast<double>(pings) : 0;
    }
    double pings_per_link_second() const
    {
        return links > 0 && hold_seconds > 0
                   ? static_cast<double>(pings) / (static_cast<double>(links) * hold_seconds)
                   : 0;
    }

private:
    double per_link(std::int64_t bytes) const
    {
        return links > 0 ? static_cast<double>(bytes) / static_cast<double>(links) : 0;
    }
};

idle_figures run_idle_phase(const options& o, tether_bench::server_process& server,
                            const pool_tls& tls, const server_probe& probe);

} // namespace tether_scale
