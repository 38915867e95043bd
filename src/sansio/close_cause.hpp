#pragma once

// Why a proven link closed, as the pool counts it per backend (metrics:
// tether_endpoint_disconnections_total{reason}), and which of those causes are losses that
// the backend's reconnect must not rush after.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>

namespace tether::sansio {

enum class close_cause : std::uint8_t {
    connection_lost, ///< the socket broke or the peer closed it
    dead,            ///< a ping went unanswered within ping_timeout
    goaway,          ///< the server sent goaway; the link closed once quiet
    retired,         ///< the pool closed it: max_lifetime, idle_timeout, discard(), TLS rotation
    protocol_error,  ///< the peer broke the protocol (bad frame or message, frame too large)
    pool_closed,     ///< shutdown
};
inline constexpr std::size_t close_cause_count = 6;

/// "connection_lost", "dead", "goaway", "retired", "protocol_error", "pool_closed".
const char* to_string(close_cause c) noexcept;

/// The cause of a close from the link's close reason (its first failure or drain reason),
/// whether its ping went unanswered, and whether it received goaway.
close_cause cause_of_close(const boost::system::error_code& reason, bool died_silently,
                           bool got_goaway) noexcept;

/// The link was lost rather than closed on purpose: its backend's next connect waits a random
/// part of the initial backoff delay.
constexpr bool is_loss(close_cause c) noexcept
{
    return c == close_cause::connection_lost || c == close_cause::dead ||
           c == close_cause::protocol_error;
}

} // namespace tether::sansio
