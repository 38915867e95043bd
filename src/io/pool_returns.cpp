// Links going back to the pool: the return of a lease (parked in the releasing thread's cache
// when it can be, else through the core), the cache's side of acquiring, and the reclaiming
// that keeps the core's view of parked links true (io/lease_cache.hpp).

#include "io/link.hpp"
#include "io/pool_deferred.hpp"
#include "io/pool_impl.hpp"

#include <array>

namespace tether::detail {

// The link this thread parked when it last released one, leased: no pool lock.
pool_impl::idle_lease pool_impl::take_parked()
{
    const std::size_t shard = cache_.my_shard();
    auto parked = cache_.take(shard);
    if (!parked.link)
        return {};
    const auto now = coarse_now();
    if (parked.link->usable() && !closed() && !parked.link->expired(now)) {
        parked.link->start_lease(now, true);
        return {std::move(parked.link), std::move(parked.anchor)};
    }
    // Closing or expired, or the pool closed, while it was parked: the core decides. (The
    // kept reference is dropped here, by a caller that holds one of its own.)
    cache_.uncount_acquire(shard);
    deferred out(*this);
    std::lock_guard lock(mutex_);
    link& l = *parked.link;
    return_locked(l, std::move(parked.link), coarse_now(), false, out);
    return {};
}

void pool_impl::on_last_handle_gone()
{
    kept_anchors kept; // dropped after the lock, by this caller, which still holds a reference
    deferred out(*this);
    std::lock_guard lock(mutex_);
    seal_cache_locked(kept);
    reclaim_parked_locked(out);
}

void pool_impl::seal_cache_locked(kept_anchors& kept)
{
    std::size_t n = 0;
    cache_.seal([&](std::shared_ptr<pool_anchor> a) { kept.at(n++) = std::move(a); });
}

void pool_impl::on_link_returned(link& l, std::shared_ptr<link> donor,
                                 std::shared_ptr<pool_anchor>* anchor)
{
    bool counted = false; // by the cache, for a park undone below
    // Not on an io thread: a lease released there (a completion's) is seldom acquired there
    // again, and a link parked in its shard would only wait for the others to reclaim it.
    if (donor && parking_open_.load(std::memory_order_seq_cst) && l.usable() &&
        !runner_.running_in_io_thread()) {
        // Parked in this thread's cache: its next acquire takes it back without the lock.
        // A caller that queued meanwhile closes parking, then reclaims every shard; checking
        // again after parking means one of the two always sees the other.
        const auto now = coarse_now();
        const std::size_t shard = cache_.my_shard();
        // The shard may keep the lease's pool reference for the next lease (the thread's
        // own, usually): when it does, neither release nor acquire touches its count.
        if (!l.expired(now) && cache_.park(shard, donor, anchor, l.lease_start(), now)) {
            if (parking_open_.load(std::memory_order_seq_cst))
                return;
            donor = cache_.take_back(shard, &l);
            if (!donor)
                return; // reclaimed already
            counted = true;
        }
    }
    deferred out(*this);
    std::lock_guard lock(mutex_);
    return_locked(l, std::move(donor), coarse_now(), !counted, out);
}

void pool_impl::return_locked(link& l, std::shared_ptr<link> donor, clock_time returned_at,
                              bool count, deferred& out)
{
    slot_entry* e = entry_of_locked(l);
    if (!e) {
        out.drop(std::move(donor)); // closed already; its lease was accounted for then
        return;
    }
    if (donor && !e->spare)
        e->spare = std::move(donor); // handed to the next lease, or kept while idle
    else
        out.drop(std::move(donor));
    const bool usable = l.usable();
    if (const auto& r = core_.records().at(l.slot()); r.held && count) {
        if (l.cached_lease()) // the core's record is of an older lease
            core_.restart_lease(l.slot(), l.lease_start());
        lease_use_.record(returned_at - r.leased_at); // under the lock: no atomics
    }
    if (usable && e->spare && core_.return_to_idle(l.slot(), returned_at, count))
        return; // the common case: idle again, with its spare reference for the next lease
    core_.link_returned(l.slot(), usable, returned_at, actions_, count);
    translate_locked(out);
    settle_spare_locked(l.slot(), out);
}

void pool_impl::reclaim_parked_locked(deferred& out)
{
    // A parked link's lease ended (and was counted) when it was parked.
    cache_.reclaim_all([&](std::shared_ptr<link> l, clock_time parked_at) {
        link& ref = *l;
        return_locked(ref, std::move(l), parked_at, false, out);
    });
}

void pool_impl::settle_cache_locked(deferred& out)
{
    reclaim_parked_locked(out);
    // Leases served by the cache since the core last leased their link: the core's records
    // start from the cache's lease (lease warnings, the oldest lease in reports).
    for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
        const auto& l = slots_[slot].owned;
        if (l && l->cached_lease() && core_.records().contains(slot))
            core_.restart_lease(slot, l->lease_start());
    }
}

} // namespace tether::detail
