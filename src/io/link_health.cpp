// A link's deadlines (connect, requests) on its timer, and the health checks the pool's tick
// asks for: pings when silent, death when a ping goes unanswered.

#include "io/link.hpp"

#include <tether/error.hpp>

namespace tether::detail {
namespace asio = boost::asio;
using boost::system::error_code;

// ---- health and deadlines ---------------------------------------------------------------------

void link::rearm_timer()
{
    // The timer serves the connect deadline and request deadlines; a proven link's pings are
    // the health tick's.
    auto due = fsm_.opening() ? fsm_.deadline() : clock::time_point::max();
    if (auto d = requests_.next_deadline(); d && *d < due)
        due = *d;
    if (due == clock::time_point::max() || due >= timer_armed_at_)
        return;
    timer_armed_at_ = due;
    timer_->arm(due, [self = shared_from_this()] { self->on_timer(); }); // replaces a later wait
}

void link::on_timer()
{
    if (watch_ == watch_state::dormant) { // a spent request deadline: nothing is outstanding
        timer_armed_at_ = clock::time_point::max();
        return;
    }
    if (fsm_.state() == sansio::link_state::closed)
        return;
    timer_armed_at_ = clock::time_point::max();
    const auto now = this->now();
    requests_.take_expired(
        now, [this, now](std::uint64_t, request_op&& op, clock::time_point deadline) {
            ctx_.counters.request_timeouts.fetch_add(1, std::memory_order_relaxed);
            record_request(make_error_code(errc::request_timeout), deadline, now);
            // The link stays: a late response will be dropped and counted.
            finish_request(std::move(op), make_error_code(errc::request_timeout), nullptr);
        });
    const auto before = fsm_.state();
    if (!fsm_.opening()) {
        if (before != sansio::link_state::closed)
            rearm_timer();
        return;
    }
    const auto action = fsm_.on_timer(now);
    if (action == sansio::link_action::close && connect_detail_.empty()) {
        if (before == sansio::link_state::proving)
            connect_detail_ =
                "no pong to the proving ping from " + to_string(peer()) + " within connect_timeout";
        else if (before == sansio::link_state::initializing)
            connect_detail_ = "no response to the init request from " + to_string(peer()) +
                              " within connect_timeout";
        else
            connect_detail_ = transport_->stalled_connect(peer());
    }
    perform(action);
    if (fsm_.state() != sansio::link_state::closed)
        rearm_timer();
}

void link::post_health_check(std::shared_ptr<link> l)
{
    auto& strand = l->strand_;
    strand.post([self = std::move(l)] { self->check_health(); });
}

void link::check_health()
{
    if (health_slot_ == nullptr)
        return; // closed meanwhile
    if (watch_ != watch_state::active) {
        if (watch_ == watch_state::dormant)
            service_watched(now());
        return; // releasing: the hand-over sends the due ping
    }
    const auto now = this->now();
    if (fsm_.ping_overdue(now) && !proof_of_life(now))
        return; // looked at again once the reads already queued have run
    const auto action = fsm_.on_timer(now);
    // A ping due on a quiet link: the link goes to the idle watch, which sends it.
    if (action == sansio::link_action::send_ping && quiet_for_watch() && begin_watch())
        return;
    perform(action);
    publish_health();
}

void link::publish_health()
{
    if (watched_) { // dormant (under watch_mutex_): the idle watch looks at it
        watch_slot_->publish(fsm_.deadline());
        return;
    }
    if (health_slot_ != nullptr)
        health_slot_->publish(fsm_.deadline());
}

// A ping is overdue. Before declaring the peer dead, make sure it is not this client that is
// late (io threads busy with thousands of links): bytes waiting in the socket are proof of
// life, and so may be a read completion queued behind this timer, so the verdict is given
// once more after everything queued now. False: asked again later (the link is not collected
// by the health tick meanwhile: it has not published since).
bool link::proof_of_life(clock::time_point now)
{
    error_code ec;
    if (transport_->available(ec) > 0 && !ec) {
        fsm_.on_received(now);
        return true;
    }
    if (overdue_rechecked_)
        return true; // already looked again: the verdict stands
    overdue_rechecked_ = true;
    strand_.post([self = shared_from_this()] { self->check_health(); });
    return false;
}

} // namespace tether::detail
