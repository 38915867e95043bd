// Unit tests of the sans-io request table: id -> pending request, FIFO deadlines.

#include "sansio/request_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tether::sansio::request_table;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;

const time_point t0{};

using table = request_table<std::string>;

/// "v<id>", the value stored for request `id`. Appended rather than `"v" + std::to_string(id)`:
/// g++ 12 -O3 reports a bogus -Wrestrict (a memcpy that "may overlap") inside libstdc++'s
/// operator+(const char*, std::string&&), fatal under -Werror.
std::string value_for(std::uint64_t id)
{
    std::string v = "v";
    v += std::to_string(id);
    return v;
}
using expired_list = std::vector<std::pair<std::uint64_t, std::string>>;

expired_list expire(table& t, time_point now)
{
    expired_list out;
    t.take_expired(now,
                   [&](std::uint64_t id, std::string&& v) { out.emplace_back(id, std::move(v)); });
    return out;
}

// ---------------------------------------------------------------------------------------------
// insert / take

TEST(RequestTable, StartsEmpty)
{
    table t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.size(), 0u);
    EXPECT_FALSE(t.next_deadline().has_value());
    EXPECT_FALSE(t.take(1).has_value());
    EXPECT_TRUE(expire(t, time_point::max()).empty());
}

TEST(RequestTable, InsertThenTakeReturnsValueExactlyOnce)
{
    table t;
    EXPECT_TRUE(t.insert(7, "seven", t0 + 1s));
    EXPECT_TRUE(t.contains(7));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_FALSE(t.empty());

    auto v = t.take(7);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, "seven");
    EXPECT_FALSE(t.contains(7));
    EXPECT_TRUE(t.empty());

    EXPECT_FALSE(t.take(7).has_value()); // exactly once
    EXPECT_FALSE(t.next_deadline().has_value());
    EXPECT_TRUE(expire(t, t0 + 1h).empty()); // and never expires afterwards
}

TEST(RequestTable, UnknownIdIsNullopt)
{
    table t;
    ASSERT_TRUE(t.insert(1, "one", t0 + 1s));
    EXPECT_FALSE(t.take(2).has_value());
    EXPECT_FALSE(t.take(0).has_value());
    EXPECT_FALSE(t.take(UINT64_MAX).has_value());
    EXPECT_EQ(t.size(), 1u);
    EXPECT_TRUE(t.contains(1));
}

TEST(RequestTable, DuplicateIdInsertIsRefusedAndKeepsOriginal)
{
    table t;
    ASSERT_TRUE(t.insert(5, "first", t0 + 1s));
    std::string second = "second";
    EXPECT_FALSE(t.insert(5, std::move(second), t0 + 2s));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.next_deadline(), t0 + 1s);
    auto v = t.take(5);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, "first");
    EXPECT_FALSE(t.take(5).has_value());
    // The refused insert left no deadline behind that could expire anything.
    EXPECT_FALSE(t.next_deadline().has_value());
}

TEST(RequestTable, TakesInAnyOrder)
{
    table t;
    for (std::uint64_t id = 1; id <= 5; ++id)
        ASSERT_TRUE(
            t.insert(id, value_for(id), t0 + std::chrono::seconds(static_cast<long long>(id))));
    for (std::uint64_t id : {3u, 5u, 1u, 4u, 2u}) {
        auto v = t.take(id);
        ASSERT_TRUE(v.has_value()) << id;
        EXPECT_EQ(*v, value_for(id));
    }
    EXPECT_TRUE(t.empty());
}

// ---------------------------------------------------------------------------------------------
// take_expired

TEST(RequestTable, TakeExpiredReturnsExactlyThoseDueInOrder)
{
    table t;
    for (std::uint64_t id = 1; id <= 5; ++id)
        ASSERT_TRUE(
            t.insert(id, value_for(id), t0 + std::chrono::seconds(static_cast<long long>(id))));

    EXPECT_TRUE(expire(t, t0).empty());
    EXPECT_TRUE(expire(t, t0 + 999ms).empty());

    // Deadline == now counts as expired.
    auto e = expire(t, t0 + 3s);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0], (std::pair<std::uint64_t, std::string>{1, "v1"}));
    EXPECT_EQ(e[1], (std::pair<std::uint64_t, std::string>{2, "v2"}));
    EXPECT_EQ(e[2], (std::pair<std::uint64_t, std::string>{3, "v3"}));
    EXPECT_EQ(t.size(), 2u);
    EXPECT_FALSE(t.contains(1));
    EXPECT_TRUE(t.contains(4));
    EXPECT_EQ(t.next_deadline(), t0 + 4s);

    // Expired ones are gone: take finds nothing, a second sweep returns nothing new.
    EXPECT_FALSE(t.take(2).has_value());
    EXPECT_TRUE(expire(t, t0 + 3s).empty());

    e = expire(t, t0 + 10s);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].first, 4u);
    EXPECT_EQ(e[1].first, 5u);
    EXPECT_TRUE(t.empty());
    EXPECT_FALSE(t.next_deadline().has_value());
}

TEST(RequestTable, TakeExpiredSkipsAlreadyTaken)
{
    table t;
    for (std::uint64_t id = 1; id <= 6; ++id)
        ASSERT_TRUE(
            t.insert(id, value_for(id), t0 + std::chrono::seconds(static_cast<long long>(id))));
    ASSERT_TRUE(t.take(2).has_value());
    ASSERT_TRUE(t.take(4).has_value());
    ASSERT_TRUE(t.take(1).has_value()); // front: pruned eagerly

    auto e = expire(t, t0 + 5s);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].first, 3u);
    EXPECT_EQ(e[0].second, "v3");
    EXPECT_EQ(e[1].first, 5u);
    EXPECT_EQ(e[1].second, "v5");
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.next_deadline(), t0 + 6s);
}

TEST(RequestTable, TakeExpiredWithEqualDeadlinesKeepsInsertionOrder)
{
    table t;
    for (std::uint64_t id : {9u, 3u, 7u})
        ASSERT_TRUE(t.insert(id, std::to_string(id), t0 + 1s));
    auto e = expire(t, t0 + 1s);
    ASSERT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].first, 9u);
    EXPECT_EQ(e[1].first, 3u);
    EXPECT_EQ(e[2].first, 7u);
}

TEST(RequestTable, CallbackMayInsertNewRequests)
{
    // A driver may issue a retry from the expiry callback: the new entry gets a later deadline.
    table t;
    ASSERT_TRUE(t.insert(1, "a", t0 + 1s));
    std::vector<std::uint64_t> seen;
    t.take_expired(t0 + 1s, [&](std::uint64_t id, std::string&&) {
        seen.push_back(id);
        EXPECT_TRUE(t.insert(id + 100, "retry", t0 + 5s));
    });
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], 1u);
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.next_deadline(), t0 + 5s);
}

// ---------------------------------------------------------------------------------------------
// next_deadline

TEST(RequestTable, NextDeadlineSkipsTakenEntries)
{
    table t;
    ASSERT_TRUE(t.insert(1, "a", t0 + 1s));
    ASSERT_TRUE(t.insert(2, "b", t0 + 2s));
    ASSERT_TRUE(t.insert(3, "c", t0 + 3s));
    EXPECT_EQ(t.next_deadline(), t0 + 1s);

    ASSERT_TRUE(t.take(2).has_value()); // not the front: front unchanged
    EXPECT_EQ(t.next_deadline(), t0 + 1s);

    ASSERT_TRUE(t.take(1).has_value()); // front and the stale 2 behind it are skipped
    EXPECT_EQ(t.next_deadline(), t0 + 3s);

    ASSERT_TRUE(t.take(3).has_value());
    EXPECT_FALSE(t.next_deadline().has_value());
}

TEST(RequestTable, NextDeadlineAfterExpiry)
{
    table t;
    ASSERT_TRUE(t.insert(1, "a", t0 + 1s));
    ASSERT_TRUE(t.insert(2, "b", t0 + 2s));
    ASSERT_EQ(expire(t, t0 + 1s).size(), 1u);
    EXPECT_EQ(t.next_deadline(), t0 + 2s);
}

// ---------------------------------------------------------------------------------------------
// take_all

TEST(RequestTable, TakeAllEmptiesAndCallsForEach)
{
    table t;
    for (std::uint64_t id = 1; id <= 4; ++id)
        ASSERT_TRUE(
            t.insert(id, value_for(id), t0 + std::chrono::seconds(static_cast<long long>(id))));
    ASSERT_TRUE(t.take(2).has_value());

    std::map<std::uint64_t, std::string> got;
    t.take_all([&](std::uint64_t id, std::string&& v) {
        EXPECT_TRUE(got.emplace(id, std::move(v)).second) << "called twice for " << id;
    });
    EXPECT_EQ(got, (std::map<std::uint64_t, std::string>{{1, "v1"}, {3, "v3"}, {4, "v4"}}));
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.size(), 0u);
    EXPECT_FALSE(t.next_deadline().has_value());
    EXPECT_TRUE(expire(t, time_point::max()).empty());
    EXPECT_FALSE(t.take(1).has_value());

    int calls = 0;
    t.take_all([&](std::uint64_t, std::string&&) { ++calls; });
    EXPECT_EQ(calls, 0);

    // Usable again afterwards, ids included.
    ASSERT_TRUE(t.insert(1, "again", t0 + 9s));
    EXPECT_EQ(t.next_deadline(), t0 + 9s);
    EXPECT_EQ(*t.take(1), "again");
}

// ---------------------------------------------------------------------------------------------
// Move-only payloads (the driver stores completion handlers)

TEST(RequestTable, MoveOnlyPayload)
{
    request_table<std::unique_ptr<int>> t;
    ASSERT_TRUE(t.insert(1, std::make_unique<int>(10), t0 + 1s));
    ASSERT_TRUE(t.insert(2, std::make_unique<int>(20), t0 + 2s));
    ASSERT_TRUE(t.insert(3, std::make_unique<int>(30), t0 + 3s));
    EXPECT_FALSE(t.insert(3, std::make_unique<int>(99), t0 + 4s));

    auto v = t.take(2);
    ASSERT_TRUE(v.has_value());
    ASSERT_NE(*v, nullptr);
    EXPECT_EQ(**v, 20);

    std::vector<int> expired;
    t.take_expired(t0 + 1s, [&](std::uint64_t id, std::unique_ptr<int>&& p) {
        EXPECT_EQ(id, 1u);
        ASSERT_NE(p, nullptr);
        expired.push_back(*p);
    });
    EXPECT_EQ(expired, std::vector<int>{10});

    std::vector<int> rest;
    t.take_all([&](std::uint64_t, std::unique_ptr<int>&& p) {
        ASSERT_NE(p, nullptr);
        rest.push_back(*p);
    });
    EXPECT_EQ(rest, std::vector<int>{30});
    EXPECT_TRUE(t.empty());
}

/// Move-constructible only: no copy, no assignment at all (like Boost 1.81's
/// any_completion_handler, which must not be move-assigned).
struct handler_like {
    explicit handler_like(int v) : value(std::make_unique<int>(v)) {}
    handler_like(handler_like&&) noexcept = default;
    handler_like(const handler_like&) = delete;
    handler_like& operator=(handler_like&&) = delete;
    handler_like& operator=(const handler_like&) = delete;
    ~handler_like() = default;
    std::unique_ptr<int> value;
};

TEST(RequestTable, MoveConstructOnlyPayload)
{
    request_table<handler_like> t;
    for (std::uint64_t id = 1; id <= 200; ++id)
        ASSERT_TRUE(t.insert(id, handler_like(static_cast<int>(id)),
                             t0 + std::chrono::milliseconds(static_cast<long long>(id))));
    // Forces compaction paths as well (many stale entries behind a live front).
    for (std::uint64_t id = 2; id <= 150; ++id) {
        auto v = t.take(id);
        ASSERT_TRUE(v.has_value());
        EXPECT_EQ(*v->value, static_cast<int>(id));
    }
    int n = 0;
    t.take_expired(t0 + 1s, [&](std::uint64_t id, handler_like&& h) {
        EXPECT_EQ(*h.value, static_cast<int>(id));
        ++n;
    });
    EXPECT_EQ(n, 51); // 1 and 151..200
    EXPECT_TRUE(t.empty());
}

// ---------------------------------------------------------------------------------------------
// The deadline FIFO stays bounded

/// A time point that counts its live instances, to observe how many deadline entries the
/// table holds (it stores one TimePoint per FIFO entry).
struct counted_time {
    static inline long long live = 0;
    long long ticks = 0;

    counted_time() noexcept { ++live; }
    explicit counted_time(long long t) noexcept : ticks(t) { ++live; }
    counted_time(const counted_time& o) noexcept : ticks(o.ticks) { ++live; }
    counted_time(counted_time&& o) noexcept : ticks(o.ticks) { ++live; }
    counted_time& operator=(const counted_time&) noexcept = default;
    counted_time& operator=(counted_time&&) noexcept = default;
    ~counted_time() { --live; }

    friend bool operator<=(const counted_time& a, const counted_time& b) noexcept
    {
        return a.ticks <= b.ticks;
    }
    friend bool operator==(const counted_time& a, const counted_time& b) noexcept
    {
        return a.ticks == b.ticks;
    }
};

TEST(RequestTableBounded, LongRunningFrontRequestDoesNotGrowTheFifo)
{
    counted_time::live = 0;
    {
        request_table<int, counted_time> t;
        // Request 0 is long-running: it stays at the front of the FIFO the whole time.
        ASSERT_TRUE(t.insert(0, 0, counted_time(1'000)));
        long long peak = 0;
        for (std::uint64_t id = 1; id <= 100'000; ++id) {
            const auto ticks = 1'000 + static_cast<long long>(id);
            ASSERT_TRUE(t.insert(id, static_cast<int>(id), counted_time(ticks)));
            auto v = t.take(id);
            ASSERT_TRUE(v.has_value());
            ASSERT_EQ(*v, static_cast<int>(id));
            peak = std::max(peak, counted_time::live);
        }
        EXPECT_EQ(t.size(), 1u);
        const auto next = t.next_deadline();
        ASSERT_TRUE(next.has_value());
        EXPECT_EQ(next->ticks, 1'000);
        // Entries held: bounded by a small constant (2 * size + 64 + slack), not 100,000.
        EXPECT_LE(peak, 2 * 1 + 64 + 8) << "deadline FIFO grew with completed requests";

        int expired = 0;
        t.take_expired(counted_time(1'000'000), [&](std::uint64_t id, int&&) {
            EXPECT_EQ(id, 0u);
            ++expired;
        });
        EXPECT_EQ(expired, 1);
        EXPECT_TRUE(t.empty());
    }
    EXPECT_EQ(counted_time::live, 0);
}

TEST(RequestTableBounded, ReverseOrderCompletionsBehindLongRunningRequest)
{
    // Request 0 never completes; windows of 100 requests complete newest-first (the stale
    // entries are not at the front, so only compaction can drop them).
    counted_time::live = 0;
    {
        request_table<int, counted_time> t;
        ASSERT_TRUE(t.insert(0, 0, counted_time(0)));
        long long peak = 0;
        std::uint64_t next_id = 1;
        for (int round = 0; round < 1'000; ++round) {
            const std::uint64_t first = next_id;
            for (int k = 0; k < 100; ++k, ++next_id)
                ASSERT_TRUE(t.insert(next_id, 0, counted_time(static_cast<long long>(next_id))));
            peak = std::max(peak, counted_time::live);
            for (std::uint64_t id = next_id; id-- > first;)
                ASSERT_TRUE(t.take(id).has_value());
            peak = std::max(peak, counted_time::live);
            ASSERT_EQ(t.size(), 1u);
        }
        EXPECT_LE(peak, 2 * 101 + 64 + 8) << "deadline FIFO grew with completed requests";
        const auto next = t.next_deadline();
        ASSERT_TRUE(next.has_value());
        EXPECT_EQ(next->ticks, 0);
    }
    EXPECT_EQ(counted_time::live, 0);
}

TEST(RequestTableBounded, HundredThousandWithLongRunningFrontIsFast)
{
    request_table<int> t;
    ASSERT_TRUE(t.insert(0, 0, t0 + 30s));
    const auto start = clock_type::now();
    for (std::uint64_t id = 1; id <= 100'000; ++id) {
        ASSERT_TRUE(
            t.insert(id, 1, t0 + 30s + std::chrono::microseconds(static_cast<long long>(id))));
        ASSERT_TRUE(t.take(id).has_value());
        if (id % 1000 == 0) {
            ASSERT_EQ(t.next_deadline(), t0 + 30s);
        }
    }
    const auto elapsed = clock_type::now() - start;
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t.next_deadline(), t0 + 30s);
    // Amortised O(1): 100,000 insert+take pairs take milliseconds; quadratic would take minutes.
    EXPECT_LT(elapsed, 2s);
}

// An id reused after take() while its old deadline entry still waits behind a live front: the
// old deadline must not expire the new request (links allocate increasing ids, but the table
// does not rely on it).
TEST(RequestTable, ReusedIdIsNotExpiredByItsPredecessorsDeadline)
{
    table t;
    ASSERT_TRUE(t.insert(1, "front", t0 + 10s));
    ASSERT_TRUE(t.insert(5, "old", t0 + 20s));
    ASSERT_TRUE(t.take(5).has_value()); // stale (20s, 5) stays behind the live front
    ASSERT_TRUE(t.insert(5, "new", t0 + 100s));
    auto e = expire(t, t0 + 20s);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].first, 1u);
    EXPECT_TRUE(t.contains(5)) << "new request 5 expired at its predecessor's deadline";
}

} // namespace
