// What a link tells the pool's flight recorder and log about itself: proven, goaway, closed
// (found dead, lost, or closed on purpose). Connect failures are the pool's to tell (it knows
// the backoff they cause).

#include "io/link.hpp"

#include <tether/error.hpp>

#include <string>

namespace tether::detail {
using boost::system::error_code;

namespace {

std::string ms_text(std::chrono::steady_clock::duration d)
{
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

std::string rtt_text(std::chrono::steady_clock::duration d)
{
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
}

} // namespace

void link::record_proven()
{
    const auto rtt = fsm_.last_rtt().value_or(clock::duration::zero());
    sansio::link_event_note proven(sansio::link_event_kind::proven, id_);
    proven.value = std::chrono::duration_cast<std::chrono::microseconds>(rtt);
    ctx_.events.record(endpoint_index_, proven, now());
    ctx_.log.write(log_kind::link_connected, endpoint_index_, [&] {
        return "link " + std::to_string(id_) + " to " + to_string(peer()) +
               " connected (proving ping RTT " + rtt_text(rtt) + ")";
    });
}

void link::record_goaway(const std::string& reason)
{
    ctx_.events.record(endpoint_index_,
                       sansio::link_event_note(sansio::link_event_kind::goaway, id_, reason),
                       now());
    ctx_.log.write(log_kind::goaway, endpoint_index_, [&] {
        std::string text = "goaway from " + to_string(peer()) + " on link " + std::to_string(id_);
        if (!reason.empty())
            text.append(": ").append(reason);
        return text;
    });
}

// A proven link closed: found dead by probing (warn), lost (info), or closed on purpose (debug).
void link::record_close(const error_code& reason)
{
    const std::string link_name = "link " + std::to_string(id_) + " to " + to_string(peer());
    if (fsm_.died_silently()) {
        const std::string why = "nothing received within ping_timeout (" +
                                ms_text(config_.ping_timeout) + ") after a ping";
        sansio::link_event_note dead(sansio::link_event_kind::ping_timeout, id_, why);
        dead.failure = true;
        ctx_.events.record(endpoint_index_, dead, now());
        ctx_.log.write(log_kind::dead_link, endpoint_index_,
                       [&] { return link_name + " found dead: " + why; });
        return;
    }
    const bool on_purpose = reason == errc::connection_draining || reason == errc::pool_closed;
    std::string why;
    if (reason == errc::pool_closed)
        why = "pool shut down";
    else if (reason == errc::connection_draining)
        why = "drained (retired, or after goaway)";
    else if (!connect_detail_.empty())
        why = connect_detail_;
    else
        why = reason.message();
    sansio::link_event_note closed(sansio::link_event_kind::closed, id_, why);
    closed.failure = !on_purpose;
    ctx_.events.record(endpoint_index_, closed, now());
    ctx_.log.write(on_purpose ? log_kind::link_closed : log_kind::link_lost, endpoint_index_,
                   [&] { return link_name + (on_purpose ? " closed: " : " lost: ") + why; });
}

} // namespace tether::detail
