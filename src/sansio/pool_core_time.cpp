// The pool core in time: waiter deadlines, retries after backoff, recycling and lease
// warnings at the maintenance tick, and shutdown.

#include "sansio/pool_core.hpp"
#include "sansio/pool_policy.hpp"

#include <algorithm>

namespace tether::sansio {

// ---- time ---------------------------------------------------------------------------------------

void pool_core::tick(pool_time now, actions& out)
{
    while (!waiters_.empty() && waiters_.front().deadline <= now) {
        ++counters_.acquire_timeouts;
        out.emplace_back(fail_waiter{waiters_.pop_front().id, errc::acquire_timeout});
    }
    if (closed_)
        return;
    if (retry_wake_ <= now) {
        retry_wake_ = pool_time::max();
        fill(now, out);
    }
    if (next_maintenance_ <= now) {
        next_maintenance_ = now + maintenance_period(limits_);
        maintain(now, out);
    }
}

pool_time pool_core::next_wake() const noexcept
{
    pool_time wake = waiters_.next_deadline().value_or(pool_time::max());
    if (!closed_)
        wake = std::min({wake, retry_wake_, next_maintenance_});
    return wake;
}

void pool_core::maintain(pool_time now, actions& out)
{
    warn_long_leases(now, out);
    recycle_idle_links(now, out);
}

// Leases held past lease_warn_threshold: reported once each, with the acquire site. (No scan
// of thousands of idle links when nothing is leased.)
void pool_core::warn_long_leases(pool_time now, actions& out)
{
    if (gauges().leased == 0)
        return;
    std::vector<link_slot> late;
    records_.for_each([&](link_slot s, const link_record& r) {
        if (r.held && !r.warned && now - r.leased_at >= limits_.lease_warn_threshold)
            late.push_back(s);
    });
    for (const link_slot s : late) {
        const link_record& r = records_.at(s);
        ++counters_.leases_held_too_long;
        out.emplace_back(lease_held_too_long{
            r.id, std::chrono::duration_cast<std::chrono::milliseconds>(now - r.leased_at),
            r.site});
        records_.change(s, [](link_record& rec) { rec.warned = true; });
    }
}

// Oldest idle first; only idle links are ever retired, never a leased one.
void pool_core::recycle_idle_links(pool_time now, actions& out)
{
    const std::vector<link_slot> idle = records_.idle_stack(); // retiring changes the stack
    for (const link_slot s : idle) {
        switch (recycle_idle(records_.at(s), gauges(), limits_, now)) {
        case idle_verdict::keep:
            break;
        case idle_verdict::retire:
            retire(s, errc::connection_draining, out);
            break;
        case idle_verdict::replace:
            start_replacement(s, now, out);
            break;
        case idle_verdict::retire_and_refill:
            retire(s, errc::connection_draining, out);
            fill(now, out);
            break;
        }
    }
}

// Every link open or opening now counts as past its lifetime: replaced as for max_lifetime
// (make-before-break where there is room, within max_concurrent_connects; a leased link when
// it comes back). The idle ones are looked at now, the others when they are proven or return.
void pool_core::expire_all(pool_time now, actions& out)
{
    if (closed_)
        return;
    std::vector<link_slot> open;
    records_.for_each([&](link_slot s, const link_record& r) {
        if (r.status != link_status::draining && r.retire_at > now)
            open.push_back(s);
    });
    for (const link_slot s : open)
        records_.change(s, [now](link_record& r) { r.retire_at = now; });
    recycle_idle_links(now, out); // the rest at the next maintenance tick (at most 1 s)
}

// ---- shutdown -----------------------------------------------------------------------------------

void pool_core::shutdown(actions& out)
{
    if (closed_)
        return;
    closed_ = true;
    retry_wake_ = pool_time::max();
    fail_all_waiters(errc::pool_closed, out);
    // Idle links close now; leased ones finish what was sent (the driver bounds that by the
    // drain deadline); connecting ones are told to stop.
    std::vector<link_slot> all;
    records_.for_each([&](link_slot s, const link_record&) { all.push_back(s); });
    for (const link_slot s : all) {
        if (records_.at(s).status != link_status::connecting)
            records_.change(s, [](link_record& r) { r.status = link_status::draining; });
        out.emplace_back(retire_link{s, errc::pool_closed});
    }
    if (finished())
        out.emplace_back(pool_finished{});
}

} // namespace tether::sansio
