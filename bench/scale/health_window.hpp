#pragma once

// Health of the links over one stretch of a phase (opening, holding, under load), seen from
// the pool (its counters and observer) and from the independent server probe.

#include "health_observer.hpp"
#include "server_probe.hpp"

#include <tether/stats.hpp>

#include <cstdint>

namespace tether_scale {

struct health_window {
    std::uint64_t lost = 0; ///< connections_lost
    std::uint64_t dead = 0; ///< dead_links_detected (ping unanswered within ping_timeout)
    std::uint64_t pongs = 0;
    std::uint64_t slow_pongs = 0; ///< pool pongs with a round trip >= 500 ms
    double max_pong_ms = 0;       ///< slowest pool pong (as the pool measured it)
    std::uint64_t probe_samples = 0;
    std::uint64_t probe_slow = 0; ///< probe round trips >= 500 ms
    std::uint64_t probe_failures = 0;
    double probe_max_ms = 0; ///< slowest probe round trip (server + kernel, no pool)
};

inline health_window make_health_window(const tether::pool_stats& before,
                                        const tether::pool_stats& after,
                                        const health_observer::window& pool_view,
                                        const server_probe::window& probe_view)
{
    health_window h;
    h.lost = after.connections_lost - before.connections_lost;
    h.dead = after.dead_links_detected - before.dead_links_detected;
    h.pongs = pool_view.pongs;
    h.slow_pongs = pool_view.slow_pongs;
    h.max_pong_ms = static_cast<double>(pool_view.max_rtt.count()) / 1000.0;
    h.probe_samples = probe_view.samples;
    h.probe_slow = probe_view.slow;
    h.probe_failures = probe_view.failures;
    h.probe_max_ms = static_cast<double>(probe_view.max_rtt.count()) / 1000.0;
    return h;
}

} // namespace tether_scale
