// Simulated links and the simulated fleet. Each link owns a real sansio::link_fsm and is
// driven as io/link drives its own: connect -> on_connected (the proving ping) -> pong ->
// link_ready; pings and dead-link detection at fsm.deadline(); any reply is proof of life;
// goaway -> on_drain + link_draining; a close fails what is in flight and tells the core.
// Faults act on a backend: a hung one black-holes everything, both ways.

#include "fleet_sim_impl.hpp"

namespace tether::sim {
namespace {

errc as_errc(const boost::system::error_code& ec)
{
    return ec.category() == error_category() ? static_cast<errc>(ec.value())
                                             : errc::connection_lost;
}

} // namespace

sim_link* fleet_sim::live(link_slot slot, std::uint64_t id)
{
    return slot < links_.size() && links_[slot].id == id && id != 0 ? &links_[slot] : nullptr;
}

bool fleet_sim::accepting(link_slot slot) const
{
    return slot < links_.size() && links_[slot].id != 0 && links_[slot].fsm->accepts_requests();
}

pool_time fleet_sim::after(sim_duration mean)
{
    return now_ + std::chrono::duration_cast<sim_duration>(mean * (0.5 + unit()));
}

// The SYN reaches the backend: lost (hung: connect_timeout ends it), refused, or connected.
void fleet_sim::connect_arrive(link_slot slot, std::uint64_t id)
{
    sim_link* l = live(slot, id);
    if (!l || l->fsm->state() != sansio::link_state::connecting)
        return;
    const backend_state& b = backends_[l->backend];
    if (b.hung)
        return;
    if (b.refused) {
        perform_link(slot, l->fsm->on_failure(make_error_code(errc::connect_failed)));
        return;
    }
    perform_link(slot, l->fsm->on_connected(now_)); // send_ping: the proving ping
}

// What the link's fsm asked for (`ready` comes from pong() only); re-arms its timer.
void fleet_sim::perform_link(link_slot slot, sansio::link_action a)
{
    switch (a) {
    case sansio::link_action::none:
    case sansio::link_action::ready:
    case sansio::link_action::send_init: // the simulated fleet sends no init request
        break;
    case sansio::link_action::send_ping:
        send_ping(slot);
        break;
    case sansio::link_action::close:
        close_link(slot);
        return;
    }
    arm_link_timer(slot);
}

void fleet_sim::send_ping(link_slot slot)
{
    const sim_link& l = links_[slot];
    if (backends_[l.backend].hung)
        return; // lost
    push(after(cfg_.pong_latency), ev::pong, slot, l.id, l.fsm->ping_id());
}

void fleet_sim::pong(link_slot slot, std::uint64_t id, std::uint64_t ping)
{
    sim_link* l = live(slot, id);
    if (!l || backends_[l->backend].hung)
        return;
    bool matched = false;
    const auto action = l->fsm->on_pong(ping, now_, matched);
    if (action == sansio::link_action::ready) {
        l->proven = true;
        --n_connecting_;
        ++r_.proven;
        const std::size_t backend = l->backend;
        call([&](auto& out) { core_.link_ready(slot, now_, out); }); // may resize links_
        // A backend saying goaway says it on every link, right after the proving pong too.
        if (backends_[backend].goaway && live(slot, id))
            deliver_goaway(slot);
    }
    if (live(slot, id))
        arm_link_timer(slot);
}

// The reply to the link's request: proof of life; the client releases the lease; a draining
// link closes once quiet.
void fleet_sim::reply(link_slot slot, std::uint64_t id, std::uint64_t op)
{
    sim_link* l = live(slot, id);
    if (!l || l->request != op || backends_[l->backend].hung)
        return; // failed already (the link closed), or black-holed
    l->fsm->on_received(now_);
    l->request = 0;
    l->replied = true;
    l->held = false;
    --n_held_;
    finish_op(op, std::nullopt, true);
    const bool usable = l->fsm->accepts_requests();
    call([&](auto& out) { core_.link_returned(slot, usable, now_, out); });
    if (sim_link* again = live(slot, id))
        perform_link(slot, again->fsm->on_outstanding(0));
}

void fleet_sim::link_timer(link_slot slot, std::uint64_t tag)
{
    if (slot >= links_.size() || links_[slot].id == 0 || links_[slot].timer_tag != tag)
        return; // superseded by an earlier deadline, or the link is gone
    links_[slot].timer_at = pool_time::max();
    perform_link(slot, links_[slot].fsm->on_timer(now_));
}

// One pending timer per link, at the earliest deadline asked for; when it fires early (the
// deadline moved later: a reply, a pong) the fsm does nothing and it is armed again.
void fleet_sim::arm_link_timer(link_slot slot)
{
    sim_link& l = links_[slot];
    const pool_time at = l.fsm->deadline();
    if (at == pool_time::max() || at >= l.timer_at)
        return;
    l.timer_at = at;
    l.timer_tag = ++tags_;
    push(std::max(at, now_), ev::link_timer, slot, l.timer_tag);
}

void fleet_sim::deliver_goaway(link_slot slot)
{
    sim_link& l = links_[slot];
    ++r_.goaways;
    const bool was_ready = l.fsm->state() == sansio::link_state::ready;
    const auto action =
        l.fsm->on_drain(l.request ? 1 : 0, make_error_code(errc::connection_draining));
    if (was_ready)
        call([&](auto& out) { core_.link_draining(slot, l.replied, now_, out); });
    perform_link(slot, action);
}

// The link's fsm closed: what is in flight fails with its reason, then the core is told. The
// slot is freed first: the core may open a new link in it within link_closed().
void fleet_sim::close_link(link_slot slot)
{
    sim_link& l = links_[slot];
    const auto reason = l.fsm->reason();
    // As the real link says it (io/link.hpp); which drains were goaways does not matter here.
    const sansio::close_cause cause = sansio::cause_of_close(reason, l.fsm->died_silently(), false);
    if (l.fsm->died_silently())
        ++r_.dead_links;
    if (l.proven && sansio::is_loss(cause))
        ++r_.links_lost;
    if (l.hit_by >= 0) {
        const fault_kind k = cfg_.faults[static_cast<std::size_t>(l.hit_by)].kind;
        if (k != fault_kind::hung || l.fsm->died_silently())
            closed_after_[static_cast<std::size_t>(k)].push_back(now_ - l.hit_at);
    }
    if (l.request)
        finish_op(l.request, as_errc(reason), true);
    if (l.held)
        --n_held_;
    if (!l.proven)
        --n_connecting_;
    --n_links_;
    const char* detail = l.proven ? "" : "connect failed or timed out";
    l = sim_link{};
    call([&](auto& out) { core_.link_closed(slot, cause, detail, now_, out); });
}

// Links past their TCP connect (proving, ready, draining) on `backend`, in slot order.
std::vector<link_slot> fleet_sim::established_on(std::size_t backend) const
{
    std::vector<link_slot> found;
    for (link_slot s = 0; s < links_.size(); ++s)
        if (links_[s].id != 0 && links_[s].backend == backend &&
            links_[s].fsm->state() != sansio::link_state::connecting &&
            links_[s].fsm->state() != sansio::link_state::closed)
            found.push_back(s);
    return found;
}

void fleet_sim::fault_start(std::size_t index)
{
    const fault& f = cfg_.faults[index];
    backend_state& b = backends_[f.backend];
    b.refused += f.kind == fault_kind::refused || f.kind == fault_kind::restart;
    b.hung += f.kind == fault_kind::hung;
    b.slow += f.kind == fault_kind::slow;
    b.goaway += f.kind == fault_kind::goaway;
    if (b.refused || b.hung)
        b.down_since.reset();
    update_all_down();
    if (f.kind == fault_kind::slow || f.kind == fault_kind::refused)
        return; // established links carry on
    std::vector<std::pair<link_slot, std::uint64_t>> hit;
    for (const link_slot s : established_on(f.backend)) {
        sim_link& l = links_[s];
        if (l.proven && l.hit_by < 0) {
            l.hit_by = static_cast<int>(index);
            l.hit_at = now_;
        }
        hit.emplace_back(s, l.id);
    }
    for (const auto& [s, id] : hit) {
        sim_link* l = live(s, id); // closing one may have changed the others' slots
        if (!l)
            continue;
        if (f.kind == fault_kind::goaway && l->fsm->state() == sansio::link_state::ready)
            deliver_goaway(s);
        else if (f.kind == fault_kind::reset || f.kind == fault_kind::restart)
            perform_link(s, l->fsm->on_failure(make_error_code(errc::connection_lost)));
    }
}

void fleet_sim::fault_end(std::size_t index)
{
    const fault& f = cfg_.faults[index];
    backend_state& b = backends_[f.backend];
    const bool was_down = b.refused || b.hung;
    b.refused -= f.kind == fault_kind::refused || f.kind == fault_kind::restart;
    b.hung -= f.kind == fault_kind::hung;
    b.slow -= f.kind == fault_kind::slow;
    b.goaway -= f.kind == fault_kind::goaway;
    if (was_down && !b.refused && !b.hung)
        b.down_since = now_; // measured until the pool's first connect to it
    update_all_down();
    if (quiet_end_[index] && !probing_since_)
        probing_since_ = now_;
}

} // namespace tether::sim
