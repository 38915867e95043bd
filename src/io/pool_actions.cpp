// The pool driver's side of the core's actions: each one turned into work for a deferred
// object under the lock, and that work performed after the lock is released.

#include "io/lease_access.hpp"
#include "io/pool_deferred.hpp"

#include <tether/error.hpp>

#include <boost/asio/post.hpp>

#include <string>

namespace tether::detail {

struct pool_impl::translator {
    pool_impl& pool;
    deferred& out;
    boost::system::error_code closed_reason;

    std::size_t endpoint_index_of(sansio::backend_id b) const
    {
        return pool.core_.backends()[b].endpoint_index;
    }
    const endpoint& endpoint_of(sansio::backend_id b) const
    {
        return pool.config_.endpoints[endpoint_index_of(b)];
    }

    void operator()(const sansio::open_link& a) const
    {
        if (pool.slots_.size() <= a.slot)
            pool.slots_.resize(a.slot + 1);
        auto l = std::make_shared<link>(pool.shared_from_this(), pool.link_context_, a.slot,
                                        a.link_id, pool.core_.backends()[a.backend].endpoint_index);
        l->set_retire_at(pool.core_.records().at(a.slot).retire_at);
        pool.slots_[a.slot].owned = l;
        out.start(std::move(l));
    }
    void operator()(const sansio::grant_link& a) const
    {
        slot_entry& e = pool.slots_[a.slot];
        std::shared_ptr<link> l = e.spare ? std::move(e.spare) : e.owned;
        l->start_lease(pool.coarse_now(), false);
        auto waiter = pool.take_waiter_locked(a.waiter);
        pool.waited_acquires_.record(pool.now() - waiter.queued_at);
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
        const std::string& detail = pool.core_.backends()[a.backend].last_error;
        sansio::link_event_note failed(sansio::link_event_kind::connect_failed, a.link_id, detail);
        failed.failure = true;
        pool.events_.record(endpoint_index_of(a.backend), failed, pool.now());
        out.log(log_kind::connect_failed, endpoint_index_of(a.backend), [a, detail] {
            return "link " + std::to_string(a.link_id) + ": connect failed: " + detail;
        });
        out.observe([&ep = endpoint_of(a.backend), ec = closed_reason, detail](pool_observer& o) {
            o.on_connect_failure(ep, ec, detail);
        });
    }
    void operator()(const sansio::backoff_started& a) const
    {
        sansio::link_event_note backoff(sansio::link_event_kind::backoff);
        backoff.value = std::chrono::duration_cast<std::chrono::microseconds>(a.delay);
        backoff.failures = a.failures;
        pool.events_.record(endpoint_index_of(a.backend), backoff, pool.now());
        out.log(log_kind::backoff, endpoint_index_of(a.backend), [&ep = endpoint_of(a.backend), a] {
            return to_string(ep) + ": backing off " + std::to_string(a.delay.count()) +
                   " ms after " + std::to_string(a.failures) +
                   (a.failures == 1 ? " failed connect" : " failed connects");
        });
        out.observe([&ep = endpoint_of(a.backend), a](pool_observer& o) {
            o.on_backoff(ep, a.delay, a.failures);
        });
    }
    void operator()(const sansio::lease_held_too_long& a) const
    {
        out.log(log_kind::lease_held_too_long, pool_log::no_endpoint,
                [a, threshold = pool.config_.lease_warn_threshold] {
                    return "lease of link " + std::to_string(a.link_id) + " held " +
                           std::to_string(a.held.count()) + " ms (lease_warn_threshold " +
                           std::to_string(threshold.count()) + " ms), acquired at " +
                           a.site.file_name() + ":" + std::to_string(a.site.line()) + " (" +
                           a.site.function_name() + ")";
                });
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

void pool_impl::note_recovery_locked(std::uint32_t slot, unsigned failures_before, deferred& out)
{
    const auto& r = core_.records().at(slot);
    const std::uint64_t link_id = r.id;
    const std::size_t endpoint = core_.backends()[r.backend].endpoint_index;
    sansio::link_event_note recovered(sansio::link_event_kind::recovered, link_id);
    recovered.failures = failures_before;
    events_.record(endpoint, recovered, now());
    out.log(log_kind::recovered, endpoint,
            [&ep = config_.endpoints[endpoint], link_id, failures_before] {
                return to_string(ep) + ": recovered, link " + std::to_string(link_id) +
                       " proven after " + std::to_string(failures_before) +
                       (failures_before == 1 ? " failed connect" : " failed connects");
            });
}

void pool_impl::deferred::perform()
{
    pending& w = *work_;
    for (auto& g : w.grants)
        std::move(g.w.op).complete({}, lease_access::make(std::move(g.w.anchor), std::move(g.l)));
    for (auto& f : w.failures) {
        // A blocking caller holds a handle of its own until it returns: its waiter's anchor
        // goes first, so that the caller's handle, when dropped, is the pool's last and joins
        // the io threads (rather than this io thread shutting the pool down unjoined while the
        // caller's process may be exiting). An asynchronous caller's goes after its completion
        // is queued, which the io threads then must run.
        if (f.w.op.completes_inline())
            f.w.anchor.reset();
        std::move(f.w.op).complete(f.ec, tether::lease{});
    }
    for (auto& l : w.starts)
        l->start();
    for (auto& d : w.drains)
        d.l->drain(make_error_code(d.reason));
    if (auto* obs = pool_.config_.observer.get())
        for (auto& call : w.observations)
            pool_.log_.run_guarded("observer threw", [&] { call(*obs); });
    for (auto& m : w.logs)
        pool_.log_.write(m.kind, m.endpoint, m.make_text);
    if (w.finished)
        pool_.strand_.post([self = pool_.shared_from_this()] { self->finish(); });
    // work_ goes next: the anchors of failed waiters, then the references let go.
}

} // namespace tether::detail
