#pragma once

#include "io/histogram_recorder.hpp"

#include <tether/stats.hpp>

#include <array>
#include <atomic>
#include <cstdint>

namespace tether::detail {

/// Counters the links update from their strands, without the pool lock (relaxed atomics: each
/// is a monotonic figure read only by stats()).
struct pool_counters {
    std::atomic<std::uint64_t> connects{0}, pings_sent{0}, pongs_received{0},
        dead_links_detected{0}, requests{0}, request_timeouts{0}, protocol_errors{0},
        late_responses{0}, unknown_messages{0}, notifies_received{0}, notifies_dropped{0},
        goaways{0}, server_errors{0}, connections_lost{0};
    // Distributions recorded by links (lock-free, no allocation: on the request path). The
    // pool's own, acquire_wait and lease_use, are plain histograms under the pool lock.
    histogram_recorder connect_time, ping_rtt;
    std::array<histogram_recorder, request_outcome_count> request_duration;

    void record_request(request_outcome o, std::chrono::nanoseconds took) noexcept
    {
        request_duration[static_cast<std::size_t>(o)].record(took);
    }
};

} // namespace tether::detail
