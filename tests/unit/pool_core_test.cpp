// Unit tests of the sans-io pool core (design.md §2-§3): every event in the states it can meet,
// in virtual time, no sockets, no sleeps. The harness checks the invariants after each step.

#include "pool_core_harness.hpp"
#include "sansio/pool_policy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <variant>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tether::errc;
using tether::test::pool_core_harness;
namespace sansio = tether::sansio;

sansio::pool_limits limits(std::size_t min = 1, std::size_t max = 4)
{
    sansio::pool_limits l;
    l.min_connections = min;
    l.max_connections = max;
    l.max_concurrent_connects = 4;
    l.max_waiters = 8;
    l.acquire_timeout = 2s;
    l.max_lifetime = 30min;
    l.idle_timeout = 10min;
    l.lease_warn_threshold = 1min;
    l.backoff = {100ms, 2.0, 1000ms, 0.2};
    return l;
}

sansio::link_slot leased_slot(const sansio::acquire_outcome& r)
{
    const auto* a = std::get_if<sansio::acquired>(&r);
    EXPECT_NE(a, nullptr) << "expected a link at once";
    return a ? a->slot : 0;
}

sansio::waiter_id queued_id(const sansio::acquire_outcome& r)
{
    const auto* q = std::get_if<sansio::queued>(&r);
    EXPECT_NE(q, nullptr) << "expected to wait";
    return q ? q->waiter : 0;
}

TEST(PoolCore, StartOpensMinConnectionsWithinTheConnectCap)
{
    auto l = limits(6, 8);
    l.max_concurrent_connects = 4;
    pool_core_harness h(l);
    h.start();
    EXPECT_EQ(h.g().connecting, 4u);
    h.ready(h.pending().front());
    EXPECT_EQ(h.g().connecting, 4u) << "a finished connect frees a slot for the next";
    EXPECT_EQ(h.g().idle, 1u);
    for (auto s : h.pending())
        h.ready(s);
    for (auto s : h.pending())
        h.ready(s);
    EXPECT_EQ(h.g().ready, 6u);
    EXPECT_EQ(h.g().connecting, 0u);
    EXPECT_EQ(h.opened, 6u);
}

TEST(PoolCore, AcquireTakesTheMostRecentlyUsedIdleLink)
{
    pool_core_harness h(limits(2, 4));
    h.start();
    const auto first = h.pending()[0], second = h.pending()[1];
    h.ready(first);
    h.ready(second);
    const auto a = leased_slot(h.acquire());
    EXPECT_EQ(a, second);
    const auto b = leased_slot(h.acquire());
    EXPECT_EQ(b, first);
    h.give_back(b);
    h.give_back(a);
    EXPECT_EQ(leased_slot(h.acquire()), a) << "returned last, handed out first";
    EXPECT_EQ(h.core.counters().acquires, 3u);
    EXPECT_EQ(h.core.counters().leases_returned, 2u);
}

TEST(PoolCore, WaitersAreServedFirstComeFirstServedByNewAndReturnedLinks)
{
    pool_core_harness h(limits(0, 2));
    h.start();
    EXPECT_EQ(h.g().connecting, 0u);
    const auto w1 = queued_id(h.acquire());
    const auto w2 = queued_id(h.acquire());
    const auto w3 = queued_id(h.acquire());
    EXPECT_EQ(h.g().connecting, 2u) << "one connect per waiter, up to max_connections";
    h.ready(h.pending()[1]);
    h.ready(h.pending()[0]);
    ASSERT_EQ(h.grant_order.size(), 2u);
    EXPECT_EQ(h.grant_order[0], w1);
    EXPECT_EQ(h.grant_order[1], w2);
    h.give_back(h.granted[w1]);
    EXPECT_EQ(h.granted.at(w3), h.granted.at(w1)) << "the returned link goes to the next waiter";
    EXPECT_EQ(h.g().idle, 0u);
}

TEST(PoolCore, WaiterTimesOutAtItsDeadlineAndTheWakeTimeSaysWhen)
{
    pool_core_harness h(limits(0, 1));
    h.start();
    const auto hold = queued_id(h.acquire());
    h.ready(h.pending()[0]);
    ASSERT_TRUE(h.granted.count(hold));
    const auto start = h.now;
    const auto w = queued_id(h.acquire());
    EXPECT_LE(h.core.next_wake(), start + 2s);
    h.advance(2s - 1ms);
    EXPECT_FALSE(h.failed.count(w));
    h.advance(1ms);
    ASSERT_TRUE(h.failed.count(w));
    EXPECT_EQ(h.failed[w], errc::acquire_timeout);
    EXPECT_EQ(h.core.counters().acquire_timeouts, 1u);
}

TEST(PoolCore, TooManyWaitersIsRefusedAtOnce)
{
    auto l = limits(0, 1);
    l.max_waiters = 2;
    pool_core_harness h(l);
    h.start();
    queued_id(h.acquire());
    queued_id(h.acquire());
    const auto r = h.acquire();
    ASSERT_TRUE(std::holds_alternative<errc>(r));
    EXPECT_EQ(std::get<errc>(r), errc::too_many_waiters);
}

TEST(PoolCore, CancelledWaiterLeavesTheQueueAndKeepsTheOrder)
{
    pool_core_harness h(limits(0, 1));
    h.start();
    const auto w1 = queued_id(h.acquire());
    const auto w2 = queued_id(h.acquire());
    const auto w3 = queued_id(h.acquire());
    EXPECT_TRUE(h.cancel(w2));
    EXPECT_FALSE(h.cancel(w2)) << "twice";
    h.ready(h.pending()[0]);
    h.give_back(h.granted.at(w1));
    EXPECT_TRUE(h.granted.count(w3));
    EXPECT_FALSE(h.granted.count(w2));
}

TEST(PoolCore, ConcurrentConnectFailuresAdvanceTheBackoffOnce)
{
    pool_core_harness h(limits(3, 4));
    h.start();
    const auto p = h.pending();
    ASSERT_EQ(p.size(), 3u);
    for (auto s : p)
        h.connect_fails(s);
    const auto& b = h.core.backends()[0];
    EXPECT_EQ(b.backoff.failures(), 1u) << "three failures of one generation count once";
    EXPECT_EQ(b.connect_failures, 3u);
    EXPECT_EQ(b.last_error, "refused");
    EXPECT_EQ(h.backoffs, 1u);
    EXPECT_EQ(h.connect_failures_seen, 3u);
    EXPECT_EQ(h.g().connecting, 0u) << "nothing starts while backing off";
    // The backoff is 100 ms +-20 %: by 120 ms the endpoint is probed, with one connect.
    EXPECT_LE(h.core.next_wake(), h.now + 120ms);
    h.advance(120ms);
    ASSERT_EQ(h.g().connecting, 1u) << "one probe at a time at an endpoint that failed";
    h.connect_fails(h.pending()[0]);
    EXPECT_EQ(h.core.backends()[0].backoff.failures(), 2u);
    h.advance(240ms);
    ASSERT_EQ(h.g().connecting, 1u);
    h.ready(h.pending()[0]);
    EXPECT_EQ(h.core.backends()[0].backoff.failures(), 0u) << "a proven link resets the backoff";
    EXPECT_EQ(h.g().connecting, 2u) << "then the rest connect at once";
}

TEST(PoolCore, AGoawayAgainRightAfterProvingIsAFailedConnect)
{
    pool_core_harness h(limits(1, 4));
    h.start();
    h.ready(h.pending()[0]);
    h.advance(50ms); // less than backoff.initial (100 ms) after it was proven
    h.goaway(h.core.records().idle_stack().back());
    EXPECT_EQ(h.core.backends()[0].backoff.failures(), 0u) << "once: replaced at once";
    ASSERT_EQ(h.pending().size(), 1u);
    h.ready(h.pending()[0]);
    h.advance(50ms);
    h.goaway(h.core.records().idle_stack().back());
    const auto& b = h.core.backends()[0];
    EXPECT_EQ(b.backoff.failures(), 1u) << "again: the backend sends new links away";
    EXPECT_EQ(b.connect_failures, 1u);
    EXPECT_EQ(h.g().connecting, 0u) << "the replacement waits out the backoff";
    EXPECT_EQ(h.connect_failures_seen, 0u) << "not a connect failure for the observer";
    h.advance(120ms);
    EXPECT_EQ(h.g().connecting, 1u);
}

TEST(PoolCore, AGoawayLongAfterProvingIsNoFailure)
{
    pool_core_harness h(limits(2, 4));
    h.start();
    h.ready(h.pending()[0]);
    h.ready(h.pending()[0]);
    h.goaway(h.core.records().idle_stack().back()); // early, once
    h.advance(100ms);
    h.goaway(h.core.records().idle_stack().back()); // not early: all is forgiven
    EXPECT_EQ(h.core.backends()[0].backoff.failures(), 0u);
    EXPECT_EQ(h.g().connecting, 2u) << "both replaced at once";
}

TEST(PoolCore, LinksSentAwayRightAfterServingAreReplacedAtOnceHoweverOften)
{
    pool_core_harness h(limits(1, 2));
    h.start();
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(h.pending().size(), 1u) << "round " << i;
        const auto s = h.pending()[0];
        h.ready(s);
        h.goaway(s, true); // a server that rotates links after a request
        EXPECT_EQ(h.core.backends()[0].backoff.failures(), 0u);
        h.closed(s, errc::connection_draining);
    }
}

TEST(PoolCore, EveryNewLinkSentAwayAtOnceBacksOffFurtherEachTime)
{
    pool_core_harness h(limits(1, 2));
    h.start();
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 6; ++i) {
        ASSERT_EQ(h.pending().size(), 1u) << "round " << i;
        const auto s = h.pending()[0];
        h.ready(s);
        h.goaway(s);
        h.closed(s, errc::connection_draining);
        const auto& b = h.core.backends()[0];
        EXPECT_EQ(b.backoff.failures(), static_cast<unsigned>(i)) << "the first is forgiven";
        if (i == 0)
            continue; // replaced at once
        delays.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(b.retry_at - h.now));
        h.advance(delays.back() + 1ms);
    }
    EXPECT_GT(delays.back(), 2 * delays.front()) << "the backoff grows, not a reconnect loop";
}

TEST(PoolCore, WaitersFailFastWhenEveryEndpointBacksOff)
{
    pool_core_harness h(limits(0, 2), 2);
    h.start();
    const auto w = queued_id(h.acquire());
    ASSERT_EQ(h.pending().size(), 1u);
    h.connect_fails(h.pending()[0]);
    EXPECT_FALSE(h.failed.count(w)) << "the other endpoint is tried first";
    ASSERT_EQ(h.pending().size(), 1u);
    h.connect_fails(h.pending()[0]);
    ASSERT_TRUE(h.failed.count(w));
    EXPECT_EQ(h.failed[w], errc::no_endpoint_available);
    // A new acquire while both back off also fails at once.
    const auto w2 = queued_id(h.acquire());
    EXPECT_EQ(h.failed.at(w2), errc::no_endpoint_available);
}

TEST(PoolCore, WithoutFailFastWaitersWaitForAnEndpointToRecover)
{
    auto l = limits(0, 2);
    l.fail_fast = false;
    l.acquire_timeout = std::chrono::seconds(10);
    pool_core_harness h(l, 2);
    h.start();
    const auto w = queued_id(h.acquire());
    h.connect_fails(h.pending()[0]);
    h.connect_fails(h.pending()[0]);
    const auto w2 = queued_id(h.acquire());
    EXPECT_TRUE(h.failed.empty()) << "both endpoints back off, yet nobody fails before the timeout";
    // The backoff runs out: a connect is retried, and its success serves the first waiter.
    for (int i = 0; i < 100 && h.pending().empty(); ++i)
        h.advance(10ms);
    ASSERT_FALSE(h.pending().empty()) << "connects resume after the backoff";
    h.ready(h.pending()[0]);
    EXPECT_TRUE(h.granted.count(w));
    EXPECT_FALSE(h.failed.count(w2));
    h.advance(10s);
    EXPECT_TRUE(h.granted.count(w2) || h.failed.at(w2) == errc::acquire_timeout)
        << "served, or at its acquire_timeout: never no_endpoint_available";
}

TEST(PoolCore, ConnectsGoRoundRobinAndSkipEndpointsBackingOff)
{
    pool_core_harness h(limits(0, 8), 3);
    h.start();
    std::vector<std::size_t> order;
    for (int i = 0; i < 3; ++i)
        queued_id(h.acquire());
    for (auto s : h.pending())
        order.push_back(h.core.records().at(s).backend);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2})) << "one connect to each endpoint";
    // Fail the connect to backend 1: the next connects go to 0 and 2 only.
    for (auto s : h.pending())
        if (h.core.records().at(s).backend == 1)
            h.connect_fails(s);
    for (auto s : h.pending())
        h.ready(s);
    for (int i = 0; i < 4; ++i)
        queued_id(h.acquire());
    for (auto s : h.pending())
        EXPECT_NE(h.core.records().at(s).backend, 1u);
}

TEST(PoolCore, LostLinkComesBackAfterARandomPartOfTheInitialDelay)
{
    pool_core_harness h(limits(1, 1));
    h.start();
    h.ready(h.pending()[0]);
    const auto lost = h.core.records().idle_stack().back();
    const auto t = h.now;
    h.closed(lost, errc::connection_lost);
    const auto& b = h.core.backends()[0];
    EXPECT_GE(b.retry_at, t);
    EXPECT_LE(b.retry_at, t + 100ms);
    EXPECT_EQ(b.backoff.failures(), 0u) << "a lost link is not a connect failure";
    h.advance(100ms);
    EXPECT_EQ(h.g().connecting, 1u) << "refilled once the delay passed";
}

TEST(PoolCore, GoawayTakesTheLinkOutOfServiceAndStartsAReplacement)
{
    pool_core_harness h(limits(1, 2));
    h.start();
    h.ready(h.pending()[0]);
    const auto s = leased_slot(h.acquire());
    h.goaway(s);
    EXPECT_EQ(h.g().draining, 1u);
    EXPECT_EQ(h.g().leased, 1u) << "still held by its lease";
    EXPECT_EQ(h.g().connecting, 1u) << "make before break";
    h.ready(h.pending()[0]);
    const auto other = leased_slot(h.acquire());
    EXPECT_NE(other, s) << "a draining link is never handed out";
    h.give_back(s);
    EXPECT_TRUE(h.retiring.empty()) << "a draining link closes by itself once quiet";
    EXPECT_EQ(h.g().leased, 1u);
    h.closed(s, errc::connection_draining);
    EXPECT_EQ(h.g().total, 1u);
    EXPECT_EQ(h.g().connecting, 0u) << "a goaway is not a loss: no extra reconnect";
}

TEST(PoolCore, GoawayAtMaxConnectionsStillReplacesTheLink)
{
    pool_core_harness h(limits(2, 2));
    h.start();
    for (auto s : h.pending())
        h.ready(s);
    const auto s = h.core.records().idle_stack().back();
    h.advance(100ms); // not a goaway right after proving
    h.goaway(s);
    EXPECT_EQ(h.g().connecting, 1u) << "a draining link does not count against the cap";
}

TEST(PoolCore, AReturnedLinkThatCannotBeReusedIsRetired)
{
    pool_core_harness h(limits(1, 2));
    h.start();
    h.ready(h.pending()[0]);
    const auto s = leased_slot(h.acquire());
    h.give_back(s, false);
    EXPECT_TRUE(h.retiring.count(s));
    EXPECT_EQ(h.g().idle, 0u);
    EXPECT_EQ(h.g().draining, 1u);
    EXPECT_EQ(h.g().connecting, 1u) << "its replacement starts at once";
}

TEST(PoolCore, AnIdleLinkFoundClosingIsSkipped)
{
    pool_core_harness h(limits(2, 2));
    h.start();
    for (auto s : h.pending())
        h.ready(s);
    const auto top = *h.core.peek_idle();
    h.unusable(top);
    EXPECT_NE(*h.core.peek_idle(), top);
    EXPECT_EQ(h.g().draining, 1u);
    EXPECT_EQ(h.g().connecting, 1u) << "its replacement starts at once";
    h.closed(top);
    EXPECT_EQ(h.g().connecting, 1u);
}

TEST(PoolCore, IdleTimeoutRetiresSurplusLinksDownToMinConnections)
{
    pool_core_harness h(limits(1, 4));
    h.start();
    h.ready(h.pending()[0]);
    std::vector<sansio::link_slot> mine{leased_slot(h.acquire())};
    for (int i = 0; i < 3; ++i)
        queued_id(h.acquire());
    for (auto s : h.pending())
        h.ready(s);
    for (auto& [w, s] : h.granted)
        mine.push_back(s);
    ASSERT_EQ(mine.size(), 4u);
    for (auto s : mine)
        h.give_back(s);
    EXPECT_EQ(h.g().idle, 4u);
    h.advance(9min);
    EXPECT_EQ(h.g().idle, 4u) << "not before the jittered idle limit (>= 9 min)";
    h.advance(1min + 1s);
    EXPECT_EQ(h.g().ready, 1u) << "never below min_connections";
    EXPECT_EQ(h.retiring.size(), 3u);
}

TEST(PoolCore, MaxLifetimeReplacesAnIdleLinkMakeBeforeBreak)
{
    pool_core_harness h(limits(1, 2));
    h.start();
    const auto old = h.pending()[0];
    h.ready(old);
    h.advance(30min + 1s);
    ASSERT_EQ(h.g().connecting, 1u) << "the replacement connects first";
    EXPECT_TRUE(h.core.records().at(old).replacing);
    EXPECT_TRUE(h.retiring.empty());
    EXPECT_EQ(h.g().ready, 1u) << "the old link serves meanwhile";
    h.ready(h.pending()[0]);
    EXPECT_TRUE(h.retiring.count(old)) << "retired once the replacement is proven";
    EXPECT_EQ(h.g().ready, 1u);
}

TEST(PoolCore, ExpireAllReplacesEveryLinkMakeBeforeBreakWithinTheConnectCap)
{
    auto l = limits(3, 6);
    l.max_concurrent_connects = 2;
    pool_core_harness h(l);
    h.start();
    while (!h.pending().empty())
        h.ready(h.pending()[0]);
    ASSERT_EQ(h.g().idle, 3u);
    const auto leased = leased_slot(h.acquire());
    h.expire_all();
    EXPECT_EQ(h.g().connecting, 2u) << "replacements first, at most max_concurrent_connects";
    EXPECT_TRUE(h.retiring.empty()) << "nothing closes before its replacement is proven";
    for (int round = 0; round < 4 && !h.pending().empty(); ++round) {
        for (auto s : h.pending())
            h.ready(s);
        h.advance(1s); // the maintenance tick picks up what the connect cap held back
    }
    EXPECT_EQ(h.retiring.size(), 2u) << "both idle old links retired once replaced";
    EXPECT_FALSE(h.retiring.count(leased)) << "a leased link is never retired";
    h.give_back(leased);
    for (auto s : h.pending())
        h.ready(s);
    EXPECT_TRUE(h.retiring.count(leased) || h.core.records().at(leased).replacing)
        << "the leased one goes (or is being replaced) once back";
    EXPECT_GE(h.g().ready, 3u) << "never below min_connections meanwhile";
}

// Four callers keep four expired links leased nearly all the time; gives, takes and proofs of
// replacements interleave in every seeded order. Every old link must still be replaced: one
// whose replacement went to another expired link gets a new one when it comes back.
TEST(PoolCore, ExpiredLinksThatAreAlwaysLeasedAreAllReplacedInTheEnd)
{
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
        std::mt19937_64 rng(seed);
        pool_core_harness h(limits(4, 6));
        h.start();
        while (!h.pending().empty())
            h.ready(h.pending()[0]);
        std::set<sansio::link_slot> old;
        std::vector<std::optional<sansio::link_slot>> callers;
        for (int i = 0; i < 4; ++i) {
            callers.push_back(leased_slot(h.acquire()));
            old.insert(*callers.back());
        }
        h.expire_all();
        for (int step = 0; step < 400; ++step) {
            auto& c = callers[rng() % callers.size()];
            const auto roll = rng() % 3;
            if (roll == 0 && !h.pending().empty()) {
                h.ready(h.pending()[rng() % h.pending().size()]);
            } else if (c) {
                h.give_back(*c);
                c.reset();
            } else {
                const auto got = h.acquire();
                if (const auto* a = std::get_if<sansio::acquired>(&got))
                    c = a->slot;
                else
                    h.advance(1ms); // queued: served by a later give or proof
            }
            auto granted = std::exchange(h.granted, {}); // queued callers that got a link
            for (auto& [w, slot] : granted) {
                auto idle_caller = std::find(callers.begin(), callers.end(), std::nullopt);
                if (idle_caller != callers.end())
                    *idle_caller = slot;
                else
                    h.give_back(slot);
            }
        }
        for (auto s : old)
            ASSERT_TRUE(h.retiring.count(s))
                << "seed " << seed << ": slot " << s << " was never replaced";
    }
}

TEST(PoolCore, MaxLifetimeAtMinEqualsMaxRetiresThenRefills)
{
    pool_core_harness h(limits(1, 1));
    h.start();
    const auto old = h.pending()[0];
    h.ready(old);
    h.advance(30min + 1s);
    EXPECT_TRUE(h.retiring.count(old));
    EXPECT_EQ(h.g().connecting, 1u) << "no room to make first: the dip lasts one connect";
}

TEST(PoolCore, AnExpiredLeasedLinkIsReplacedWhileLeasedAndRetiredOnReturn)
{
    pool_core_harness h(limits(1, 3));
    h.start();
    h.ready(h.pending()[0]);
    const auto s = leased_slot(h.acquire());
    h.advance(30min + 1s);
    EXPECT_TRUE(h.retiring.empty()) << "a leased link is never retired";
    h.give_back(s);
    EXPECT_TRUE(h.core.records().at(s).replacing) << "reused while its replacement connects";
    ASSERT_EQ(h.g().connecting, 1u);
    const auto again = leased_slot(h.acquire());
    EXPECT_EQ(again, s);
    h.ready(h.pending()[0]);
    EXPECT_TRUE(h.retiring.empty()) << "still leased";
    h.give_back(s);
    EXPECT_TRUE(h.retiring.count(s)) << "replaced already: retired on its way back";
    EXPECT_EQ(h.g().ready, 1u);
}

TEST(PoolCore, LongLeasesAreReportedOnce)
{
    pool_core_harness h(limits(1, 2));
    h.start();
    h.ready(h.pending()[0]);
    const auto s = leased_slot(h.acquire());
    h.advance(59s);
    EXPECT_EQ(h.long_leases, 0u);
    h.advance(2s);
    EXPECT_EQ(h.long_leases, 1u);
    h.advance(5min);
    EXPECT_EQ(h.long_leases, 1u);
    h.give_back(s);
    EXPECT_EQ(h.core.counters().leases_held_too_long, 1u);
    EXPECT_GE(h.core.counters().hold_max, 61s);
}

TEST(PoolCore, ShutdownFailsWaitersRetiresEveryLinkAndFinishesWhenTheLastCloses)
{
    pool_core_harness h(limits(2, 3));
    h.start();
    h.ready(h.pending()[0]);
    const auto leased = leased_slot(h.acquire());
    const auto w = queued_id(h.acquire());
    ASSERT_FALSE(h.failed.count(w));
    const auto still_connecting = h.pending();
    h.shutdown();
    EXPECT_EQ(h.failed.at(w), errc::pool_closed);
    EXPECT_EQ(h.retiring.size(), h.g().total);
    EXPECT_EQ(std::get<errc>(h.acquire()), errc::pool_closed);
    EXPECT_EQ(h.core.next_wake(), sansio::pool_time::max()) << "nothing left to wake for";
    // A connect that finishes after shutdown is retired, not handed out.
    const auto late = still_connecting[0];
    h.ready(late);
    EXPECT_EQ(h.g().idle, 0u);
    h.give_back(leased);
    EXPECT_EQ(h.finished_count, 0u);
    for (auto s : still_connecting)
        h.closed(s, errc::pool_closed);
    EXPECT_EQ(h.finished_count, 0u);
    h.closed(leased, errc::pool_closed);
    EXPECT_EQ(h.finished_count, 1u);
    EXPECT_TRUE(h.core.finished());
    EXPECT_EQ(h.core.counters().connect_failures, 0u) << "closing at shutdown is no failure";
}

TEST(PoolCore, ShutdownWithNoLinksFinishesAtOnce)
{
    pool_core_harness h(limits(0, 1));
    h.start();
    h.shutdown();
    EXPECT_EQ(h.finished_count, 1u);
}

TEST(PoolPolicy, ConnectsWantedCoversMinimumAndWaitersWithinTheCap)
{
    auto l = limits(2, 4);
    sansio::link_gauges g;
    EXPECT_EQ(sansio::connects_wanted(g, 0, l), 2u);
    g.total = 2, g.ready = 2, g.idle = 2;
    EXPECT_EQ(sansio::connects_wanted(g, 0, l), 0u);
    g.idle = 0, g.leased = 2;
    EXPECT_EQ(sansio::connects_wanted(g, 5, l), 2u) << "capped by max_connections";
    g.total = 3, g.connecting = 1;
    EXPECT_EQ(sansio::connects_wanted(g, 1, l), 0u) << "the connect in flight covers the waiter";
    g.draining = 1, g.total = 4;
    EXPECT_EQ(sansio::connects_wanted(g, 3, l), 1u) << "draining links leave room";
}

TEST(PoolPolicy, MaintenancePeriodFollowsTheShortestSetting)
{
    auto l = limits();
    EXPECT_EQ(sansio::maintenance_period(l), std::chrono::seconds(1));
    l.idle_timeout = 2s;
    EXPECT_EQ(sansio::maintenance_period(l), 50ms);
    l.max_lifetime = 100ms;
    EXPECT_EQ(sansio::maintenance_period(l), 10ms);
}

} // namespace
