#pragma once

// The pool driver: feeds the sans-io pool core (sansio/pool_core.hpp) under one short lock and
// performs the actions it returns once the lock is released. It owns the link objects (one
// per core slot), the acquire operations of waiting callers, and the pool strand's timers:
// the core's wake-up (waiter deadlines, backoff retries, recycling), the health tick and the
// drain deadline.
//
// Threading: the lock guards the core, the slot table and the waiting operations, and is held
// only for short, non-blocking sections (never while running a user handler, an observer, or
// a link's code). The acquire fast path with an idle link is: lock, take the most recently
// used idle slot, unlock: no strand round-trip. io threads and the shutdown handshake are the
// io_runner's; counters updated by links are atomics of their own (pool_counters).

#include "io/adaptive_mutex.hpp"
#include "io/coarse_clock.hpp"
#include "io/completion.hpp"
#include "io/flight_recorder.hpp"
#include "io/health_registry.hpp"
#include "io/io_runner.hpp"
#include "io/io_strand.hpp"
#include "io/lease_cache.hpp"
#include "io/link_owner.hpp"
#include "io/notify_dispatcher.hpp"
#include "io/pool_counters.hpp"
#include "io/pool_log.hpp"
#include "io/tls_context.hpp"
#include "metrics_model.hpp"
#include "sansio/pool_core.hpp"

#include <tether/config.hpp>
#include <tether/error.hpp>
#include <tether/lease.hpp>
#include <tether/stats.hpp>

#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <iosfwd>
#include <memory>
#include <source_location>
#include <string>
#include <unordered_map>
#include <vector>

namespace tether::detail {

class link;
class pool_impl;

/// What every pool handle and lease refers to: its destructor (the last reference gone)
/// shuts the pool down. `handles` counts the tether::pool handles among the references: at
/// zero, no reference may stay parked in the lease cache (pool_impl::on_last_handle_gone).
struct pool_anchor {
    std::shared_ptr<pool_impl> impl;
    std::atomic<std::size_t> handles{0};
    ~pool_anchor();
};

/// Why a blocking call on the pool of `anchor` cannot go ahead: pool_closed for an empty
/// handle, would_block_io_thread on one of the pool's own io threads; empty when it can.
/// Period of the pool's health tick for `c` (pool_health.cpp).
std::chrono::steady_clock::duration health_tick_period(const pool_config& c);

inline std::error_code blocking_call_refusal(const std::shared_ptr<pool_anchor>& anchor);

/// The seams a test may replace: the clock (and timers) and the links' transport.
struct pool_seams {
    clock_service* clock = nullptr;   ///< default: steady_clock_service()
    transport_factory make_transport; ///< default: make_tcp_transport
};

class pool_impl final : public link_owner, public std::enable_shared_from_this<pool_impl> {
public:
    using acquire_op = pending_op<tether::lease>;

    explicit pool_impl(pool_config config) : pool_impl(std::move(config), pool_seams{}) {}
    pool_impl(pool_config config, pool_seams seams);
    ~pool_impl();

    /// Starts the io threads, the first min_connections connects and the pool's timers.
    void start();

    const pool_config& config() const noexcept { return config_; }
    pool_counters& counters() noexcept { return counters_; }
    const io_runner& io() const noexcept { return runner_; }
    /// The own io_context (driver tests poll it, with io_threads 0); null on an external one.
    boost::asio::io_context* own_io_context() const noexcept { return runner_.own_context(); }
    bool closed() const noexcept override { return closed_.load(std::memory_order_acquire); }
    bool running_in_io_thread() const noexcept { return runner_.running_in_io_thread(); }

    // ---- acquire -------------------------------------------------------------------------
    /// An idle link leased by the fast path, with the pool reference for its lease when the
    /// lease cache kept one (else null: the caller's handle gives one).
    struct idle_lease {
        std::shared_ptr<detail::link> link;
        std::shared_ptr<pool_anchor> anchor;
    };
    /// Fast path: an idle usable link, leased to `site`; null when none.
    idle_lease try_acquire_idle(const std::source_location& site);
    /// The last tether::pool handle is gone (leases may remain): the lease cache keeps no
    /// pool reference from now on (a parked one would keep the pool from shutting down) and
    /// gives back its parked links. Call while still holding a reference.
    void on_last_handle_gone();
    void async_acquire(std::shared_ptr<pool_anchor> anchor, acquire_op op,
                       const std::source_location& site);

    // ---- link events (link_owner) ---------------------------------------------------------
    void on_link_ready(const std::shared_ptr<link>& l) override;
    void on_link_draining(const std::shared_ptr<link>& l) override;
    void on_link_closed(const std::shared_ptr<link>& l, boost::system::error_code reason,
                        const std::string& detail) override;
    void on_link_returned(link& l, std::shared_ptr<link> donor,
                          std::shared_ptr<pool_anchor>* anchor) override;
    void deliver_notify(nlohmann::json body) override;
    std::chrono::milliseconds close_grace() const noexcept override;

    // ---- facade (pool_report.cpp) ---------------------------------------------------------
    // Reports settle the per-thread cache first (parked links count as idle, cached leases
    // from their start), so they change the core's records, never what a caller sees.
    pool_stats stats();
    /// What the metrics say of each backend (pool_metrics.cpp).
    std::vector<detail::backend_metrics> backend_metrics();
    /// The pool's state, then each endpoint's recent link events (newest first).
    std::string diagnostics();
    /// Why an acquire fails right now, on one line, for what(): the state, and per endpoint
    /// its most telling recent event (a failed connect, a dead or lost link).
    std::string failure_report();
    bool wait_ready(std::chrono::milliseconds timeout);
    void shutdown(std::chrono::milliseconds drain);
    /// New links use `options` from now on; with rotate_links, open links are replaced too.
    /// config_error (and nothing changed) when the options are bad or the pool has no TLS.
    void reload_tls(const tls_options& options, tls_reload mode);
    /// The TLS options in force (reload_tls replaces them); null in plaintext.
    std::shared_ptr<const tls_client_context> tls_in_force() const
    {
        return tls_ ? tls_->current() : nullptr;
    }

private:
    struct waiting_acquire {
        std::shared_ptr<pool_anchor> anchor;
        acquire_op op;
        clock_time queued_at{}; ///< for the acquire_wait histogram
    };
    /// A link under its core slot. `spare`: a second reference kept while the link is idle,
    /// moved into the lease that takes it and given back by the lease that returns it.
    struct slot_entry {
        std::shared_ptr<detail::link> owned;
        std::shared_ptr<detail::link> spare;
    };
    class deferred; // what the core asked for, performed once the lock is released

    struct translator;

    // All *_locked functions need mutex_ held.
    /// Turns the core's actions into work for `out`; `closed_reason`: the reason of the link
    /// close being reported, told to the observer of a failed connect.
    void translate_locked(deferred& out, const boost::system::error_code* closed_reason = nullptr)
    {
        if (!actions_.empty())
            translate_actions_locked(out, closed_reason);
        if (core_.take_wake_changed())
            note_wake_locked();
        if (!parking_open_.load(std::memory_order_relaxed) && core_.waiters().empty() && !closed())
            parking_open_.store(true, std::memory_order_seq_cst); // nobody waits any more
    }
    void translate_actions_locked(deferred& out, const boost::system::error_code* closed_reason);
    /// Records and logs that the backend of `slot` has a proven link again after failures.
    void note_recovery_locked(std::uint32_t slot, unsigned failures_before, deferred& out);
    /// The state of the pool on one line; per endpoint its last error, or with `telling` its
    /// most telling recent event.
    void write_state_locked(std::ostream& os, clock_time now, bool telling) const;
    waiting_acquire take_waiter_locked(sansio::waiter_id id);
    void settle_spare_locked(std::uint32_t slot, deferred& out);
    std::shared_ptr<link> lease_idle_locked(const std::source_location& site,
                                            std::chrono::steady_clock::time_point now,
                                            deferred& out, bool reclaimed = false);
    /// Ends the lease of `l` (from on_link_returned, or a link taken out of the cache): to
    /// the idle stack, a waiter, or retirement. `count`: the core counts the lease's return
    /// (false when the cache counted it, or there was no lease).
    void return_locked(link& l, std::shared_ptr<link> donor, clock_time returned_at, bool count,
                       deferred& out);
    /// The calling thread's parked link, leased from the cache, with the pool reference its
    /// shard kept; a null link when none is usable.
    idle_lease take_parked();
    /// Every parked link back to the core (idle, or handed to a waiter).
    void reclaim_parked_locked(deferred& out);
    /// The pool references the lease cache kept, given back by seal_cache_locked().
    using kept_anchors =
        std::array<std::shared_ptr<pool_anchor>, lease_cache<link, pool_anchor>::shard_count>;
    /// Ends parking for good and moves the references the cache kept into `kept`, for the
    /// caller to drop after the lock while it holds a reference of its own (then none of
    /// them is the last).
    void seal_cache_locked(kept_anchors& kept);
    /// reclaim_parked_locked(), and the core's lease records brought up to date with the
    /// leases the cache served.
    void settle_cache_locked(deferred& out);
    slot_entry* entry_of_locked(const link& l);
    void note_wake_locked();
    void arm_wake_timer(std::chrono::steady_clock::time_point at);
    void on_wake_timer();
    clock_time now() const noexcept { return clock_.now(); }
    /// The fast paths' clock: the coarse clock itself when the clock is the real one (no
    /// virtual call on every acquire and release).
    clock_time coarse_now() const noexcept
    {
        return real_clock_ ? detail::coarse_now() : clock_.coarse_now();
    }
    void arm_health_timer();
    void on_health_tick();
    void cancel_waiter(sansio::waiter_id id);
    void begin_shutdown(std::chrono::milliseconds drain);
    void finish();
    // pool_transport.cpp
    static std::shared_ptr<tls_context_source> tls_source_for(const pool_config& c);
    static transport_factory transport_for(transport_factory given,
                                           const std::shared_ptr<tls_context_source>& tls);

    const pool_config config_;
    std::shared_ptr<tls_context_source> tls_; // the context new links use; null in plaintext
    pool_counters counters_;
    pool_log log_;           // before the io threads, which log what escapes a handler
    flight_recorder events_; // recent link events per endpoint
    io_runner runner_;       // before everything that uses its io_context, so destroyed after them
    link_context link_context_;
    io_strand strand_; // pool timers
    clock_service& clock_;
    const bool real_clock_;                        // clock_ is steady_clock_service()
    std::unique_ptr<deadline_timer> wake_timer_;   // the core's next_wake()
    std::unique_ptr<deadline_timer> drain_timer_;  // shutdown: force-close what is left
    std::unique_ptr<deadline_timer> health_timer_; // the health tick
    health_registry<link> health_;
    std::shared_ptr<idle_watch> watch_; // idle links' health loop; null on an app's executor
    std::vector<std::shared_ptr<link>> health_due_; // pool strand only: scratch of a tick
    notify_dispatcher notifies_;
    std::atomic<bool> closed_{false};
    /// The shutdown's drain deadline (clock_ ticks since its epoch); max until shutdown.
    std::atomic<clock_time::rep> drain_deadline_{clock_time::max().time_since_epoch().count()};
    bool finished_ = false; // pool strand only: timers must not be re-armed

    // Released links parked per thread, with pool references (see lease_cache.hpp).
    lease_cache<link, pool_anchor> cache_;
    /// False while callers wait (releases then go through the core, first come first
    /// served) and after shutdown.
    std::atomic<bool> parking_open_{true};

    mutable adaptive_mutex mutex_;
    std::condition_variable_any state_changed_; // ready count, links gone
    sansio::pool_core core_;
    sansio::pool_core::actions actions_; // scratch: the core's answer to one event
    std::vector<slot_entry> slots_;
    // Under the lock, where they are recorded: acquires that queued (the others count as no
    // wait at all, added when reported) and lease hold times.
    histogram waited_acquires_;
    histogram lease_use_;
    std::unordered_map<sansio::waiter_id, waiting_acquire> waiting_;
    std::chrono::steady_clock::time_point wake_armed_at_ =
        std::chrono::steady_clock::time_point::max();
};

/// Period of the pool's health tick for `c` (pool_health.cpp).
std::chrono::steady_clock::duration health_tick_period(const pool_config& c);

inline std::error_code blocking_call_refusal(const std::shared_ptr<pool_anchor>& anchor)
{
    if (!anchor)
        return errc::pool_closed;
    if (anchor->impl->running_in_io_thread())
        return errc::would_block_io_thread;
    return {};
}

} // namespace tether::detail
