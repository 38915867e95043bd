#pragma once

// A floor for the cost of health checking on this machine: the same work as phase 1 (N links,
// each pinged once a second, every pong read) done by the simplest possible client — one
// thread, non-blocking sockets, level-triggered epoll, a 10 ms timerfd tick pinging 1/100 of
// the links each time. No pool, no strands, no per-link timers. Its CPU per ping is what the
// kernel's loopback TCP costs plus a minimal event loop; the pool's figure is judged against it.
// The CPU spent inside send() alone is timed apart: on loopback a sender's send() also runs the
// receiving side's TCP input (and the peer's ACK back), so that part is the kernel's price of
// a ping before any event loop, pool or pong is involved.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace tether_scale {

struct baseline_figures {
    std::size_t links = 0;
    double seconds = 0;
    double cpu_seconds = 0;      ///< of the pinging thread only
    double send_cpu_seconds = 0; ///< of that, inside the send() calls of the pings
    std::uint64_t pings = 0, pongs = 0;
    std::string error; ///< empty: it ran

    double us_per_ping() const
    {
        return pings > 0 ? 1e6 * cpu_seconds / static_cast<double>(pings) : 0;
    }
    double send_us_per_ping() const
    {
        return pings > 0 ? 1e6 * send_cpu_seconds / static_cast<double>(pings) : 0;
    }
    double percent_of_core() const { return seconds > 0 ? 100.0 * cpu_seconds / seconds : 0; }
};

/// Two runs as one (the pings and CPU of both): a floor that drifts with the machine over a
/// run is taken before and after what it is compared with. An errored run is left out.
baseline_figures pooled(const baseline_figures& a, const std::optional<baseline_figures>& b);

baseline_figures run_raw_baseline(std::uint16_t port, std::size_t links,
                                  std::chrono::seconds duration);

} // namespace tether_scale
