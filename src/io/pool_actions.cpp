// The pool driver's side of the core's actions: each one turned into work for a deferred
// object under the lock, and that work performed after the lock is released.

#include "io/lease_access.hpp"
#include "io/pool_deferred.hpp"

#include <tether/error.hpp>

#include <boost/asio/post.hpp>

namespace tether::detail {

struct pool_impl::translator {
    pool_impl& pool;
    deferred& out;
    boost::system::error_code closed_reason;

    const endpoint& endpoint_of(sansio::backend_id b) const
    {
        return pool.config_.endpoints[pool.core_.backends()[b].endpoint_index];
    }

    void operator()(const sansio::open_link& a) const
    {
        if (pool.slots_.size() <= a.slot)
            pool.slots_.resize(a.slot + 1);
        auto l = std::make_shared<link>(pool.shared_from_this(), pool.link_context_, a.slot,
                                        a.link_id, pool.core_.backends()[a.backend].endpoint_index);
        pool.slots_[a.slot].owned = l;
        out.start(std::move(l));
    }
    void operator()(const sansio::grant_link& a) const
    {
        slot_entry& e = pool.slots_[a.slot];
        std::shared_ptr<link> l = e.spare ? std::move(e.spare) : e.owned;
        l->start_lease();
        auto waiter = pool.take_waiter_locked(a.waiter);
        pool.counters_.acquire_wait.record(pool.now() - waiter.queued_at);
        out.grant(std::move(waiter), std::move(l));
    }
    void operator()(const sansio::fail_waiter& a) const
    {
        out.complete(pool.take_waiter_locked(a.waiter), make_error_code(a.code));
    }
    void operator()(const sansio::retire_link& a) const
    {
        slot_entry& e = pool.slots_[a.slot];
        out.drop(std::move(e.spare));
        out.drain(e.owned, a.reason);
    }
    void operator()(const sansio::connect_failed& a) const
    {
        out.observe([&ep = endpoint_of(a.backend), ec = closed_reason,
                     detail = pool.core_.backends()[a.backend].last_error](pool_observer& o) {
            o.on_connect_failure(ep, ec, detail);
        });
    }
    void operator()(const sansio::backoff_started& a) const
    {
        out.observe([&ep = endpoint_of(a.backend), a](pool_observer& o) {
            o.on_backoff(ep, a.delay, a.failures);
        });
    }
    void operator()(const sansio::lease_held_too_long& a) const
    {
        out.observe([a](pool_observer& o) { o.on_lease_held_too_long(a.link_id, a.held, a.site); });
    }
    void operator()(const sansio::pool_finished&) const { out.finished(); }
};

void pool_impl::translate_actions_locked(deferred& out,
                                         const boost::system::error_code* closed_reason)
{
    const translator t{*this, out, closed_reason ? *closed_reason : boost::system::error_code()};
    for (const auto& action : actions_)
        std::visit(t, action);
    actions_.clear();
}

void pool_impl::deferred::perform()
{
    pending& w = *work_;
    for (auto& g : w.grants)
        std::move(g.w.op).complete({}, lease_access::make(std::move(g.w.anchor), std::move(g.l)));
    for (auto& f : w.failures)
        std::move(f.w.op).complete(f.ec, tether::lease{});
    for (auto& l : w.starts)
        l->start();
    for (auto& d : w.drains)
        d.l->drain(make_error_code(d.reason));
    if (auto* obs = pool_.config_.observer.get())
        for (auto& call : w.observations)
            call(*obs);
    if (w.finished)
        boost::asio::post(pool_.strand_, [self = pool_.shared_from_this()] { self->finish(); });
    // work_ goes next: the anchors of failed waiters, then the references let go.
}

} // namespace tether::detail
