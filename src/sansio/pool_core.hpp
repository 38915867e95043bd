#pragma once

// The sans-io pool core: every decision of the pool, and nothing else. Its driver (io/pool_impl)
// feeds it events under the pool lock, with the current time, and performs the actions it
// appends to `out` once the lock is released. It owns the link records (one status each, every
// gauge derived from them), the FIFO waiters with their deadlines, the backends with their
// backoff, sizing, recycling (max_lifetime, idle_timeout, make-before-break), goaway
// replacement and shutdown. No Asio, no locks, no clock reads: tested in virtual time.
//
// Contract with the driver:
// - Every open_link is answered, exactly once, by link_ready() or link_closed() (a link
//   proven, then closed, sends both).
// - Every waiter (acquire() that queued) gets exactly one grant_link or fail_waiter, or is
//   removed by cancel_waiter() returning true.
// - A link handed out (lease_idle(), grant_link) is leased until link_returned() or
//   link_closed().
// - The driver calls tick(now) at next_wake() (or later), and re-arms its timer at
//   next_wake() after a tick and after any event for which take_wake_changed() is true.

#include "sansio/backend_set.hpp"
#include "sansio/link_records.hpp"
#include "sansio/pool_types.hpp"
#include "sansio/waiter_queue.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tether::sansio {

/// Counters the core keeps (the link-level ones live with the links).
struct pool_core_counters {
    std::uint64_t acquires = 0;
    std::uint64_t acquire_timeouts = 0;
    std::uint64_t connect_failures = 0;
    std::uint64_t leases_returned = 0;
    pool_duration hold_total{};
    pool_duration hold_max{};
    std::uint64_t leases_held_too_long = 0;
};

/// What acquire() did: leased a link at once, queued the caller, or refused.
struct acquired {
    link_slot slot;
};
struct queued {
    waiter_id waiter;
};
using acquire_outcome = std::variant<acquired, queued, errc>;

class pool_core {
public:
    using actions = std::vector<pool_action>;

    /// `endpoints`: how many configured endpoints (one backend each). `seed` drives every
    /// random choice (jitter bands, backoff, the first backend).
    pool_core(const pool_limits& limits, std::size_t endpoints, std::uint64_t seed, pool_time now);

    /// Opens the first min_connections links.
    void start(pool_time now, actions& out);

    // ---- acquire -------------------------------------------------------------------------
    /// The most recently used idle link, not yet leased; nullopt when none. The driver checks
    /// that the link itself still accepts requests, then calls lease_idle() or link_unusable().
    std::optional<link_slot> peek_idle() const noexcept
    {
        const auto& idle = records_.idle_stack();
        if (closed_ || idle.empty())
            return std::nullopt;
        return idle.back();
    }
    /// The lease of the leased link in `slot` started at `at`, outside the core (the driver's
    /// per-thread cache served it): hold times and lease warnings count from there.
    void restart_lease(link_slot slot, pool_time at) noexcept
    {
        if (!records_.contains(slot) || !records_.at(slot).held ||
            records_.at(slot).leased_at == at)
            return;
        records_.change(slot, [at](link_record& r) {
            r.leased_at = at;
            r.warned = false;
        });
    }
    /// Leases the idle link in `slot` to the caller at `site`.
    void lease_idle(link_slot slot, pool_time now, const std::source_location& site)
    {
        lease(slot, now, site);
    }
    /// The idle link in `slot` turned out to be closing: out of service until link_closed();
    /// a replacement starts.
    void link_unusable(link_slot slot, pool_time now, actions& out);
    /// A caller wants a link and there was no usable idle one: queue it (or refuse).
    acquire_outcome enqueue(pool_time now, const std::source_location& site, actions& out);
    /// Fast path and queueing in one call (tests and simulations: every link is usable).
    acquire_outcome acquire(pool_time now, const std::source_location& site, actions& out);
    /// The caller gave up waiting (cancellation). True if it was still queued; its completion
    /// is then the driver's.
    bool cancel_waiter(waiter_id id);

    // ---- link events ---------------------------------------------------------------------
    /// The link in `slot` is proven.
    void link_ready(link_slot slot, pool_time now, actions& out);
    /// The link in `slot` got goaway: no new lease; a replacement starts at once. `served`:
    /// it answered a request before (a link sent away unused right after proving, and again,
    /// is a failed connect).
    void link_draining(link_slot slot, bool served, pool_time now, actions& out);
    /// The last hold of the leased link in `slot` was dropped. `usable`: the link still
    /// accepts requests and its lease did not ask to discard it. `count`: false when the lease
    /// was counted elsewhere (the driver's cache) or there was none.
    void link_returned(link_slot slot, bool usable, pool_time now, actions& out, bool count = true);
    /// The common case of link_returned() for a usable link, in one record change: back to
    /// the idle stack when nobody waits and it has not expired. False (nothing done): call
    /// link_returned(). `count` as for link_returned().
    bool return_to_idle(link_slot slot, pool_time now, bool count = true) noexcept
    {
        const link_record& r = records_.at(slot);
        if (closed_ || r.status != link_status::leased || !r.held || !waiters_.empty() ||
            now >= r.retire_at)
            return false;
        if (count)
            count_hold(r, now);
        records_.change(slot, [now](link_record& rec) {
            rec.status = link_status::idle;
            rec.held = false;
            rec.idle_since = now;
        });
        return true;
    }
    /// The link in `slot` closed; `cause` says why a proven one did (a connecting one failed),
    /// `detail` why a connect failed.
    void link_closed(link_slot slot, close_cause cause, std::string_view detail, pool_time now,
                     actions& out);

    // ---- time and shutdown ---------------------------------------------------------------
    /// Waiter deadlines, connect retries after backoff, recycling and lease warnings due by `now`.
    void tick(pool_time now, actions& out);
    /// When tick() must run next; time_point::max() when nothing is scheduled.
    pool_time next_wake() const noexcept;
    /// True once after an event that may have made next_wake() earlier (a waiter queued, a
    /// retry scheduled): the driver re-arms its timer only then.
    bool take_wake_changed() noexcept { return std::exchange(wake_changed_, false); }
    /// Every open or opening link is to be replaced as if past max_lifetime (TLS reload with
    /// rotate_links): idle ones now, make-before-break; leased ones when they return.
    void expire_all(pool_time now, actions& out);
    /// New and waiting acquires fail with pool_closed; every link is retired.
    void shutdown(actions& out);

    // ---- reading -------------------------------------------------------------------------
    bool closed() const noexcept { return closed_; }
    /// Shut down and every link gone.
    bool finished() const noexcept { return closed_ && records_.gauges().total == 0; }
    const link_records& records() const noexcept { return records_; }
    const link_gauges& gauges() const noexcept { return records_.gauges(); }
    const backend_set& backends() const noexcept { return backends_; }
    const waiter_queue& waiters() const noexcept { return waiters_; }
    const pool_core_counters& counters() const noexcept { return counters_; }
    const pool_limits& limits() const noexcept { return limits_; }
    backend_state backend_state_of(backend_id b) const noexcept
    {
        const backend_gauges& g = records_.backend(b);
        return backends_[b].state(g.links, g.connecting);
    }
    /// A new link may be opened to backend `b` now (its backoff, and its probe in flight).
    bool backend_accepts_connect(backend_id b, pool_time now) const noexcept
    {
        return backends_[b].accepts_connect(now, records_.backend(b).connecting);
    }

private:
    void fill(pool_time now, actions& out);
    bool start_connect(pool_time now, actions& out);
    void start_replacement(link_slot slot, pool_time now, actions& out);
    void hand_out(link_slot slot, pool_time now, actions& out);
    void lease(link_slot slot, pool_time now, const std::source_location& site)
    {
        records_.change(slot, [&](link_record& r) {
            r.status = link_status::leased;
            r.held = true;
            r.warned = false;
            r.leased_at = now;
            r.site = site;
        });
        if (on_probation_ > 0) // rare: only after failures or early goaways
            trust_if_old(slot, now);
        ++counters_.acquires;
    }
    void trust_if_old(link_slot slot, pool_time now) noexcept;
    void count_hold(const link_record& r, pool_time now) noexcept
    {
        // The lease may have been stamped with a precise clock and the return with a coarse
        // one that lags: never a negative hold.
        const auto held = std::max(now - r.leased_at, pool_duration::zero());
        ++counters_.leases_returned;
        counters_.hold_total += held;
        counters_.hold_max = std::max(counters_.hold_max, held);
    }
    void retire(link_slot slot, errc reason, actions& out);
    void fail_all_waiters(errc code, actions& out);
    void fail_if_nothing_can_serve(pool_time now, actions& out);
    void record_connect_failure(const link_record& r, std::string_view detail, pool_time now,
                                actions& out);
    void advance_backoff(const link_record& r, pool_time now, actions& out);
    void judge_goaway(const link_record& r, bool served, pool_time now, actions& out);
    void trust(backend& b) noexcept;
    void put_on_probation(backend& b) noexcept;
    void maintain(pool_time now, actions& out);
    void warn_long_leases(pool_time now, actions& out);
    void recycle_idle_links(pool_time now, actions& out);

    pool_limits limits_;
    link_records records_;
    waiter_queue waiters_;
    backend_set backends_;
    pool_core_counters counters_;
    jitter_rng rng_;
    std::uint64_t next_link_id_ = 1;
    pool_time retry_wake_ = pool_time::max(); ///< fill() was held back by backoff until then
    pool_time next_maintenance_;
    bool closed_ = false;
    std::size_t on_probation_ = 0; ///< backends with failures or early goaways to forgive
    bool wake_changed_ = true;     // the first maintenance is due: the driver arms its timer
};

} // namespace tether::sansio
