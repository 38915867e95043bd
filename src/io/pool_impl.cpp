#include "io/pool_impl.hpp"

#include "io/coarse_clock.hpp"
#include "io/lease_access.hpp"
#include "io/link.hpp"

#include <tether/error.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>

namespace tether::detail {
namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

// Completions gathered while the lock is held and posted once it is released, so no handler
// and no observer ever runs under the pool lock.
struct pool_impl::deferred_completions {
    struct item {
        acquire_op op;
        error_code ec;
        std::optional<tether::lease> lease;
    };
    std::vector<item> items;
    // Anchors of finished waiters: one may be the pool's last, whose destructor shuts the pool
    // down and takes the pool lock, so they are dropped only after the lock is released.
    std::vector<std::shared_ptr<pool_anchor>> anchors;

    void add(acquire_op&& op, error_code ec) { items.push_back({std::move(op), ec, std::nullopt}); }
    void fail(waiter& w, error_code ec)
    {
        anchors.push_back(std::move(w.anchor));
        add(std::move(w.op), ec);
    }
    void add(acquire_op&& op, tether::lease&& l)
    {
        items.push_back({std::move(op), {}, std::optional<tether::lease>(std::move(l))});
    }
    ~deferred_completions()
    {
        if (items.empty() && anchors.empty())
            return; // the common case on a lease's return
        for (auto& i : items)
            std::move(i.op).complete(i.ec, i.lease ? std::move(*i.lease) : tether::lease{});
        items.clear();
        anchors.clear();
    }
};

pool_anchor::~pool_anchor()
{
    if (impl)
        impl->shutdown(impl->config().drain_timeout);
}

pool_impl::pool_impl(pool_config config)
    : config_(std::move(config)), ioc_(static_cast<int>(config_.io_threads)),
      work_(asio::make_work_guard(ioc_)), strand_(asio::make_strand(ioc_)),
      notify_strand_(asio::make_strand(ioc_)), waiter_timer_(strand_), retry_timer_(strand_),
      drain_timer_(strand_), maintenance_timer_(strand_), health_timer_(strand_),
      rng_(std::random_device{}())
{
    std::random_device seed;
    link_seed_ = (std::uint64_t{seed()} << 32) | seed();
    endpoints_.reserve(config_.endpoints.size());
    for (std::size_t i = 0; i < config_.endpoints.size(); ++i) {
        sansio::backoff_params p{config_.backoff.initial, config_.backoff.multiplier,
                                 config_.backoff.max, config_.backoff.jitter};
        const std::uint64_t s = (std::uint64_t{seed()} << 32) ^ seed();
        endpoints_.emplace_back(sansio::backoff_schedule(p, s));
    }
    // Start at a random endpoint so a fleet of clients does not all hit the first one.
    next_endpoint_ = static_cast<std::size_t>(rng_.next() % config_.endpoints.size());
}

pool_impl::~pool_impl()
{
    stop_threads();
}

void pool_impl::start()
{
    for (unsigned i = 0; i < config_.io_threads; ++i) {
        threads_.emplace_back([self = shared_from_this()] {
            for (;;) {
                try {
                    self->ioc_.run();
                    return;
                } catch (const std::exception& e) {
                    // A user handler threw: report and keep the io thread serving.
                    std::fprintf(stderr, "tether: exception escaped a handler: %s\n", e.what());
                } catch (...) {
                    std::fprintf(stderr, "tether: exception escaped a handler\n");
                }
            }
        });
    }
    {
        std::lock_guard lock(mutex_);
        fill_locked();
    }
    asio::post(strand_, [self = shared_from_this()] {
        self->arm_maintenance_timer();
        self->arm_health_timer();
    });
}

bool pool_impl::running_in_io_thread() const noexcept
{
    return ioc_.get_executor().running_in_this_thread();
}

// ---- acquire ------------------------------------------------------------------------------------

std::shared_ptr<link> pool_impl::try_acquire_idle(const std::source_location& site)
{
    std::lock_guard lock(mutex_);
    return closed() ? nullptr : pop_idle_locked(site);
}

// The most recently used idle link, leased to `site`; null when none is usable.
std::shared_ptr<link> pool_impl::pop_idle_locked(const std::source_location& site)
{
    while (!idle_.empty()) {
        std::shared_ptr<link> l = std::move(idle_.back());
        idle_.pop_back();
        if (l->pool_entry == nullptr || !l->usable())
            continue; // closing right now; its strand will tidy up
        mark_leased_locked(*l->pool_entry, site, coarse_now());
        return l;
    }
    return nullptr;
}

void pool_impl::mark_leased_locked(link_entry& entry, const std::source_location& site,
                                   clock::time_point now)
{
    entry.leased = true;
    entry.warned = false;
    ++leased_;
    entry.ptr->lease_to(site, now);
    ++acquires_; // under the lock already: no atomic read-modify-write on the fast path
}

void pool_impl::async_acquire(std::shared_ptr<pool_anchor> anchor, acquire_op op,
                              const std::source_location& site)
{
    deferred_completions out;
    bool arm_timer = false;
    std::optional<work_guard> keep_running; // until the post below is queued
    {
        std::lock_guard lock(mutex_);
        if (closed()) {
            out.add(std::move(op), make_error_code(errc::pool_closed));
            return;
        }
        if (auto l = pop_idle_locked(site)) {
            out.add(std::move(op), lease_access::make(std::move(anchor), std::move(l)));
            return;
        }
        if (waiters_.size() >= config_.max_waiters) {
            out.add(std::move(op), make_error_code(errc::too_many_waiters));
            return;
        }
        const std::uint64_t id = next_waiter_id_++;
        auto slot = op.cancellation_slot();
        if (slot.is_connected()) {
            slot.assign([weak = weak_from_this(), id](asio::cancellation_type) {
                if (auto self = weak.lock())
                    self->cancel_waiter(id);
            });
        }
        waiters_.push_back(waiter{id, std::move(anchor), std::move(op), site,
                                  clock::now() + config_.acquire_timeout});
        arm_timer = waiters_.size() == 1;
        if (arm_timer)
            keep_running.emplace(ioc_.get_executor());
        fill_locked();
        if (nothing_can_serve_locked())
            fail_waiters_locked(make_error_code(errc::no_endpoint_available), out);
    }
    if (arm_timer)
        asio::post(strand_, [self = shared_from_this()] { self->arm_waiter_timer(); });
}

void pool_impl::cancel_waiter(std::uint64_t id)
{
    deferred_completions out;
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->id == id) {
            out.fail(*it, asio::error::operation_aborted);
            waiters_.erase(it);
            return;
        }
    }
}

void pool_impl::arm_waiter_timer()
{
    if (finished_)
        return;
    clock::time_point due;
    {
        std::lock_guard lock(mutex_);
        if (waiters_.empty())
            return;
        due = waiters_.front().deadline; // FIFO with one timeout: the front expires first
    }
    waiter_timer_.expires_at(due);
    waiter_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec)
            self->on_waiter_timer();
    });
}

void pool_impl::on_waiter_timer()
{
    {
        deferred_completions out;
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        while (!waiters_.empty() && waiters_.front().deadline <= now) {
            counters_.acquire_timeouts.fetch_add(1, std::memory_order_relaxed);
            out.fail(waiters_.front(), make_error_code(errc::acquire_timeout));
            waiters_.pop_front();
        }
    }
    arm_waiter_timer();
}

void pool_impl::fail_waiters_locked(error_code ec, deferred_completions& out)
{
    while (!waiters_.empty()) {
        out.fail(waiters_.front(), ec);
        waiters_.pop_front();
    }
}

// No idle link, nothing connecting, nothing leased that could come back, and every endpoint
// is backing off after failures: waiting could only end in a timeout.
bool pool_impl::nothing_can_serve_locked() const
{
    if (!idle_.empty() || connecting_ > 0 || leased_ > 0)
        return false;
    const auto now = clock::now();
    return std::all_of(endpoints_.begin(), endpoints_.end(), [&](const endpoint_state& e) {
        return e.backoff.failures() > 0 && e.retry_at > now;
    });
}

// ---- sizing -------------------------------------------------------------------------------------

void pool_impl::fill_locked()
{
    if (closed())
        return;
    const std::size_t live = links_.size() - draining_; // connecting + ready
    std::size_t wanted = 0;
    if (live < config_.min_connections)
        wanted = config_.min_connections - live;
    if (waiters_.size() > connecting_)
        wanted = std::max(wanted, waiters_.size() - connecting_);
    wanted = std::min(wanted, config_.max_connections > live ? config_.max_connections - live : 0);
    while (wanted > 0) {
        if (!start_connect_locked())
            break;
        --wanted;
    }
    if (wanted > 0) {
        // Blocked by backoff (or the connect cap): come back when the earliest endpoint may retry.
        auto earliest = clock::time_point::max();
        for (const auto& e : endpoints_)
            earliest = std::min(earliest, e.retry_at);
        if (earliest != clock::time_point::max() && earliest > clock::now())
            schedule_retry_locked(earliest);
    }
}

bool pool_impl::start_connect_locked()
{
    // Every connect, whatever asks for it (refill, waiters, goaway, recycling), counts against
    // max_concurrent_connects.
    if (connecting_ >= config_.max_concurrent_connects)
        return false;
    const auto now = clock::now();
    const std::size_t n = endpoints_.size();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t index = (next_endpoint_ + k) % n;
        endpoint_state& e = endpoints_[index];
        if (e.retry_at > now)
            continue;
        next_endpoint_ = (index + 1) % n;
        auto l = std::make_shared<link>(shared_from_this(), next_link_id_++, index);
        link_entry entry;
        entry.ptr = l;
        entry.epoch = e.failure_epoch;
        // Each link's lifetime and idle limit are shortened by up to 10 %, so links opened (or
        // left idle) together are not all retired together.
        entry.retire_at = now + std::chrono::duration_cast<clock::duration>(
                                    config_.max_lifetime * (1.0 - 0.1 * rng_.unit()));
        entry.idle_limit = std::chrono::duration_cast<clock::duration>(
            config_.idle_timeout * (1.0 - 0.1 * rng_.unit()));
        l->pool_entry = &links_.emplace(l.get(), std::move(entry)).first->second;
        ++connecting_;
        ++e.connecting;
        ++e.links;
        l->start();
        return true;
    }
    return false;
}

void pool_impl::schedule_retry_locked(clock::time_point at)
{
    if (at >= retry_armed_at_)
        return;
    retry_armed_at_ = at;
    asio::post(strand_, [self = shared_from_this(), at] {
        if (self->finished_)
            return;
        self->retry_timer_.expires_at(at);
        self->retry_timer_.async_wait([self](const error_code& ec) {
            if (!ec)
                self->on_retry_timer();
        });
    });
}

void pool_impl::on_retry_timer()
{
    std::lock_guard lock(mutex_);
    retry_armed_at_ = clock::time_point::max();
    fill_locked();
}

// ---- link events ----------------------------------------------------------------------------------

void pool_impl::hand_out_locked(link_entry& entry, clock::time_point now,
                                deferred_completions& out, std::shared_ptr<link> donor)
{
    if (!donor)
        donor = entry.ptr;
    if (!waiters_.empty()) {
        // Direct hand-off to the oldest waiter: no barging by later callers.
        waiter w = std::move(waiters_.front());
        waiters_.pop_front();
        mark_leased_locked(entry, w.site, now);
        out.add(std::move(w.op), lease_access::make(std::move(w.anchor), std::move(donor)));
        return;
    }
    entry.idle_since = now;
    idle_.push_back(std::move(donor));
}

void pool_impl::on_link_ready(const std::shared_ptr<link>& l)
{
    bool shut = false;
    std::vector<std::shared_ptr<link>> retired;
    {
        deferred_completions out;
        std::lock_guard lock(mutex_);
        auto it = links_.find(l.get());
        if (it == links_.end())
            return;
        it->second.ready = true;
        --connecting_;
        ++ready_;
        endpoint_state& e = endpoints_[l->endpoint_index()];
        --e.connecting;
        ++e.connects;
        e.backoff.reset();
        e.retry_at = {};
        shut = closed();
        if (!shut) {
            hand_out_locked(it->second, clock::now(), out);
            fill_locked(); // a connect slot is free again (max_concurrent_connects)
            // Make before break: a link past max_lifetime goes once its replacement is proven.
            // (Counted, so opening thousands of links does not scan them all each time.)
            for (auto it2 = links_.begin(); replacing_ > 0 && it2 != links_.end(); ++it2) {
                link_entry& entry = it2->second;
                if (entry.replacing && !entry.leased && !entry.draining) {
                    retire_locked(entry, retired);
                    break;
                }
            }
        }
    }
    state_changed_.notify_all();
    if (shut)
        l->drain(make_error_code(errc::pool_closed));
    for (auto& r : retired)
        r->drain(make_error_code(errc::connection_draining));
}

void pool_impl::on_link_draining(const std::shared_ptr<link>& l)
{
    std::lock_guard lock(mutex_);
    auto it = links_.find(l.get());
    if (it == links_.end() || it->second.draining)
        return;
    if (it->second.ready)
        --ready_;
    if (it->second.replacing)
        --replacing_;
    it->second.draining = true;
    ++draining_;
    std::erase(idle_, l);
    // Make before break: a replacement starts now, while the old link finishes what it owes.
    const std::size_t live = links_.size() - draining_;
    if (!closed() && live < config_.max_connections)
        start_connect_locked();
    fill_locked();
}

void pool_impl::on_link_returned(link& l, std::shared_ptr<link> donor)
{
    deferred_completions out;
    bool close_it = false;
    std::optional<work_guard> keep_running; // until the drain below is queued
    std::shared_ptr<link> closing;
    {
        std::lock_guard lock(mutex_);
        if (l.pool_entry == nullptr)
            return; // already closed; its lease was accounted for then
        link_entry& entry = *l.pool_entry;
        const auto now = coarse_now(); // one cheap clock read for the whole return
        if (entry.leased) {
            entry.leased = false;
            --leased_;
            // The lease may have been stamped with the precise clock (a link handed over as it
            // was proven) and the return with the coarse one, which lags by up to a tick.
            const auto held = std::max(now - l.leased_at(), clock::duration::zero());
            ++leases_returned_;
            hold_total_ += held;
            hold_max_ = std::max(hold_max_, held);
        }
        if (closed() || !entry.ready || entry.draining || !l.usable()) {
            close_it = true;
        } else if (const bool room = links_.size() - draining_ < config_.max_connections;
                   now >= entry.retire_at && ready_ > config_.min_connections &&
                   (entry.replacing || !room)) {
            // Past max_lifetime on its way back and surplus: its replacement was proven while
            // it was leased, or there is no room to make one first. Retire it, not reuse it.
            std::vector<std::shared_ptr<link>> retired;
            retire_locked(entry, retired);
            close_it = true;
            fill_locked();
        } else {
            if (now >= entry.retire_at && !entry.replacing && room)
                if (start_connect_locked()) // make before break
                    mark_replacing_locked(entry);
            hand_out_locked(entry, now, out, std::move(donor));
        }
        if (close_it)
            closing = entry.ptr;
        // The link may close and the pool finish before the drain below is queued: the io
        // threads must not run out of work (and exit) until it is.
        if (close_it)
            keep_running.emplace(ioc_.get_executor());
    }
    if (closing)
        closing->drain(make_error_code(closed() ? errc::pool_closed : errc::connection_draining));
}

void pool_impl::on_link_closed(const std::shared_ptr<link>& l, error_code reason,
                               const std::string& detail, bool was_ready)
{
    const endpoint& ep = config_.endpoints[l->endpoint_index()];
    std::optional<std::chrono::milliseconds> backoff_delay;
    unsigned failures = 0;
    bool connect_failed = false;
    {
        deferred_completions out;
        std::lock_guard lock(mutex_);
        auto it = links_.find(l.get());
        if (it == links_.end())
            return;
        link_entry& entry = it->second;
        endpoint_state& e = endpoints_[l->endpoint_index()];
        --e.links;
        const auto now = clock::now();
        if (!entry.ready && !entry.draining) {
            --connecting_;
            --e.connecting;
            if (!closed()) {
                connect_failed = true;
                counters_.connect_failures.fetch_add(1, std::memory_order_relaxed);
                ++e.connect_failures;
                e.last_error = detail.empty() ? reason.message() : detail;
                // Concurrent connects that failed together advance the backoff once.
                if (entry.epoch == e.failure_epoch) {
                    ++e.failure_epoch;
                    backoff_delay = e.backoff.on_failure();
                    failures = e.backoff.failures();
                    e.retry_at = now + *backoff_delay;
                }
            }
        } else {
            if (entry.draining)
                --draining_;
            else
                --ready_;
            if (was_ready && !closed() && reason != errc::connection_draining) {
                // A working link was lost: come back after a random part of the initial delay,
                // so many clients that lost one server do not reconnect in lockstep.
                e.retry_at = std::max(e.retry_at, now + e.backoff.first_reconnect_delay());
            }
        }
        if (entry.leased)
            --leased_;
        if (entry.replacing && !entry.draining)
            --replacing_;
        std::erase(idle_, l);
        l->pool_entry = nullptr;
        links_.erase(it);
        if (!closed()) {
            fill_locked();
            if (!waiters_.empty() && nothing_can_serve_locked())
                fail_waiters_locked(make_error_code(errc::no_endpoint_available), out);
        } else if (links_.empty() && !finish_posted_) {
            finish_posted_ = true;
            asio::post(strand_, [self = shared_from_this()] { self->finish(); });
        }
    }
    state_changed_.notify_all();
    if (auto* obs = observer()) {
        if (connect_failed)
            obs->on_connect_failed(ep, reason);
        if (backoff_delay)
            obs->on_backoff(ep, *backoff_delay, failures);
    }
}

void pool_impl::deliver_notify(nlohmann::json body)
{
    if (!config_.on_notify)
        return;
    if (queued_notifies_.fetch_add(1, std::memory_order_acq_rel) >= config_.max_queued_notifies) {
        queued_notifies_.fetch_sub(1, std::memory_order_acq_rel);
        counters_.notifies_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    asio::post(notify_strand_, [self = shared_from_this(), body = std::move(body)] {
        try {
            self->config_.on_notify(body);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tether: on_notify handler threw: %s\n", e.what());
        }
        self->queued_notifies_.fetch_sub(1, std::memory_order_acq_rel);
    });
}

// ---- recycling ------------------------------------------------------------------------------------

void pool_impl::arm_maintenance_timer()
{
    if (finished_)
        return;
    // Often enough to honour idle_timeout / max_lifetime within a fortieth of the shorter one:
    // a quarter of their 10 % jitter band, so the jitter is not rounded away by the tick.
    const auto period = std::clamp<clock::duration>(
        std::min({config_.idle_timeout, config_.max_lifetime, config_.lease_warn_threshold}) / 40,
        std::chrono::milliseconds(10), std::chrono::seconds(1));
    maintenance_timer_.expires_after(period);
    maintenance_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec)
            self->on_maintenance_timer();
    });
}

void pool_impl::mark_replacing_locked(link_entry& entry)
{
    if (!entry.replacing && !entry.draining)
        ++replacing_;
    entry.replacing = true;
}

void pool_impl::retire_locked(link_entry& entry, std::vector<std::shared_ptr<link>>& retired)
{
    if (entry.replacing && !entry.draining)
        --replacing_;
    std::erase(idle_, entry.ptr);
    if (entry.ready)
        --ready_;
    entry.draining = true;
    ++draining_;
    retired.push_back(entry.ptr);
}

void pool_impl::on_maintenance_timer()
{
    std::vector<std::shared_ptr<link>> retired;
    struct held_too_long {
        std::uint64_t link_id;
        std::chrono::milliseconds held;
        std::source_location site;
    };
    std::vector<held_too_long> leaks;
    {
        std::lock_guard lock(mutex_);
        if (closed())
            return;
        const auto now = clock::now();
        // Leases held past lease_warn_threshold: reported once each, with the acquire site.
        // (No scan of thousands of idle links when nothing is leased.)
        for (auto it = leased_ > 0 ? links_.begin() : links_.end(); it != links_.end(); ++it) {
            auto& [ptr, entry] = *it;
            if (!entry.leased || entry.warned)
                continue;
            const auto held = now - ptr->leased_at();
            if (held >= config_.lease_warn_threshold) {
                entry.warned = true;
                ++leases_held_too_long_;
                leaks.push_back({ptr->id(),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(held),
                                 ptr->lease_site()});
            }
        }
        // Oldest idle first; only idle links are ever retired, never a leased one. Capacity
        // counts proven links only, so a replacement still connecting does not make its
        // predecessor look surplus.
        for (std::size_t i = 0; i < idle_.size();) {
            auto it = links_.find(idle_[i].get());
            if (it == links_.end()) {
                ++i;
                continue;
            }
            link_entry& entry = it->second;
            const bool surplus = ready_ > config_.min_connections;
            if (surplus && now - entry.idle_since >= entry.idle_limit) {
                retire_locked(entry, retired); // erases idle_[i]
                continue;
            }
            if (now >= entry.retire_at) {
                const std::size_t live = links_.size() - draining_;
                if (entry.replacing && surplus) {
                    // Its replacement was proven while it was leased: it goes now (not
                    // another replacement).
                    retire_locked(entry, retired); // erases idle_[i]
                    continue;
                }
                if (live < config_.max_connections) {
                    // Make before break: open the replacement first; on_link_ready retires
                    // this one once the replacement is proven. Retried on a later tick if
                    // that connect failed or the connect cap held it back.
                    if ((!entry.replacing || connecting_ == 0) && start_connect_locked())
                        mark_replacing_locked(entry);
                } else if (surplus || connecting_ == 0) {
                    // No room for one more link (max_connections reached): retire, then
                    // refill. A surplus link leaves at least min_connections proven; at
                    // min == max there is no other way, the dip lasts one connect.
                    retire_locked(entry, retired); // erases idle_[i]
                    fill_locked();
                    continue;
                }
            }
            ++i;
        }
    }
    for (auto& r : retired)
        r->drain(make_error_code(errc::connection_draining));
    if (auto* obs = observer())
        for (const auto& leak : leaks)
            obs->on_lease_held_too_long(leak.link_id, leak.held, leak.site);
    arm_maintenance_timer();
}

// ---- health tick -----------------------------------------------------------------------------------

// Period of the health tick: pings go out and dead links are found within one period of their
// due time. A sixteenth of the shorter of ping_interval and ping_timeout keeps that well inside
// the ping jitter band (a tenth of the interval), capped so an idle pool wakes rarely.
static std::chrono::steady_clock::duration health_tick_period(const pool_config& c)
{
    return std::clamp<std::chrono::steady_clock::duration>(
        std::min(c.ping_interval, c.ping_timeout) / 16, std::chrono::milliseconds(1),
        std::chrono::milliseconds(250));
}

void pool_impl::arm_health_timer()
{
    if (finished_)
        return;
    health_timer_.expires_after(health_tick_period(config_));
    health_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec)
            self->on_health_tick();
    });
}

void pool_impl::on_health_tick()
{
    // Links due within half a period are looked at now: a ping goes a little early (well
    // within its jitter) rather than up to a whole period late.
    health_.collect_due(clock::now() + health_tick_period(config_) / 2, health_due_);
    for (auto& l : health_due_)
        link::post_health_check(std::move(l));
    health_due_.clear();
    arm_health_timer();
}

// ---- facade ----------------------------------------------------------------------------------------

pool_stats pool_impl::stats() const
{
    pool_stats s;
    {
        std::lock_guard lock(mutex_);
        s.total = links_.size();
        s.idle = idle_.size();
        s.leased = leased_;
        s.connecting = connecting_;
        s.waiting = waiters_.size();
        const auto now = clock::now();
        using std::chrono::duration_cast;
        s.leases_returned = leases_returned_;
        if (leases_returned_ > 0)
            s.lease_hold_mean = duration_cast<std::chrono::microseconds>(
                hold_total_ / static_cast<clock::rep>(leases_returned_));
        s.lease_hold_max = duration_cast<std::chrono::microseconds>(hold_max_);
        s.leases_held_too_long = leases_held_too_long_;
        s.acquires = acquires_;
        for (auto it = leased_ > 0 ? links_.begin() : links_.end(); it != links_.end(); ++it)
            if (it->second.leased)
                s.longest_current_hold = std::max(
                    s.longest_current_hold,
                    duration_cast<std::chrono::milliseconds>(now - it->first->leased_at()));
        for (std::size_t i = 0; i < endpoints_.size(); ++i) {
            const auto& e = endpoints_[i];
            endpoint_stats es;
            es.endpoint = config_.endpoints[i];
            es.links = e.links;
            es.connects = e.connects;
            es.connect_failures = e.connect_failures;
            es.consecutive_failures = e.backoff.failures();
            es.backing_off = e.backoff.failures() > 0 && e.retry_at > now;
            es.last_error = e.last_error;
            s.endpoints.push_back(std::move(es));
        }
    }
    const auto& c = counters_;
    auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    s.acquire_timeouts = get(c.acquire_timeouts);
    s.connects = get(c.connects);
    s.connect_failures = get(c.connect_failures);
    s.pings_sent = get(c.pings_sent);
    s.pongs_received = get(c.pongs_received);
    s.dead_links_detected = get(c.dead_links_detected);
    s.requests = get(c.requests);
    s.request_timeouts = get(c.request_timeouts);
    s.protocol_errors = get(c.protocol_errors);
    s.late_responses = get(c.late_responses);
    s.unknown_messages = get(c.unknown_messages);
    s.notifies_received = get(c.notifies_received);
    s.notifies_dropped = get(c.notifies_dropped);
    s.goaways = get(c.goaways);
    s.server_errors = get(c.server_errors);
    s.connections_lost = get(c.connections_lost);
    return s;
}

std::string pool_impl::diagnostics() const
{
    std::lock_guard lock(mutex_);
    return diagnostics_locked();
}

std::string pool_impl::diagnostics_locked() const
{
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    std::ostringstream os;
    const auto now = clock::now();
    os << "links " << links_.size() << "/" << config_.max_connections << " (idle " << idle_.size()
       << ", leased " << leased_ << ", connecting " << connecting_ << ", draining " << draining_
       << "), waiting " << waiters_.size();
    const link* oldest = nullptr;
    for (const auto& [ptr, entry] : links_)
        if (entry.leased && (!oldest || ptr->leased_at() < oldest->leased_at()))
            oldest = ptr;
    if (oldest) {
        const auto& site = oldest->lease_site();
        os << "; oldest lease held " << duration_cast<milliseconds>(now - oldest->leased_at()).count()
           << " ms, acquired at " << site.file_name() << ":" << site.line() << " ("
           << site.function_name() << ")";
    }
    if (closed())
        os << "; pool is shut down";
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        const auto& e = endpoints_[i];
        os << "; " << to_string(config_.endpoints[i]) << ": links " << e.links << ", failures "
           << e.backoff.failures();
        if (e.backoff.failures() > 0 && e.retry_at > now)
            os << ", backing off " << duration_cast<milliseconds>(e.retry_at - now).count() << " ms";
        if (!e.last_error.empty())
            os << ", last error: " << e.last_error;
    }
    return os.str();
}

bool pool_impl::wait_ready(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    state_changed_.wait_for(lock, timeout,
                            [&] { return closed() || ready_ >= config_.min_connections; });
    return !closed() && ready_ >= config_.min_connections;
}

// ---- shutdown ---------------------------------------------------------------------------------------

void pool_impl::shutdown(std::chrono::milliseconds drain)
{
    const bool on_io_thread = running_in_io_thread();
    bool first = false, joiner = false;
    {
        std::lock_guard lock(shutdown_mutex_);
        first = !shutdown_started_;
        shutdown_started_ = true;
        // The first caller that is not an io thread joins the threads; the rest wait for it.
        if (!on_io_thread && !joiner_claimed_)
            joiner = joiner_claimed_ = true;
    }
    if (first)
        begin_shutdown(drain);
    if (on_io_thread)
        return; // cannot join ourselves; the threads end once the pool has drained
    if (joiner) {
        stop_threads();
        run_stragglers();
        {
            std::lock_guard lock(shutdown_mutex_);
            shutdown_done_ = true;
        }
        shutdown_cv_.notify_all();
    } else {
        std::unique_lock lock(shutdown_mutex_);
        shutdown_cv_.wait(lock, [&] { return shutdown_done_; });
    }
}

void pool_impl::begin_shutdown(std::chrono::milliseconds drain)
{
    std::vector<std::shared_ptr<link>> links;
    // Links may close by themselves (the server died) and the pool finish before the posts
    // below are queued; work held from before `closed_` is set keeps the io threads until then.
    work_guard keep_running(ioc_.get_executor());
    {
        deferred_completions out;
        std::lock_guard lock(mutex_);
        closed_.store(true, std::memory_order_release);
        fail_waiters_locked(make_error_code(errc::pool_closed), out);
        idle_.clear();
        for (auto& [ptr, entry] : links_)
            links.push_back(entry.ptr);
        if (links_.empty() && !finish_posted_) {
            finish_posted_ = true;
            asio::post(strand_, [self = shared_from_this()] { self->finish(); });
        }
    }
    state_changed_.notify_all();
    if (links.empty())
        return;
    // finish() is posted to the pool strand once the last link is gone; it cancels the drain
    // deadline, or finds `finished_` set and the deadline is never armed.
    asio::post(strand_, [self = shared_from_this(), links, drain]() mutable {
        if (self->finished_)
            return; // every link closed before this ran
        self->drain_timer_.expires_after(drain);
        self->drain_timer_.async_wait([self, links = std::move(links)](const error_code& ec) {
            if (ec)
                return; // everything closed in time
            for (auto& l : links)
                l->force_close(make_error_code(errc::pool_closed));
        });
    });
    // Idle links close now; leased ones finish what was sent, within the drain deadline.
    for (auto& l : links)
        l->drain(make_error_code(errc::pool_closed));
}

void pool_impl::finish()
{
    // On the pool strand, once every link is gone: nothing left to wait for.
    finished_ = true;
    waiter_timer_.cancel();
    retry_timer_.cancel();
    drain_timer_.cancel();
    maintenance_timer_.cancel();
    health_timer_.cancel();
    health_.clear(); // empty by now: every link withdrew when it closed
    work_.reset();
}

// A handler posted from outside just as the io threads ran out of work would otherwise stay
// queued for good, and with it the link or pool it holds: run it here, on the joining thread.
// Every handler of the pool tolerates running after finish().
void pool_impl::run_stragglers()
{
    ioc_.restart();
    while (ioc_.poll() > 0)
        ioc_.restart();
}

void pool_impl::stop_threads()
{
    for (auto& t : threads_) {
        if (!t.joinable())
            continue;
        if (t.get_id() == std::this_thread::get_id())
            t.detach(); // the last reference dropped on an io thread: it is about to exit
        else
            t.join();
    }
}

} // namespace tether::detail
