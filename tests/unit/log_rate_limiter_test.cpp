// The log's rate limiter (src/sansio/log_rate_limiter.hpp) in virtual time: a budget per key
// and window, the count of what was left out told once, keys independent.

#include "sansio/log_rate_limiter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace std::chrono_literals;
using tether::sansio::log_key;
using tether::sansio::log_rate_limiter;
using tether::sansio::pool_time;

constexpr pool_time t0{std::chrono::hours(1)};
const log_key refused{1, 0};

TEST(LogRateLimiter, LetsTheBudgetThroughThenCountsTheRest)
{
    log_rate_limiter limiter({.per_window = 3, .window = 10s});
    for (int i = 0; i < 3; ++i) {
        const auto v = limiter.admit(refused, t0 + i * 1s);
        EXPECT_TRUE(v.write) << i;
        EXPECT_EQ(v.before.count, 0u);
    }
    EXPECT_FALSE(limiter.has_suppressed());
    for (int i = 3; i < 8; ++i)
        EXPECT_FALSE(limiter.admit(refused, t0 + i * 1s).write) << i;
    EXPECT_TRUE(limiter.has_suppressed());
}

TEST(LogRateLimiter, TheFirstMessageAfterTheWindowTellsWhatWasLeftOut)
{
    log_rate_limiter limiter({.per_window = 2, .window = 10s});
    for (int i = 0; i < 7; ++i)
        limiter.admit(refused, t0 + i * 100ms);
    EXPECT_FALSE(limiter.admit(refused, t0 + 9999ms).write) << "the window is not over yet";
    const auto v = limiter.admit(refused, t0 + 10s);
    EXPECT_TRUE(v.write);
    EXPECT_EQ(v.before.count, 6u);
    EXPECT_EQ(v.before.key, refused);
    EXPECT_EQ(v.before.span, 10s);
    EXPECT_FALSE(limiter.has_suppressed());
    // A new window opened with that message: one more goes through, then counting again.
    EXPECT_TRUE(limiter.admit(refused, t0 + 11s).write);
    EXPECT_FALSE(limiter.admit(refused, t0 + 12s).write);
    EXPECT_EQ(limiter.admit(refused, t0 + 20s).before.count, 1u);
}

TEST(LogRateLimiter, AWindowWithNothingLeftOutTellsNothing)
{
    log_rate_limiter limiter({.per_window = 2, .window = 10s});
    limiter.admit(refused, t0);
    const auto v = limiter.admit(refused, t0 + 30s);
    EXPECT_TRUE(v.write);
    EXPECT_EQ(v.before.count, 0u);
}

TEST(LogRateLimiter, KeysHaveBudgetsOfTheirOwn)
{
    log_rate_limiter limiter({.per_window = 1, .window = 10s});
    const log_key other_endpoint{1, 1}, other_kind{2, 0};
    EXPECT_TRUE(limiter.admit(refused, t0).write);
    EXPECT_FALSE(limiter.admit(refused, t0).write);
    EXPECT_TRUE(limiter.admit(other_endpoint, t0).write);
    EXPECT_TRUE(limiter.admit(other_kind, t0).write);
    EXPECT_TRUE(limiter.admit({2, log_key::no_endpoint}, t0).write);
}

TEST(LogRateLimiter, TakeSuppressedReportsWindowsThatAreOverOnce)
{
    log_rate_limiter limiter({.per_window = 1, .window = 10s});
    const log_key later{2, 0};
    limiter.admit(refused, t0);
    limiter.admit(refused, t0 + 1s);
    limiter.admit(refused, t0 + 2s);
    limiter.admit(later, t0 + 5s);
    limiter.admit(later, t0 + 6s);
    std::vector<log_rate_limiter::suppressed> told;
    limiter.take_suppressed(t0 + 9s, false, told);
    EXPECT_TRUE(told.empty()) << "no window is over";
    limiter.take_suppressed(t0 + 10s, false, told);
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].key, refused);
    EXPECT_EQ(told[0].count, 2u);
    EXPECT_EQ(told[0].span, 10s);
    EXPECT_TRUE(limiter.has_suppressed()) << "the other window still counts";
    told.clear();
    limiter.take_suppressed(t0 + 10s, false, told);
    EXPECT_TRUE(told.empty()) << "told once";
    // The window was forgotten: the next message opens a new one and goes through.
    const auto v = limiter.admit(refused, t0 + 11s);
    EXPECT_TRUE(v.write);
    EXPECT_EQ(v.before.count, 0u);
}

TEST(LogRateLimiter, TakeAllReportsWindowsStillOpenWithTheirSpanSoFar)
{
    log_rate_limiter limiter({.per_window = 1, .window = 10s});
    limiter.admit(refused, t0);
    limiter.admit(refused, t0 + 1s);
    std::vector<log_rate_limiter::suppressed> told;
    limiter.take_suppressed(t0 + 2500ms, true, told);
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].count, 1u);
    EXPECT_EQ(told[0].span, 2500ms);
    EXPECT_FALSE(limiter.has_suppressed());
}

} // namespace
