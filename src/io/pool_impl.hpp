#pragma once

// The pool: endpoints with their backoff, the set of links, the idle list (most recently used
// first), FIFO waiters with direct hand-off, sizing and background refill, shutdown.
//
// Threading: the shared state lives under one mutex held only for short, non-blocking
// sections (never while running a user handler or an observer). The acquire fast path with an
// idle link is: lock, pop, unlock — no strand round-trip. Timers (waiter deadlines, backoff
// retries) belong to the pool strand.

#include "io/adaptive_mutex.hpp"
#include "io/completion.hpp"
#include "io/health_registry.hpp"
#include "sansio/backoff.hpp"

#include <tether/config.hpp>
#include <tether/lease.hpp>
#include <tether/stats.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tether::detail {

class link;

/// Counters updated from any thread without the pool lock.
struct pool_counters {
    std::atomic<std::uint64_t> acquire_timeouts{0}, connects{0}, connect_failures{0},
        pings_sent{0}, pongs_received{0}, dead_links_detected{0}, requests{0},
        request_timeouts{0}, protocol_errors{0}, late_responses{0}, unknown_messages{0},
        notifies_received{0}, notifies_dropped{0}, goaways{0}, server_errors{0},
        connections_lost{0};
};

struct pool_anchor {
    std::shared_ptr<pool_impl> impl;
    ~pool_anchor();
};

// The pool's record of one link, guarded by the pool mutex; the link points back to it.
struct link_entry {
    std::shared_ptr<detail::link> ptr;
    std::uint64_t epoch = 0; // endpoint failure_epoch when the connect started
    std::chrono::steady_clock::time_point retire_at{}; // created + jittered max_lifetime
    std::chrono::steady_clock::time_point idle_since{};
    std::chrono::steady_clock::duration idle_limit{}; // jittered idle_timeout
    bool ready = false;
    bool draining = false;
    bool leased = false;
    bool replacing = false; // past max_lifetime; retired once a replacement is proven
    bool warned = false;    // this lease was reported as held too long
};

class pool_impl : public std::enable_shared_from_this<pool_impl> {
public:
    using executor_type = boost::asio::io_context::executor_type;
    using work_guard = boost::asio::executor_work_guard<executor_type>;
    using acquire_op = pending_op<tether::lease>;

    explicit pool_impl(pool_config config);
    ~pool_impl();

    /// Starts the io threads and the first min_connections connects.
    void start();

    const pool_config& config() const noexcept { return config_; }
    /// Random per pool: mixed into each link's ping-jitter seed, so link N of one pool (or
    /// process) does not ping in step with link N of another.
    std::uint64_t link_seed() const noexcept { return link_seed_; }
    pool_counters& counters() noexcept { return counters_; }
    boost::asio::io_context& io_context() noexcept { return ioc_; }
    bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
    bool running_in_io_thread() const noexcept;

    // ---- acquire -------------------------------------------------------------------------
    /// Fast path: an idle usable link, leased to `site`; null when none.
    std::shared_ptr<link> try_acquire_idle(const std::source_location& site);
    void async_acquire(std::shared_ptr<pool_anchor> anchor, acquire_op op,
                       const std::source_location& site);
    /// Why an acquire fails right now, for what() and diagnostics().
    std::string diagnostics() const;

    // ---- from links (their strands) ----------------------------------------------------------
    void on_link_ready(const std::shared_ptr<link>& l);
    void on_link_draining(const std::shared_ptr<link>& l);
    void on_link_closed(const std::shared_ptr<link>& l, boost::system::error_code reason,
                        const std::string& detail, bool was_ready);
    /// The last hold of a leased link was dropped.
    void on_link_returned(link& l, std::shared_ptr<link> donor = nullptr);
    void deliver_notify(nlohmann::json body);
    pool_observer* observer() const noexcept { return config_.observer.get(); }
    /// Proven links enrolled for the pool's health tick (pings and pong deadlines).
    health_registry<link>& health() noexcept { return health_; }
    const endpoint& endpoint_at(std::size_t index) const { return config_.endpoints[index]; }

    // ---- facade --------------------------------------------------------------------------
    pool_stats stats() const;
    bool wait_ready(std::chrono::milliseconds timeout);
    void shutdown(std::chrono::milliseconds drain);

private:
    struct waiter {
        std::uint64_t id;
        std::shared_ptr<pool_anchor> anchor;
        acquire_op op;
        std::source_location site;
        std::chrono::steady_clock::time_point deadline;
    };
    struct endpoint_state {
        explicit endpoint_state(sansio::backoff_schedule b) : backoff(b) {}
        sansio::backoff_schedule backoff;
        std::chrono::steady_clock::time_point retry_at{};
        std::size_t links = 0;
        std::size_t connecting = 0;
        std::uint64_t connects = 0;
        std::uint64_t connect_failures = 0;
        std::uint64_t failure_epoch = 0; // failures of concurrent connects advance backoff once
        std::string last_error;
    };
    struct deferred_completions; // completions collected under the lock, posted after it

    // All *_locked functions need mutex_ held.
    std::shared_ptr<link> pop_idle_locked(const std::source_location& site);
    void mark_leased_locked(link_entry& entry, const std::source_location& site,
                            std::chrono::steady_clock::time_point now);
    void hand_out_locked(link_entry& entry, std::chrono::steady_clock::time_point now,
                         deferred_completions& out, std::shared_ptr<link> donor = nullptr);
    void fill_locked();
    bool start_connect_locked();
    void fail_waiters_locked(boost::system::error_code ec, deferred_completions& out);
    bool nothing_can_serve_locked() const;
    std::string diagnostics_locked() const;
    void schedule_retry_locked(std::chrono::steady_clock::time_point at);
    void arm_waiter_timer();
    void arm_maintenance_timer();
    void on_maintenance_timer();
    void arm_health_timer();
    void on_health_tick();
    /// Takes an idle link out of service (it closes at once: nothing is outstanding).
    void retire_locked(link_entry& entry, std::vector<std::shared_ptr<link>>& retired);
    void mark_replacing_locked(link_entry& entry);
    void on_waiter_timer();
    void on_retry_timer();
    void cancel_waiter(std::uint64_t id);
    void begin_shutdown(std::chrono::milliseconds drain);
    void finish();
    void stop_threads();
    void run_stragglers();

    const pool_config config_;
    pool_counters counters_;
    mutable boost::asio::io_context ioc_;
    std::optional<work_guard> work_;
    std::vector<std::thread> threads_;
    boost::asio::strand<executor_type> strand_;        // pool timers
    boost::asio::strand<executor_type> notify_strand_; // on_notify calls, one at a time
    boost::asio::steady_timer waiter_timer_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer drain_timer_;
    boost::asio::steady_timer maintenance_timer_;
    boost::asio::steady_timer health_timer_;
    health_registry<link> health_;
    std::vector<std::shared_ptr<link>> health_due_; // pool strand only: scratch of a tick
    std::chrono::steady_clock::time_point retry_armed_at_ = std::chrono::steady_clock::time_point::max();
    std::atomic<std::size_t> queued_notifies_{0};
    std::atomic<bool> closed_{false};

    mutable adaptive_mutex mutex_;
    std::condition_variable_any state_changed_; // ready count, links gone
    std::unordered_map<link*, link_entry> links_;
    std::vector<std::shared_ptr<link>> idle_; // most recently used at the back
    std::list<waiter> waiters_;
    std::vector<endpoint_state> endpoints_;
    std::size_t next_endpoint_ = 0;
    std::size_t connecting_ = 0;
    std::size_t ready_ = 0;     // proven, not draining
    std::size_t leased_ = 0;
    std::size_t draining_ = 0;
    std::size_t replacing_ = 0; // past max_lifetime, waiting for a proven replacement
    std::uint64_t next_link_id_ = 1;
    std::uint64_t next_waiter_id_ = 1;
    // lease hold times, under mutex_
    std::uint64_t leases_returned_ = 0;
    std::chrono::steady_clock::duration hold_total_{};
    std::chrono::steady_clock::duration hold_max_{};
    std::uint64_t leases_held_too_long_ = 0;
    std::uint64_t acquires_ = 0;
    bool finish_posted_ = false;
    bool finished_ = false; // pool strand only: timers must not be re-armed
    sansio::jitter_rng rng_;
    std::uint64_t link_seed_ = 0;

    std::mutex shutdown_mutex_;
    bool shutdown_started_ = false;
    bool joiner_claimed_ = false;
    bool shutdown_done_ = false;
    std::condition_variable shutdown_cv_;
};

} // namespace tether::detail
