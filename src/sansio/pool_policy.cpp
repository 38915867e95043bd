#include "sansio/pool_policy.hpp"

#include <algorithm>

namespace tether::sansio {

std::size_t connects_wanted(const link_gauges& g, std::size_t waiters,
                            const pool_limits& l) noexcept
{
    const std::size_t live = g.live();
    std::size_t wanted = live < l.min_connections ? l.min_connections - live : 0;
    if (waiters > g.connecting)
        wanted = std::max(wanted, waiters - g.connecting);
    const std::size_t room = l.max_connections > live ? l.max_connections - live : 0;
    return std::min(wanted, room);
}

bool nothing_can_serve(const link_gauges& g, bool all_backends_backing_off) noexcept
{
    return g.idle == 0 && g.connecting == 0 && g.leased == 0 && all_backends_backing_off;
}

idle_verdict recycle_idle(const link_record& r, const link_gauges& g, const pool_limits& l,
                          pool_time now) noexcept
{
    // Capacity counts proven links only, so a replacement still connecting does not make its
    // predecessor look surplus.
    const bool surplus = g.ready > l.min_connections;
    if (surplus && now - r.idle_since >= r.idle_limit)
        return idle_verdict::retire;
    if (now < r.retire_at)
        return idle_verdict::keep;
    if (r.replacing && surplus)
        return idle_verdict::retire; // its replacement was proven while it was leased
    if (g.live() < l.max_connections)
        // A failed or capped replacement connect is retried on a later tick, but a link never
        // has two replacements connecting at once.
        return !r.replacing || g.connecting == 0 ? idle_verdict::replace : idle_verdict::keep;
    // No room for one more link: a surplus link leaves at least min_connections proven; at
    // min == max there is no other way, the dip lasts one connect.
    return surplus || g.connecting == 0 ? idle_verdict::retire_and_refill : idle_verdict::keep;
}

return_verdict recycle_returned(const link_record& r, const link_gauges& g, const pool_limits& l,
                                pool_time now) noexcept
{
    if (now < r.retire_at)
        return return_verdict::reuse;
    const bool room = g.live() < l.max_connections;
    if (g.ready > l.min_connections && (r.replacing || !room))
        return return_verdict::retire;
    // As for an idle link: a replacement that was proven but retired another expired link
    // instead (the idle one goes first) leaves this one marked and unreplaced; with no connect
    // in flight it gets a replacement of its own, so a link that is always leased still goes.
    return room && (!r.replacing || g.connecting == 0) ? return_verdict::reuse_and_replace
                                                       : return_verdict::reuse;
}

std::optional<link_slot> pick_replaced(const link_records& records) noexcept
{
    std::optional<link_slot> best;
    for (const link_slot s : records.idle_stack()) {
        const link_record& r = records.at(s);
        if (r.replacing && (!best || r.retire_at < records.at(*best).retire_at))
            best = s;
    }
    return best;
}

pool_duration maintenance_period(const pool_limits& l) noexcept
{
    return std::clamp<pool_duration>(
        std::min({l.idle_timeout, l.max_lifetime, l.lease_warn_threshold}) / 40,
        std::chrono::milliseconds(10), std::chrono::seconds(1));
}

} // namespace tether::sansio
