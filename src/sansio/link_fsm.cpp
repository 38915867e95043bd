#include "sansio/link_fsm.hpp"

#include <tether/error.hpp>

#include <algorithm>

namespace tether::sansio {

link_fsm::link_fsm(link_timing timing, time_point now, std::uint64_t seed) noexcept
    : timing_(timing), rng_(seed), connect_deadline_(now + timing.connect_timeout), last_rx_(now)
{
}

void link_fsm::schedule_next_ping(time_point from) noexcept
{
    // Jitter only shortens the interval, so detection stays within interval + timeout.
    const double factor = 1.0 - timing_.ping_jitter * rng_.unit();
    const auto interval =
        std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(timing_.ping_interval.count()) * factor));
    next_ping_at_ = from + interval;
}

link_action link_fsm::send_ping(time_point now) noexcept
{
    ++ping_id_;
    ping_sent_at_ = now;
    return link_action::send_ping;
}

link_action link_fsm::close(boost::system::error_code reason) noexcept
{
    if (state_ == link_state::closed)
        return link_action::none;
    state_ = link_state::closed;
    reason_ = reason ? reason : make_error_code(errc::connection_lost);
    return link_action::close;
}

link_action link_fsm::on_connected(time_point now) noexcept
{
    if (state_ != link_state::connecting)
        return link_action::none;
    state_ = link_state::proving;
    last_rx_ = now;
    return send_ping(now);
}

void link_fsm::on_received(time_point now) noexcept
{
    last_rx_ = std::max(last_rx_, now);
    if (state_ == link_state::ready || state_ == link_state::draining)
        schedule_next_ping(last_rx_);
}

link_action link_fsm::on_pong(std::uint64_t id, time_point now, bool& matched) noexcept
{
    matched = false;
    if (state_ == link_state::closed)
        return link_action::none;
    on_received(now);
    matched = ping_sent_at_.has_value() && id == ping_id_;
    if (!matched)
        return link_action::none;
    last_rtt_ = now - *ping_sent_at_;
    ping_sent_at_.reset();
    if (state_ == link_state::proving) {
        if (timing_.initialize) {
            state_ = link_state::initializing;
            return link_action::send_init;
        }
        state_ = link_state::ready;
        schedule_next_ping(now);
        return link_action::ready;
    }
    return link_action::none;
}

link_action link_fsm::on_init_done(time_point now, boost::system::error_code ec) noexcept
{
    if (state_ != link_state::initializing)
        return link_action::none;
    if (ec)
        return close(ec);
    state_ = link_state::ready;
    schedule_next_ping(now);
    return link_action::ready;
}

duration link_fsm::early_ping_slack() const noexcept
{
    return std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
        static_cast<double>(timing_.ping_interval.count()) * timing_.ping_jitter));
}

bool link_fsm::ping_overdue(time_point now) const noexcept
{
    return (state_ == link_state::ready || state_ == link_state::draining) && ping_sent_at_ &&
           now >= std::max(*ping_sent_at_, last_rx_) + timing_.ping_timeout;
}

link_action link_fsm::on_timer(time_point now) noexcept
{
    switch (state_) {
    case link_state::connecting:
    case link_state::proving:
    case link_state::initializing:
        if (now >= connect_deadline_)
            return close(make_error_code(errc::connect_failed));
        return link_action::none;
    case link_state::ready:
    case link_state::draining:
        if (ping_sent_at_) {
            // Dead when nothing at all arrived for ping_timeout after the probe.
            if (ping_overdue(now)) {
                died_silently_ = true;
                return close(make_error_code(errc::connection_lost));
            }
            return link_action::none;
        }
        // Within the jitter band of its due time the ping goes now: the timer usually fires at
        // the previous ping's pong deadline, just before the next ping is due, and a second
        // wake-up a moment later would double the timer work of every idle link.
        if (now + early_ping_slack() >= next_ping_at_)
            return send_ping(now);
        return link_action::none;
    case link_state::closed:
        return link_action::none;
    }
    return link_action::none;
}

link_action link_fsm::on_drain(std::size_t outstanding, boost::system::error_code reason) noexcept
{
    switch (state_) {
    case link_state::connecting:
    case link_state::proving:
    case link_state::initializing:
        // Not proven yet: nothing is owed, give up now.
        return close(reason);
    case link_state::ready:
        state_ = link_state::draining;
        reason_ = reason;
        return outstanding == 0 ? close(reason) : link_action::none;
    case link_state::draining:
        return outstanding == 0 ? close(reason_) : link_action::none;
    case link_state::closed:
        return link_action::none;
    }
    return link_action::none;
}

link_action link_fsm::on_outstanding(std::size_t outstanding) noexcept
{
    if (state_ == link_state::draining && outstanding == 0)
        return close(reason_);
    return link_action::none;
}

link_action link_fsm::on_failure(boost::system::error_code reason) noexcept
{
    if (state_ == link_state::closed)
        return link_action::none;
    return close(reason);
}

time_point link_fsm::deadline() const noexcept
{
    switch (state_) {
    case link_state::connecting:
    case link_state::proving:
    case link_state::initializing:
        return connect_deadline_;
    case link_state::ready:
    case link_state::draining:
        if (ping_sent_at_)
            return std::max(*ping_sent_at_, last_rx_) + timing_.ping_timeout;
        return next_ping_at_;
    case link_state::closed:
        return time_point::max();
    }
    return time_point::max();
}

} // namespace tether::sansio
