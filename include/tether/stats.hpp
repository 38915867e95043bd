#pragma once

#include <tether/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace tether {

/// Figures of one endpoint.
struct endpoint_stats {
    tether::endpoint endpoint;
    std::size_t links = 0;      ///< open links (connecting ones included)
    std::uint64_t connects = 0; ///< proven links opened
    std::uint64_t connect_failures = 0;
    unsigned consecutive_failures = 0; ///< drives the backoff; 0 after a proven link
    bool backing_off = false;          ///< no connect is allowed right now
    std::string last_error;            ///< of the last failed connect; empty if none
};

/// A snapshot of a pool. Gauges are exact at the moment of the call; counters only grow.
struct pool_stats {
    // gauges
    std::size_t total = 0;  ///< links open or connecting
    std::size_t idle = 0;   ///< ready links waiting in the pool
    std::size_t leased = 0; ///< links held by leases (or finishing requests of a released lease)
    std::size_t connecting = 0; ///< links being resolved, connected or proven
    std::size_t waiting = 0;    ///< callers waiting in acquire
    // counters
    std::uint64_t acquires = 0; ///< leases handed out
    std::uint64_t acquire_timeouts = 0;
    std::uint64_t connects = 0; ///< proven links opened
    std::uint64_t connect_failures = 0;
    std::uint64_t pings_sent = 0;
    std::uint64_t pongs_received = 0;
    std::uint64_t dead_links_detected = 0; ///< links closed because a ping went unanswered
    std::uint64_t requests = 0;            ///< requests sent
    std::uint64_t request_timeouts = 0;
    std::uint64_t protocol_errors = 0;
    std::uint64_t late_responses = 0;   ///< responses/pongs matching nothing outstanding (dropped)
    std::uint64_t unknown_messages = 0; ///< unknown or wrong-direction types (ignored)
    std::uint64_t notifies_received = 0;
    std::uint64_t notifies_dropped = 0; ///< notify queue full
    std::uint64_t goaways = 0;
    std::uint64_t server_errors = 0;    ///< responses carrying an error object
    std::uint64_t connections_lost = 0; ///< links that broke while open (any cause)
    // lease hold times (acquire to the link's return, in-flight requests of a released lease
    // included)
    std::uint64_t leases_returned = 0; ///< leases whose hold time is in the figures below
    std::chrono::microseconds lease_hold_mean{0};
    std::chrono::microseconds lease_hold_max{0};
    std::chrono::milliseconds longest_current_hold{0}; ///< of the leases held right now
    std::uint64_t leases_held_too_long = 0; ///< reported to the observer (lease_warn_threshold)
    std::vector<endpoint_stats> endpoints;
};

nlohmann::json to_json(const pool_stats& stats);
std::ostream& operator<<(std::ostream& os, const pool_stats& stats);

} // namespace tether
