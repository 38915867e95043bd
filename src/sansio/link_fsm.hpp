#pragma once

// Lifecycle of one link, sans-io: connecting -> proving [-> initializing] -> ready ->
// draining -> closed.
// The driver (io/link) feeds it events with the current time and performs the action it
// returns; it never touches a socket or a timer itself, so it is tested with a fake clock.
//
// Health: a link that has received nothing for `ping_interval` (shortened by up to 10 % of
// jitter, never lengthened) is sent a ping; if nothing at all arrives within `ping_timeout`
// after that, it is dead. Any received byte is proof of life.

#include "sansio/backoff.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace tether::sansio {

using link_clock = std::chrono::steady_clock;
using time_point = link_clock::time_point;
using duration = link_clock::duration;

struct link_timing {
    duration connect_timeout = std::chrono::seconds(5); ///< resolve + connect + proving exchange
    duration ping_interval = std::chrono::seconds(10);
    duration ping_timeout = std::chrono::seconds(5);
    double ping_jitter = 0.1; ///< fraction by which a ping interval may be shortened
    bool initialize = false;  ///< an init request follows the proving pong (init_request)
};

enum class link_state {
    connecting,   ///< resolving / TCP connecting
    proving,      ///< connected; waiting for the pong of the proving ping
    initializing, ///< proven; waiting for the response to the init request
    ready,        ///< usable: idle in the pool or leased
    draining,     ///< takes no new requests (goaway, shutdown, retirement); closes when quiet
    closed,       ///< finished; reason() says why
};

enum class link_action {
    none,
    send_ping, ///< send a ping with id ping_id()
    send_init, ///< proven: send the init request (still inside the connect deadline)
    ready,     ///< the link is proven (and initialized): hand it to the pool
    close,     ///< close the socket and fail what is outstanding with reason()
};

class link_fsm {
public:
    link_fsm(link_timing timing, time_point now, std::uint64_t seed) noexcept;

    /// TCP connected: send the proving ping.
    link_action on_connected(time_point now) noexcept;
    /// Bytes arrived (any frame, or part of one): proof of life.
    void on_received(time_point now) noexcept;
    /// A pong arrived. Returns `ready` when it proves a new link. `matched` tells the caller
    /// whether it answered our outstanding ping (else it is a stray pong, counted as late).
    link_action on_pong(std::uint64_t id, time_point now, bool& matched) noexcept;
    /// The init request was answered: `ec` empty, ready; else the connect failed with `ec`.
    link_action on_init_done(time_point now, boost::system::error_code ec) noexcept;
    /// The deadline() passed (or the timer fired early; then nothing happens).
    link_action on_timer(time_point now) noexcept;
    /// The server sent goaway, or the pool retires the link / shuts down: take no new requests
    /// and close once nothing is outstanding. `reason` is what refused requests are told.
    link_action on_drain(std::size_t outstanding, boost::system::error_code reason) noexcept;
    /// A request completed; closes a draining link that became quiet.
    link_action on_outstanding(std::size_t outstanding) noexcept;
    /// A socket error, protocol error, or a forced close: closed with `reason` (first wins).
    link_action on_failure(boost::system::error_code reason) noexcept;

    /// True when on_timer(now) would declare the link dead (a ping unanswered and nothing
    /// received for ping_timeout): the driver may look for proof of life first.
    bool ping_overdue(time_point now) const noexcept;
    /// When on_timer must run next; time_point::max() when nothing is scheduled.
    time_point deadline() const noexcept;

    link_state state() const noexcept { return state_; }
    /// Still opening (connecting, proving or initializing): the connect deadline applies.
    bool opening() const noexcept
    {
        return state_ == link_state::connecting || state_ == link_state::proving ||
               state_ == link_state::initializing;
    }
    bool accepts_requests() const noexcept { return state_ == link_state::ready; }
    /// Why the link closed (closed state), or why it refuses requests (draining).
    boost::system::error_code reason() const noexcept { return reason_; }
    /// The id of the ping to send after a send_ping action.
    std::uint64_t ping_id() const noexcept { return ping_id_; }
    /// Round-trip time of the last matched pong.
    std::optional<duration> last_rtt() const noexcept { return last_rtt_; }
    /// True when the link closed because a probe went unanswered.
    bool died_silently() const noexcept { return died_silently_; }
    time_point last_received() const noexcept { return last_rx_; }

private:
    link_action send_ping(time_point now) noexcept;
    link_action close(boost::system::error_code reason) noexcept;
    void schedule_next_ping(time_point from) noexcept;
    duration early_ping_slack() const noexcept;

    link_timing timing_;
    jitter_rng rng_;
    link_state state_ = link_state::connecting;
    time_point connect_deadline_;
    time_point last_rx_;
    time_point next_ping_at_ = time_point::max();
    std::optional<time_point> ping_sent_at_; ///< set while a ping is outstanding
    std::uint64_t ping_id_ = 0;
    std::optional<duration> last_rtt_;
    boost::system::error_code reason_;
    bool died_silently_ = false;
};

} // namespace tether::sansio
