#pragma once

// Per-thread parking of released links, so that threads acquiring and releasing on one pool do
// not all pass through its lock (HikariCP's ConcurrentBag, reduced to what the pool needs).
// A thread parks the link it releases in its own shard and takes it back on its next acquire:
// a tiny spinlock on a cache line of that thread's, instead of the pool's lock and the core's
// records that every thread writes. The pool core keeps counting a parked link as leased; the
// pool reclaims parked links (returns them to the core) whenever it needs the truth: before
// opening a link or queueing a waiter, before a report, at every wake-up of the core, at
// shutdown.
//
// A shard also keeps the pool reference (Anchor) of the lease that parked there, for the lease
// its link goes to next: a thread cycling one link then never touches the reference count that
// every thread of the pool shares. seal() ends that for good (the pool's last handle is gone:
// parked references must not keep it alive) and hands the kept references back.
//
// The shards count the leases they serve (acquires) and end (returns, hold times): the pool
// adds them to the core's figures. Thread-safe; no allocation.

#include <tether/histogram.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace tether::detail {

/// What the cache's shards counted.
struct cached_lease_counts {
    std::uint64_t acquires = 0; ///< leases served from a shard
    std::uint64_t returns = 0;  ///< leases ended by parking
    std::chrono::steady_clock::duration hold_total{};
    std::chrono::steady_clock::duration hold_max{};
    histogram hold; ///< of the returns (the pool's lease_use)
};

template <class Link, class Anchor> class lease_cache {
public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::size_t shard_count = 16;

    /// What take() found: a parked link and, when its shard kept one, a pool reference.
    struct taken {
        std::shared_ptr<Link> link;
        std::shared_ptr<Anchor> anchor;
    };

    /// The calling thread's shard (threads numbered in the order they first ask, so up to
    /// shard_count threads never share one).
    static std::size_t my_shard() noexcept
    {
        static std::atomic<std::size_t> next_thread{0};
        thread_local const std::size_t index =
            next_thread.fetch_add(1, std::memory_order_relaxed) % shard_count;
        return index;
    }

    /// Parks `l` (moved from on success) in `shard`, ending a lease that started at
    /// `leased_at` (counted). The shard keeps `*anchor` too (moved from) unless it keeps one
    /// already. False when the shard holds a link already, or after seal(): `l` and `*anchor`
    /// are untouched.
    bool park(std::size_t shard, std::shared_ptr<Link>& l, std::shared_ptr<Anchor>* anchor,
              time_point leased_at, time_point now)
    {
        shard_state& s = shards_[shard];
        const guard g(s);
        // Read under the guard: seal() stores it before visiting the shards, so a park either
        // sees it or comes before seal()'s visit of this shard, which takes what it kept.
        if (s.parked || sealed_.load(std::memory_order_relaxed))
            return false;
        s.parked = std::move(l);
        if (anchor && *anchor && !s.anchor)
            s.anchor = std::move(*anchor);
        s.parked_at = now;
        const auto held = std::max(now - leased_at, time_point::duration::zero());
        ++s.counts.returns;
        s.counts.hold_total += held;
        s.counts.hold_max = std::max(s.counts.hold_max, held);
        s.counts.hold.record(held);
        s.occupied.store(true, std::memory_order_relaxed);
        return true;
    }

    /// The link parked in `shard`, counted as an acquire, with the pool reference the shard
    /// kept (if any); both null when no link is parked there.
    taken take(std::size_t shard)
    {
        shard_state& s = shards_[shard];
        if (!s.occupied.load(std::memory_order_relaxed))
            return {};
        const guard g(s);
        if (!s.parked)
            return {};
        ++s.counts.acquires;
        s.occupied.store(false, std::memory_order_relaxed);
        return {std::move(s.parked), std::move(s.anchor)};
    }
    /// The link take() gave could not be leased after all.
    void uncount_acquire(std::size_t shard)
    {
        shard_state& s = shards_[shard];
        const guard g(s);
        --s.counts.acquires;
    }

    /// `l` back from `shard` if it is still parked there (its return stays counted); null
    /// when another thread took it meanwhile. A pool reference the shard kept stays there.
    std::shared_ptr<Link> take_back(std::size_t shard, const Link* l)
    {
        shard_state& s = shards_[shard];
        const guard g(s);
        if (s.parked.get() != l)
            return nullptr;
        s.occupied.store(false, std::memory_order_relaxed);
        return std::move(s.parked);
    }

    /// Calls `fn(std::shared_ptr<Link>, time_point parked_at)` for every parked link, each
    /// taken out of its shard first (no shard is locked during `fn`). Kept pool references
    /// stay: only seal() gives them back.
    template <class Fn> void reclaim_all(Fn&& fn)
    {
        // Every shard under its guard, no quick look first: a caller that just queued must
        // see a link parked before its queueing was visible (see pool_impl's parking_open_).
        for (auto& s : shards_) {
            std::shared_ptr<Link> l;
            time_point at{};
            {
                const guard g(s);
                if (!s.parked)
                    continue;
                l = std::move(s.parked);
                at = s.parked_at;
                s.occupied.store(false, std::memory_order_relaxed);
            }
            fn(std::move(l), at);
        }
    }

    /// From now on no shard keeps a pool reference or a link (park() refuses): calls
    /// `fn(std::shared_ptr<Anchor>)` for every reference the shards kept. Parked links stay
    /// for reclaim_all(). Idempotent.
    template <class Fn> void seal(Fn&& fn)
    {
        sealed_.store(true, std::memory_order_relaxed); // published by the guards below
        for (auto& s : shards_) {
            std::shared_ptr<Anchor> a;
            {
                const guard g(s);
                a = std::move(s.anchor);
            }
            if (a)
                fn(std::move(a));
        }
    }

    /// Links parked right now (a snapshot: one look at every shard, without locking).
    std::size_t parked() const noexcept
    {
        std::size_t n = 0;
        for (const auto& s : shards_)
            n += s.occupied.load(std::memory_order_relaxed) ? 1u : 0u;
        return n;
    }

    /// What every shard counted so far.
    cached_lease_counts counts() const
    {
        cached_lease_counts total;
        for (const auto& s : shards_) {
            const guard g(s);
            total.acquires += s.counts.acquires;
            total.returns += s.counts.returns;
            total.hold_total += s.counts.hold_total;
            total.hold_max = std::max(total.hold_max, s.counts.hold_max);
            total.hold += s.counts.hold;
        }
        return total;
    }

private:
    struct alignas(64) shard_state {
        mutable std::atomic<bool> busy{false};
        // Mirrors `parked` (written under the guard) for looks without it. The guard orders
        // everything else; a stale look only sends a caller the slow way, or into the guard.
        std::atomic<bool> occupied{false};
        std::shared_ptr<Link> parked;
        std::shared_ptr<Anchor> anchor; // kept for the next lease served here (see top)
        time_point parked_at{};
        cached_lease_counts counts;
    };
    // Held for a few instructions; two threads meet on a shard only when more threads than
    // shards use the pool, or when the pool reclaims.
    class guard {
    public:
        explicit guard(const shard_state& s) noexcept : s_(s)
        {
            while (s_.busy.exchange(true, std::memory_order_acquire))
                while (s_.busy.load(std::memory_order_relaxed)) {
                }
        }
        ~guard() { s_.busy.store(false, std::memory_order_release); }
        guard(const guard&) = delete;
        guard& operator=(const guard&) = delete;

    private:
        const shard_state& s_;
    };

    std::array<shard_state, shard_count> shards_;
    std::atomic<bool> sealed_{false};
};

} // namespace tether::detail
