// The simulator's loop, its clients, and the driver's side of the core's actions. The core is
// driven exactly as its contract says (pool_core.hpp): every open_link answered once by
// link_ready or link_closed, every waiter completed once, tick() at next_wake(). Actions are
// performed after the call that produced them returned; an action that leads to another core
// call (a retired link closing) does so through an event at the same virtual time, as the real
// driver posts it to the link's strand.

#include "fleet_sim_impl.hpp"

#include <cmath>
#include <type_traits>

namespace tether::sim {
namespace {

const std::source_location& client_site()
{
    static const std::source_location site = std::source_location::current();
    return site;
}

} // namespace

fleet_sim::fleet_sim(const fleet_config& config)
    : cfg_(config), rng_(config.seed), start_(std::chrono::hours(1)),
      end_(start_ + config.duration), now_(start_),
      core_(config.limits, config.backends, config.seed, start_), backends_(config.backends)
{
    if (cfg_.faults.empty())
        cfg_.faults = default_faults(cfg_.duration, cfg_.backends);
    links_.reserve(cfg_.limits.max_connections * 2);
    closed_after_.resize(fault_kinds);
    r_.all_down_first_connect_ms.fill(-1);
}

fleet_results fleet_sim::run()
{
    r_.seed = cfg_.seed;
    plan_probes();
    for (std::size_t i = 0; i < cfg_.faults.size(); ++i) {
        push(start_ + cfg_.faults[i].start, ev::fault_start, 0, i);
        push(start_ + cfg_.faults[i].end, ev::fault_end, 0, i);
    }
    push(end_, ev::shutdown);
    push(now_, ev::arrival);
    call([&](auto& out) { core_.start(now_, out); });
    arm_core_wake();
    std::uint64_t same_instant = 0; // a core that keeps asking to be woken now would spin here
    while (!queue_.empty()) {
        const event e = queue_.top();
        queue_.pop();
        same_instant = e.at == now_ ? same_instant + 1 : 0;
        if (same_instant > 1'000'000) {
            violation("a million events without time advancing");
            break;
        }
        now_ = e.at;
        ++r_.events;
        dispatch(e);
        arm_core_wake();
        after_event();
        if (r_.events % cfg_.full_check_every == 0)
            check_full();
        if (closed_ && now_ > end_ + std::chrono::minutes(2)) {
            violation("shutdown did not finish within 2 minutes");
            break;
        }
    }
    finish_results();
    return r_;
}

void fleet_sim::push(pool_time at, ev kind, link_slot slot, std::uint64_t a, std::uint64_t b)
{
    queue_.push(event{at, seq_++, a, b, slot, kind});
}

void fleet_sim::dispatch(const event& e)
{
    switch (e.kind) {
    case ev::arrival:
        arrival();
        break;
    case ev::connect_arrive:
        connect_arrive(e.slot, e.a);
        break;
    case ev::pong:
        pong(e.slot, e.a, e.b);
        break;
    case ev::reply:
        reply(e.slot, e.a, e.b);
        break;
    case ev::link_timer:
        link_timer(e.slot, e.a);
        break;
    case ev::link_close:
        if (live(e.slot, e.a)) {
            if (links_[e.slot].fsm->state() != sansio::link_state::closed)
                violation("link " + std::to_string(e.a) + " closing, its fsm not closed");
            close_link(e.slot);
        }
        break;
    case ev::core_wake:
        core_wake(e.a);
        break;
    case ev::fault_start:
        fault_start(e.a);
        break;
    case ev::fault_end:
        fault_end(e.a);
        break;
    case ev::shutdown:
        shutdown();
        break;
    }
}

void fleet_sim::perform(const sansio::pool_action& action)
{
    std::visit(
        [&](const auto& a) {
            using T = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<T, sansio::open_link>)
                on_open(a);
            else if constexpr (std::is_same_v<T, sansio::grant_link>)
                on_grant(a);
            else if constexpr (std::is_same_v<T, sansio::fail_waiter>)
                on_fail(a);
            else if constexpr (std::is_same_v<T, sansio::retire_link>)
                on_retire(a);
            else if constexpr (std::is_same_v<T, sansio::connect_failed>)
                ++r_.connect_failures;
            else if constexpr (std::is_same_v<T, sansio::backoff_started>) {
                ++r_.backoffs;
                if (a.failures == 1)
                    first_backoff_.push_back(a.delay);
            } else if constexpr (std::is_same_v<T, sansio::lease_held_too_long>)
                ++r_.long_leases;
            else if constexpr (std::is_same_v<T, sansio::pool_finished>)
                ++r_.pool_finished;
        },
        action);
}

void fleet_sim::on_open(const sansio::open_link& a)
{
    if (a.slot >= links_.size())
        links_.resize(a.slot + 1);
    if (links_[a.slot].id != 0)
        violation("open_link for slot " + std::to_string(a.slot) + ", still in use");
    sim_link& l = links_[a.slot];
    l = sim_link{};
    l.id = a.link_id;
    l.backend = a.backend;
    l.fsm.emplace(cfg_.timing, now_, cfg_.seed ^ (a.link_id * 0x9e3779b97f4a7c15ULL));
    ++n_links_;
    ++n_connecting_;
    ++r_.connects;
    note_connect(a.backend);
    arm_link_timer(a.slot);
    push(after(cfg_.connect_latency), ev::connect_arrive, a.slot, a.link_id);
}

void fleet_sim::on_grant(const sansio::grant_link& a)
{
    const auto it = waiting_.find(a.waiter);
    if (it == waiting_.end()) {
        violation("grant_link to waiter " + std::to_string(a.waiter) + ", not waiting");
        return;
    }
    if (it != waiting_.begin()) // FIFO: no barging past an older waiter
        violation("waiter " + std::to_string(a.waiter) + " served before " +
                  std::to_string(waiting_.begin()->first));
    const std::uint64_t op = it->second;
    waiting_.erase(it);
    start_request(op, a.slot);
}

void fleet_sim::on_fail(const sansio::fail_waiter& a)
{
    const auto it = waiting_.find(a.waiter);
    if (it == waiting_.end()) {
        violation("fail_waiter to waiter " + std::to_string(a.waiter) + ", not waiting");
        return;
    }
    const std::uint64_t op = it->second;
    waiting_.erase(it);
    finish_op(op, a.code, false);
}

// The link finishes what it owes, then closes; an idle one closes at once (through an event:
// the core is not called back while its actions are performed).
void fleet_sim::on_retire(const sansio::retire_link& a)
{
    sim_link* l = a.slot < links_.size() && links_[a.slot].id ? &links_[a.slot] : nullptr;
    if (!l) {
        violation("retire_link for free slot " + std::to_string(a.slot));
        return;
    }
    if (l->held && !core_.closed())
        violation("retire_link took leased link " + std::to_string(l->id) + " from its client");
    ++r_.retired;
    const auto action = l->fsm->on_drain(l->request ? 1 : 0, make_error_code(a.reason));
    if (action == sansio::link_action::close)
        push(now_, ev::link_close, a.slot, l->id);
}

// A client: acquire (an idle link at once, as the real driver's fast path, else queued), then
// one request on the link, then release.
void fleet_sim::arrival()
{
    if (closed_)
        return;
    const double gap_s = -std::log1p(-unit()) / cfg_.requests_per_second;
    push(now_ + std::chrono::duration_cast<sim_duration>(std::chrono::duration<double>(gap_s)),
         ev::arrival);
    const std::uint64_t op = ops_.size();
    ops_.push_back(op_state::acquiring);
    ++r_.requests;
    while (const auto slot = core_.peek_idle()) {
        if (!accepting(*slot)) {
            violation("idle link " + std::to_string(links_[*slot].id) + " refuses requests");
            call([&](auto& out) { core_.link_unusable(*slot, now_, out); });
            continue;
        }
        core_.lease_idle(*slot, now_, client_site());
        ++r_.acquired_at_once;
        start_request(op, *slot);
        check_cheap();
        return;
    }
    std::optional<errc> refused;
    call([&](auto& out) {
        const auto outcome = core_.enqueue(now_, client_site(), out);
        if (const auto* q = std::get_if<sansio::queued>(&outcome)) {
            waiting_.emplace(q->waiter, op); // before the actions: they may fail it at once
            ++r_.queued;
        } else {
            refused = std::get<errc>(outcome);
        }
    });
    if (refused)
        finish_op(op, *refused, false);
}

void fleet_sim::start_request(std::uint64_t op, link_slot slot)
{
    ops_[op] = op_state::requesting;
    if (slot >= links_.size() || links_[slot].id == 0) {
        violation("free slot " + std::to_string(slot) + " handed out");
        finish_op(op, errc::connection_lost, true);
        return;
    }
    sim_link& l = links_[slot];
    if (!accepting(slot))
        violation("link " + std::to_string(l.id) + " handed out while not ready (draining?)");
    if (core_.records().at(slot).status != sansio::link_status::leased)
        violation("link " + std::to_string(l.id) + " handed out, not leased in the core");
    if (l.held)
        violation("link " + std::to_string(l.id) + " handed out twice");
    l.held = true;
    ++n_held_;
    l.request = op;
    const backend_state& b = backends_[l.backend];
    if (b.hung)
        return; // black-holed: answered never; the link is found dead and fails it
    const double span = std::chrono::duration<double>(cfg_.request_max - cfg_.request_min).count();
    double latency_s = std::chrono::duration<double>(cfg_.request_min).count() + span * unit();
    if (b.slow)
        latency_s *= cfg_.slow_factor;
    push(now_ + std::chrono::duration_cast<sim_duration>(std::chrono::duration<double>(latency_s)),
         ev::reply, slot, l.id, op);
}

void fleet_sim::finish_op(std::uint64_t op, std::optional<errc> failure, bool in_request)
{
    if (ops_[op] == op_state::done) {
        violation("request " + std::to_string(op) + " completed twice");
        return;
    }
    if (in_request != (ops_[op] == op_state::requesting))
        violation("request " + std::to_string(op) + " completed in the wrong phase");
    ops_[op] = op_state::done;
    if (!failure)
        ++r_.served;
    else
        ++(in_request ? r_.request_failed : r_.acquire_failed)[static_cast<std::size_t>(*failure)];
}

void fleet_sim::arm_core_wake()
{
    const pool_time at = core_.next_wake();
    if (at == pool_time::max() || at >= wake_at_)
        return;
    wake_at_ = at;
    push(std::max(at, now_), ev::core_wake, 0, ++wake_tag_);
}

void fleet_sim::core_wake(std::uint64_t tag)
{
    if (tag != wake_tag_)
        return; // superseded by an earlier wake
    wake_at_ = pool_time::max();
    call([&](auto& out) { core_.tick(now_, out); });
}

void fleet_sim::shutdown()
{
    if (probing_since_)
        ++r_.recovery_probes_unmet;
    probing_since_.reset();
    r_.links_at_end = links_per_backend();
    closed_ = true;
    call([&](auto& out) { core_.shutdown(out); });
}

fleet_summary run_fleet_sim(const fleet_config& config)
{
    // The wall clock measures the run; nothing in the run reads it.
    const auto t0 = std::chrono::steady_clock::now();
    fleet_summary s;
    s.results = fleet_sim(config).run();
    s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return s;
}

} // namespace tether::sim
