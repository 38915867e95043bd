#pragma once

#include <tether/config.hpp>
#include <tether/histogram.hpp>

#include <array>
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

/// How a request ended, for pool_stats::request_duration.
enum class request_outcome {
    ok,              ///< a response with a body
    server_error,    ///< a response with an error object
    timeout,         ///< no response within request_timeout
    connection_lost, ///< the link broke with the request in flight
    other,           ///< cancelled, or failed by shutdown (pool_closed)
};
inline constexpr std::size_t request_outcome_count = 5;
/// "ok", "server_error", "timeout", "connection_lost", "other".
const char* to_string(request_outcome o) noexcept;

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
    // distributions, in seconds (histogram.hpp), since the pool was built
    histogram acquire_wait; ///< acquire call to lease, acquires that got one (an idle link at
                            ///< hand counts as 0: it takes well under a microsecond)
    histogram connect_time; ///< a new link's resolve + TCP + TLS + proving, proven links only
    histogram lease_use;    ///< acquire to the link's return (requests of a released lease
                            ///< included)
    histogram ping_rtt;     ///< ping to its pong, the proving pings included
    /// Request sent to its completion, by request_outcome (index: the enumerator's value).
    std::array<histogram, request_outcome_count> request_duration;
    const histogram& requests_by(request_outcome o) const noexcept
    {
        return request_duration[static_cast<std::size_t>(o)];
    }
};

nlohmann::json to_json(const pool_stats& stats);
std::ostream& operator<<(std::ostream& os, const pool_stats& stats);

} // namespace tether
