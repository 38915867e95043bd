#pragma once

// Drives a sans-io pool_core in virtual time for tests: keeps the actions it asks for, plays
// the driver's side (which links are connecting, leased, retiring), and checks the core's
// invariants after every step.

#include "pool_core_invariants.hpp"
#include "sansio/pool_core.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace tether::test {

namespace sansio = tether::sansio;
using sansio::link_slot;
using sansio::waiter_id;

class pool_core_harness {
public:
    explicit pool_core_harness(const sansio::pool_limits& limits, std::size_t endpoints = 1,
                               std::uint64_t seed = 1)
        : core(limits, endpoints, seed, now)
    {
    }

    sansio::pool_time now{std::chrono::hours(1)};
    sansio::pool_core core;
    sansio::pool_core::actions out;

    // What the driver side knows.
    std::set<link_slot> connecting;    ///< open_link asked for, no answer yet
    std::map<waiter_id, bool> waiting; ///< queued acquires -> completed?
    std::map<waiter_id, link_slot> granted;
    std::map<waiter_id, errc> failed;
    std::set<link_slot> held;     ///< leased to the test
    std::set<link_slot> retiring; ///< retire_link asked for, not closed yet
    std::vector<waiter_id> grant_order;
    std::size_t finished_count = 0;
    std::size_t opened = 0, backoffs = 0, connect_failures_seen = 0, long_leases = 0;

    void start()
    {
        step([&] { core.start(now, out); });
    }

    /// Acquire: the link leased at once, or the waiter queued, or the refusal.
    sansio::acquire_outcome acquire()
    {
        sansio::acquire_outcome r;
        step([&] { r = core.acquire(now, std::source_location::current(), out); });
        if (auto* a = std::get_if<sansio::acquired>(&r))
            held.insert(a->slot);
        else if (auto* q = std::get_if<sansio::queued>(&r))
            waiting.try_emplace(q->waiter, false); // may have completed within the call
        return r;
    }
    void ready(link_slot s)
    {
        ASSERT_TRUE(connecting.erase(s)) << "ready for a link not connecting: " << s;
        step([&] { core.link_ready(s, now, out); });
    }
    void connect_fails(link_slot s, std::string_view why = "refused")
    {
        ASSERT_TRUE(connecting.erase(s)) << "connect failure of a link not connecting: " << s;
        step([&] { core.link_closed(s, sansio::close_cause::connection_lost, why, now, out); });
    }
    void give_back(link_slot s, bool usable = true)
    {
        ASSERT_TRUE(held.erase(s)) << "return of a link not held: " << s;
        step([&] { core.link_returned(s, usable, now, out); });
    }
    void unusable(link_slot s)
    {
        step([&] { core.link_unusable(s, now, out); });
    }
    void goaway(link_slot s, bool served = false)
    {
        step([&] { core.link_draining(s, served, now, out); });
    }
    void closed(link_slot s, errc reason = errc::connection_lost)
    {
        closed(s, sansio::cause_of_close(make_error_code(reason), false, false));
    }
    void closed(link_slot s, sansio::close_cause cause)
    {
        connecting.erase(s);
        held.erase(s);
        retiring.erase(s);
        step([&] { core.link_closed(s, cause, "", now, out); });
    }
    void expire_all()
    {
        step([&] { core.expire_all(now, out); });
    }
    void advance(std::chrono::nanoseconds d)
    {
        const auto until = now + d;
        while (core.next_wake() <= until) {
            now = std::max(now, core.next_wake());
            step([&] { core.tick(now, out); });
        }
        now = until;
    }
    void shutdown()
    {
        step([&] { core.shutdown(out); });
    }
    bool cancel(waiter_id id)
    {
        bool r = false;
        step([&] { r = core.cancel_waiter(id); });
        if (r)
            waiting[id] = true;
        return r;
    }

    /// Connecting links, oldest first.
    std::vector<link_slot> pending() const { return {connecting.begin(), connecting.end()}; }
    const sansio::link_gauges& g() const { return core.gauges(); }

    /// Applies `f` to the core, then performs its actions and checks every invariant.
    std::string event = "start"; ///< the step being checked, for failure messages

    template <class F>
    void step(F&& f, std::source_location where = std::source_location::current())
    {
        event = where.function_name();
        out.clear();
        f();
        for (auto& a : out)
            std::visit([&](auto& act) { perform(act); }, a);
        check_invariants();
    }

    void check_invariants()
    {
        SCOPED_TRACE("after " + event);
        ASSERT_EQ(core_records_violation(core), "");
        ASSERT_EQ(core_limits_violation(core, now), "");
        ASSERT_EQ(core.gauges().connecting, connecting.size());
    }

private:
    void perform(sansio::open_link& a)
    {
        ASSERT_TRUE(connecting.insert(a.slot).second) << "open_link twice for slot " << a.slot;
        ++opened;
    }
    void perform(sansio::grant_link& a)
    {
        complete(a.waiter);
        granted[a.waiter] = a.slot;
        grant_order.push_back(a.waiter);
        ASSERT_TRUE(held.insert(a.slot).second) << "link granted twice: " << a.slot;
        // FIFO: the waiter granted is the oldest still waiting.
        for (const auto& [id, done] : waiting)
            if (!done) {
                ASSERT_GT(id, a.waiter) << "waiter " << a.waiter << " served before " << id;
                break;
            }
    }
    void perform(sansio::fail_waiter& a)
    {
        complete(a.waiter);
        failed[a.waiter] = a.code;
    }
    void perform(sansio::retire_link& a)
    {
        // A held link is retired only by shutdown: never taken from under its lease.
        if (held.count(a.slot)) {
            ASSERT_TRUE(core.closed()) << "leased link " << a.slot << " retired";
        }
        retiring.insert(a.slot);
    }
    void perform(sansio::connect_failed&) { ++connect_failures_seen; }
    void perform(sansio::backoff_started&) { ++backoffs; }
    void perform(sansio::lease_held_too_long&) { ++long_leases; }
    void perform(sansio::pool_finished&) { ++finished_count; }

    void complete(waiter_id w)
    {
        auto it = waiting.find(w);
        if (it == waiting.end()) {
            // Only the waiter being queued by the current acquire() is not known yet.
            ASSERT_TRUE(waiting.empty() || waiting.rbegin()->first < w) << "unknown waiter " << w;
            it = waiting.emplace(w, false).first;
        }
        ASSERT_FALSE(it->second) << "waiter " << w << " completed twice";
        it->second = true;
    }
};

} // namespace tether::test
