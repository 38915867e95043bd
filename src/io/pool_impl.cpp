#include "io/pool_impl.hpp"

#include "io/drain_overrun.hpp"
#include "io/idle_watch.hpp"
#include "io/link.hpp"
#include "io/pool_deferred.hpp"

#include <tether/error.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

namespace tether::detail {
namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

sansio::pool_limits limits_of(const pool_config& c)
{
    sansio::pool_limits l;
    l.min_connections = c.min_connections;
    l.max_connections = c.max_connections;
    l.max_concurrent_connects = c.max_concurrent_connects;
    l.max_waiters = c.max_waiters;
    l.acquire_timeout = c.acquire_timeout;
    l.max_lifetime = c.max_lifetime;
    l.idle_timeout = c.idle_timeout;
    l.lease_warn_threshold = c.lease_warn_threshold;
    l.backoff = {c.backoff.initial, c.backoff.multiplier, c.backoff.max, c.backoff.jitter};
    l.fail_fast = c.fail_fast;
    return l;
}

// The application's executor when one was given, else io threads of the pool's own.
io_runner make_runner(const pool_config& c)
{
    if (c.executor)
        return io_runner(*c.executor);
    return io_runner(c.io_threads);
}

std::uint64_t random_seed()
{
    std::random_device seed;
    return (std::uint64_t{seed()} << 32) | seed();
}

} // namespace

pool_anchor::~pool_anchor()
{
    if (impl)
        impl->shutdown(impl->config().drain_timeout);
}

pool_impl::pool_impl(pool_config config, pool_seams s)
    : config_(std::move(config)), tls_(tls_source_for(config_)),
      log_(config_, s.clock ? *s.clock : steady_clock_service()), events_(config_.endpoints.size()),
      runner_(make_runner(config_)), link_context_{config_,
                                                   counters_,
                                                   runner_,
                                                   health_,
                                                   random_seed(),
                                                   s.clock ? *s.clock : steady_clock_service(),
                                                   transport_for(std::move(s.make_transport), tls_),
                                                   log_,
                                                   events_},
      strand_(runner_), clock_(link_context_.clock),
      real_clock_(&clock_ == &steady_clock_service()),
      wake_timer_(clock_.make_timer(strand_.executor())),
      drain_timer_(clock_.make_timer(strand_.executor())),
      health_timer_(clock_.make_timer(strand_.executor())),
      notifies_(runner_, config_, counters_, log_),
      core_(limits_of(config_), config_.endpoints.size(), random_seed(), clock_.now())
{
    // The idle watch is a thread of the pool's: only when the pool runs its own io threads
    // (an application's executor gets no thread it did not ask for).
    // A test's manual clock is single-threaded: no loop of its own then either.
    // Without one (no descriptor or thread to spare), links keep their pings on their strands.
    if (!config_.executor && real_clock_) {
        try {
            watch_ = std::make_shared<idle_watch>(clock_, health_tick_period(config_),
                                                  runner_.executor());
        } catch (const std::exception& e) {
            log_.report_throw("idle links' health loop not started", e.what());
        }
    }
}

pool_impl::~pool_impl()
{
    if (watch_)
        watch_->stop();
}

void pool_impl::start()
{
    runner_.start(shared_from_this(), [this](const char* what) {
        log_.report_throw("exception escaped a handler", what);
    });
    if (watch_) { // before any link exists: a link may hand itself over once proven
        try {
            watch_->start();
            link_context_.watch = watch_.get();
        } catch (const std::exception& e) {
            log_.report_throw("idle links' health loop not started", e.what());
            watch_.reset();
        }
    }
    {
        deferred out(*this);
        std::lock_guard lock(mutex_);
        core_.start(now(), actions_);
        translate_locked(out);
    }
    strand_.post([self = shared_from_this()] { self->arm_health_timer(); });
}

// ---- acquire ------------------------------------------------------------------------------------

pool_impl::idle_lease pool_impl::try_acquire_idle(const std::source_location& site)
{
    if (auto parked = take_parked(); parked.link)
        return parked;
    deferred out(*this); // empty unless an idle link turned out to be closing
    std::lock_guard lock(mutex_);
    if (closed())
        return {};
    return {lease_idle_locked(site, coarse_now(), out), nullptr};
}

// The most recently used idle link, leased to `site`; null when none is usable.
std::shared_ptr<link> pool_impl::lease_idle_locked(const std::source_location& site,
                                                   clock::time_point now, deferred& out,
                                                   bool reclaimed)
{
    while (const auto slot = core_.peek_idle()) {
        slot_entry& e = slots_[*slot];
        if (!e.owned->usable()) {
            // Closing right now: out of service; its strand reports the close.
            out.drop(std::move(e.spare));
            core_.link_unusable(*slot, now, actions_);
            translate_locked(out);
            continue;
        }
        core_.lease_idle(*slot, now, site);
        std::shared_ptr<link> l = e.spare ? std::move(e.spare) : e.owned;
        l->start_lease(now, false);
        return l;
    }
    if (cache_.parked() > 0 && !reclaimed) {
        // Idle links parked in other threads' caches: back to the core, and take one.
        reclaim_parked_locked(out);
        return lease_idle_locked(site, now, out, true);
    }
    return nullptr;
}

void pool_impl::async_acquire(std::shared_ptr<pool_anchor> anchor, acquire_op op,
                              const std::source_location& site)
{
    deferred out(*this);
    if (auto parked = take_parked(); parked.link) {
        // The caller brought a reference of its own: the one the cache kept goes (not the
        // last one, then).
        out.grant({std::move(anchor), std::move(op), {}}, std::move(parked.link));
        return;
    }
    std::lock_guard lock(mutex_);
    if (closed()) {
        out.complete({std::move(anchor), std::move(op), {}}, make_error_code(errc::pool_closed));
        return;
    }
    if (auto l = lease_idle_locked(site, coarse_now(), out)) {
        out.grant({std::move(anchor), std::move(op), {}}, std::move(l));
        return;
    }
    const auto queued_at = now();
    const auto outcome = core_.enqueue(queued_at, site, actions_);
    if (const auto* refused = std::get_if<errc>(&outcome)) {
        out.complete({std::move(anchor), std::move(op), {}}, make_error_code(*refused));
        translate_locked(out);
        return;
    }
    const sansio::waiter_id id = std::get<sansio::queued>(outcome).waiter;
    auto slot = op.cancellation_slot();
    if (slot.is_connected()) {
        slot.assign([weak = weak_from_this(), id](asio::cancellation_type) {
            if (auto self = weak.lock())
                self->cancel_waiter(id);
        });
    }
    // Stored before the core's actions are performed: they may fail this very waiter.
    waiting_.emplace(id, waiting_acquire{std::move(anchor), std::move(op), queued_at});
    translate_locked(out);
    // A caller waits: releases go through the core (FIFO hand-off) until nobody does, and
    // what was parked meanwhile goes to the waiters now.
    parking_open_.store(false, std::memory_order_seq_cst);
    reclaim_parked_locked(out);
}

void pool_impl::cancel_waiter(sansio::waiter_id id)
{
    deferred out(*this);
    std::lock_guard lock(mutex_);
    if (core_.cancel_waiter(id))
        out.complete(take_waiter_locked(id), asio::error::operation_aborted);
}

pool_impl::waiting_acquire pool_impl::take_waiter_locked(sansio::waiter_id id)
{
    auto node = waiting_.extract(id);
    return std::move(node.mapped());
}

// ---- link events --------------------------------------------------------------------------------

pool_impl::slot_entry* pool_impl::entry_of_locked(const link& l)
{
    const auto slot = l.slot();
    // The slot may hold a newer link already: the event is about one the pool has let go.
    if (slot >= slots_.size() || slots_[slot].owned.get() != &l)
        return nullptr; // (a link's record lives exactly as long as its slot holds it)
    return &slots_[slot];
}

// An idle link keeps a spare reference for the lease that takes it next; any other keeps none.
void pool_impl::settle_spare_locked(std::uint32_t slot, deferred& out)
{
    slot_entry& e = slots_[slot];
    if (!core_.records().contains(slot))
        return;
    if (core_.records().at(slot).status == sansio::link_status::idle) {
        if (!e.spare)
            e.spare = e.owned;
    } else if (e.spare) {
        out.drop(std::move(e.spare));
    }
}

void pool_impl::on_link_ready(const std::shared_ptr<link>& l)
{
    {
        deferred out(*this);
        std::lock_guard lock(mutex_);
        if (!entry_of_locked(*l))
            return;
        const auto& backend = core_.backends()[core_.records().at(l->slot()).backend];
        const unsigned failures_before = backend.backoff.failures();
        core_.link_ready(l->slot(), now(), actions_);
        if (failures_before > 0 && backend.backoff.failures() == 0)
            note_recovery_locked(l->slot(), failures_before, out);
        translate_locked(out);
        settle_spare_locked(l->slot(), out);
    }
    state_changed_.notify_all();
}

void pool_impl::on_link_draining(const std::shared_ptr<link>& l)
{
    deferred out(*this);
    std::lock_guard lock(mutex_);
    if (!entry_of_locked(*l))
        return;
    core_.link_draining(l->slot(), l->has_replied(), now(), actions_);
    translate_locked(out);
    settle_spare_locked(l->slot(), out);
}

void pool_impl::on_link_closed(const std::shared_ptr<link>& l, error_code reason,
                               const std::string& detail)
{
    {
        deferred out(*this);
        std::lock_guard lock(mutex_);
        slot_entry* e = entry_of_locked(*l);
        if (!e)
            return;
        out.drop(std::move(e->owned));
        out.drop(std::move(e->spare));
        // The core may give the slot to a new link in this very call.
        core_.link_closed(l->slot(), l->close_cause(), detail.empty() ? reason.message() : detail,
                          now(), actions_);
        translate_locked(out, &reason);
    }
    state_changed_.notify_all();
}

void pool_impl::deliver_notify(nlohmann::json body)
{
    notifies_.deliver(std::move(body), shared_from_this());
}

// ---- timers -------------------------------------------------------------------------------------

// After every event: the core may want waking earlier than the timer is set for.
void pool_impl::note_wake_locked()
{
    const auto at = core_.next_wake();
    if (at >= wake_armed_at_)
        return;
    wake_armed_at_ = at;
    strand_.post([self = shared_from_this(), at] { self->arm_wake_timer(at); });
}

void pool_impl::arm_wake_timer(clock::time_point at)
{
    if (finished_)
        return;
    wake_timer_->arm(at, [self = shared_from_this()] { self->on_wake_timer(); });
}

void pool_impl::on_wake_timer()
{
    deferred out(*this);
    std::lock_guard lock(mutex_);
    wake_armed_at_ = clock::time_point::max();
    settle_cache_locked(out); // parked links are idle to the core's recycling and warnings
    core_.tick(now(), actions_);
    translate_locked(out);
    note_wake_locked(); // the timer that woke us is spent
}

// ---- shutdown -----------------------------------------------------------------------------------

void pool_impl::shutdown(std::chrono::milliseconds drain)
{
    // On an external executor a caller elsewhere waits for the drain it runs: at most the drain,
    // the close grace after it (<= 1 s) and a second to spare, should nobody run it.
    runner_.shutdown([&] { begin_shutdown(drain); }, drain + std::chrono::seconds(2));
}

void pool_impl::begin_shutdown(std::chrono::milliseconds drain)
{
    kept_anchors kept; // dropped last (the cache keeps none once the last reference is gone)
    std::vector<std::shared_ptr<link>> links;
    // Links may close by themselves (the server died) and the pool finish before the posts
    // below are queued; work held from before `closed_` is set keeps the io threads until then.
    const asio::any_io_executor keep_running = runner_.tracked_executor();
    {
        deferred out(*this);
        std::lock_guard lock(mutex_);
        parking_open_.store(false, std::memory_order_seq_cst);
        closed_.store(true, std::memory_order_release);
        drain_deadline_.store((now() + drain).time_since_epoch().count(),
                              std::memory_order_release);
        seal_cache_locked(kept);    // a closed pool parks nothing
        reclaim_parked_locked(out); // idle, so they close now instead of draining
        core_.records().for_each([&](sansio::link_slot s, const sansio::link_record&) {
            links.push_back(slots_[s].owned);
        });
        core_.shutdown(actions_); // waiters fail; idle links close now, leased ones drain
        translate_locked(out);
    }
    state_changed_.notify_all();
    if (links.empty())
        return;
    // finish() is posted to the pool strand once the last link is gone; it cancels the drain
    // deadline, or finds `finished_` set and the deadline is never armed.
    strand_.post([self = shared_from_this(), links = std::move(links), drain]() mutable {
        if (self->finished_)
            return; // every link closed before this ran
        self->drain_timer_->arm(self->now() + drain, [self, links = std::move(links), drain] {
            // Not everything closed in time: one warning, once every link has counted itself.
            auto overrun = std::make_shared<drain_overrun>(self->log_, drain, self);
            for (auto& l : links)
                l->force_close(make_error_code(errc::pool_closed), overrun);
        });
    });
}

void pool_impl::finish()
{
    // On the pool strand, once every link is gone: nothing left to wait for.
    finished_ = true;
    wake_timer_->cancel();
    drain_timer_->cancel();
    health_timer_->cancel();
    health_.clear(); // empty by now: every link withdrew when it closed
    if (watch_)
        watch_->stop(); // and none is dormant: each came back to its strand to close
    log_.flush_suppressed(true);
    runner_.release_work();
}

} // namespace tether::detail
