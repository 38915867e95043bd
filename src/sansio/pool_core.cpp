#include "sansio/pool_core.hpp"

#include "sansio/pool_policy.hpp"

#include <algorithm>

namespace tether::sansio {
namespace {

template <class Rep, class Period>
pool_duration shortened_by_up_to_10_percent(std::chrono::duration<Rep, Period> d, jitter_rng& rng)
{
    return std::chrono::duration_cast<pool_duration>(d * (1.0 - 0.1 * rng.unit()));
}

} // namespace

pool_core::pool_core(const pool_limits& limits, std::size_t endpoints, std::uint64_t seed,
                     pool_time now)
    : limits_(limits), rng_(seed), next_maintenance_(now + maintenance_period(limits))
{
    for (std::size_t i = 0; i < endpoints; ++i)
        backends_.add(i, limits_.backoff, rng_.next());
    // Start at a random endpoint so a fleet of clients does not all hit the first one.
    if (endpoints > 0)
        backends_.set_cursor(static_cast<std::size_t>(rng_.next() % endpoints));
}

void pool_core::start(pool_time now, actions& out)
{
    fill(now, out);
}

// ---- acquire ------------------------------------------------------------------------------------

void pool_core::link_unusable(link_slot slot, pool_time now, actions& out)
{
    records_.change(slot, [](link_record& r) { r.status = link_status::draining; });
    fill(now, out);
}

acquire_outcome pool_core::enqueue(pool_time now, const std::source_location& site, actions& out)
{
    if (closed_)
        return errc::pool_closed;
    if (waiters_.size() >= limits_.max_waiters)
        return errc::too_many_waiters;
    const waiter_id id = waiters_.push(now + limits_.acquire_timeout, site);
    wake_changed_ = true;
    fill(now, out);
    fail_if_nothing_can_serve(now, out);
    return queued{id};
}

acquire_outcome pool_core::acquire(pool_time now, const std::source_location& site, actions& out)
{
    if (const auto slot = peek_idle()) {
        lease(*slot, now, site);
        return acquired{*slot};
    }
    return enqueue(now, site, out);
}

bool pool_core::cancel_waiter(waiter_id id)
{
    return waiters_.erase(id);
}

void pool_core::fail_all_waiters(errc code, actions& out)
{
    while (!waiters_.empty())
        out.emplace_back(fail_waiter{waiters_.pop_front().id, code});
}

void pool_core::fail_if_nothing_can_serve(pool_time now, actions& out)
{
    if (limits_.fail_fast && !waiters_.empty() &&
        nothing_can_serve(gauges(), backends_.all_backing_off(now)))
        fail_all_waiters(errc::no_endpoint_available, out);
}

// ---- sizing -------------------------------------------------------------------------------------

void pool_core::fill(pool_time now, actions& out)
{
    if (closed_)
        return;
    std::size_t wanted = connects_wanted(gauges(), waiters_.size(), limits_);
    while (wanted > 0 && start_connect(now, out))
        --wanted;
    if (wanted > 0) {
        // Held back by backoff (or the connect cap, which a finishing connect lifts): come
        // back when the earliest backend may retry.
        if (const auto at = backends_.earliest_retry(now); at && *at < retry_wake_) {
            retry_wake_ = *at;
            wake_changed_ = true;
        }
    }
}

bool pool_core::start_connect(pool_time now, actions& out)
{
    // Every connect, whatever asks for it (refill, waiters, goaway, recycling), counts against
    // max_concurrent_connects.
    if (gauges().connecting >= limits_.max_concurrent_connects)
        return false;
    const auto b = backends_.next_for_connect(
        now, [this](backend_id id) { return records_.backend(id).connecting; });
    if (!b)
        return false;
    link_record r;
    r.id = next_link_id_++;
    r.backend = *b;
    r.status = link_status::connecting;
    r.epoch = backends_[*b].failure_epoch;
    // Each link's lifetime and idle limit are shortened by up to 10 %, so links opened (or
    // left idle) together are not all retired together.
    r.retire_at = now + shortened_by_up_to_10_percent(limits_.max_lifetime, rng_);
    r.idle_limit = shortened_by_up_to_10_percent(limits_.idle_timeout, rng_);
    const link_slot slot = records_.add(r);
    out.emplace_back(open_link{slot, r.id, *b});
    return true;
}

// Make before break: a connect for the replacement of the link in `slot`, which link_ready()
// retires once the replacement is proven (a capped or failed connect is retried later).
void pool_core::start_replacement(link_slot slot, pool_time now, actions& out)
{
    if (start_connect(now, out))
        records_.change(slot, [](link_record& r) { r.replacing = true; });
}

// ---- link events --------------------------------------------------------------------------------

void pool_core::hand_out(link_slot slot, pool_time now, actions& out)
{
    if (!waiters_.empty()) {
        // Direct hand-off to the oldest waiter: no barging by later callers.
        const waiter_entry w = waiters_.pop_front();
        lease(slot, now, w.site);
        out.emplace_back(grant_link{w.id, slot});
        return;
    }
    records_.change(slot, [now](link_record& r) {
        r.status = link_status::idle;
        r.held = false;
        r.idle_since = now;
    });
}

void pool_core::retire(link_slot slot, errc reason, actions& out)
{
    records_.change(slot, [](link_record& r) { r.status = link_status::draining; });
    out.emplace_back(retire_link{slot, reason});
}

void pool_core::link_ready(link_slot slot, pool_time now, actions& out)
{
    if (!records_.contains(slot) || records_.at(slot).status != link_status::connecting)
        return;
    records_.change(slot, [now](link_record& r) { r.proven_at = now; });
    const link_record& r = records_.at(slot);
    backend& b = backends_[r.backend];
    ++b.connects;
    // A connect started before the backend's last failure proves nothing about it since.
    if (r.epoch == b.failure_epoch) {
        if (b.backoff.failures() > 0) {
            b.failures_before_reset = b.backoff.failures();
            put_on_probation(b);
        }
        b.backoff.reset();
        b.retry_at = {};
    }
    if (closed_) {
        retire(slot, errc::pool_closed, out);
        return;
    }
    hand_out(slot, now, out);
    // Make before break: a link past max_lifetime goes once its replacement is proven.
    if (gauges().replacing > 0)
        if (const auto old = pick_replaced(records_))
            retire(*old, errc::connection_draining, out);
    fill(now, out); // a connect slot is free again (max_concurrent_connects)
}

void pool_core::link_draining(link_slot slot, bool served, pool_time now, actions& out)
{
    if (!records_.contains(slot))
        return;
    const link_record& r = records_.at(slot);
    if (r.status == link_status::draining || r.status == link_status::connecting)
        return;
    records_.change(slot, [](link_record& rec) { rec.status = link_status::draining; });
    if (!closed_)
        judge_goaway(r, served, now, out);
    // Make before break: a replacement starts now, while the old link finishes what it owes.
    if (!closed_ && gauges().live() < limits_.max_connections)
        start_connect(now, out);
    fill(now, out);
}

void pool_core::link_returned(link_slot slot, bool usable, pool_time now, actions& out, bool count)
{
    if (!records_.contains(slot))
        return;
    const link_record& r = records_.at(slot);
    if (r.held && count)
        count_hold(r, now);
    if (closed_ || r.status != link_status::leased || !usable) {
        const bool in_service = r.status == link_status::leased;
        records_.change(slot, [](link_record& rec) { rec.held = false; });
        if (in_service) {
            retire(slot, closed_ ? errc::pool_closed : errc::connection_draining, out);
            fill(now, out); // its replacement starts while it closes
        }
        return; // a draining link closes by itself once quiet
    }
    switch (recycle_returned(r, gauges(), limits_, now)) {
    case return_verdict::retire:
        // Past max_lifetime and surplus: its replacement was proven while it was leased, or
        // there is no room to make one first.
        records_.change(slot, [](link_record& rec) { rec.held = false; });
        retire(slot, errc::connection_draining, out);
        fill(now, out);
        return;
    case return_verdict::reuse_and_replace:
        start_replacement(slot, now, out);
        break;
    case return_verdict::reuse:
        break;
    }
    hand_out(slot, now, out); // to the oldest waiter, or idle: one record change either way
}

void pool_core::link_closed(link_slot slot, close_cause cause, std::string_view detail,
                            pool_time now, actions& out)
{
    if (!records_.contains(slot))
        return;
    const link_record r = records_.at(slot);
    backend& b = backends_[r.backend];
    if (r.status == link_status::connecting) {
        if (!closed_)
            record_connect_failure(r, detail, now, out);
    } else {
        ++b.disconnections[static_cast<std::size_t>(cause)];
        // A working link was lost: come back after a random part of the initial delay, so
        // many clients that lost one server do not reconnect in lockstep.
        if (!closed_ && is_loss(cause))
            b.retry_at = std::max(b.retry_at, now + b.backoff.first_reconnect_delay());
    }
    records_.remove(slot);
    if (closed_) {
        if (finished())
            out.emplace_back(pool_finished{});
        return;
    }
    fill(now, out);
    fail_if_nothing_can_serve(now, out);
}

} // namespace tether::sansio
