// Unit tests of the sans-io reconnect backoff (design.md §2 "Rebuild"): pure, seeded, no clock.

#include "sansio/backoff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using tether::sansio::backoff_params;
using tether::sansio::backoff_schedule;
using tether::sansio::jitter_rng;

backoff_params defaults()
{
    backoff_params p;
    p.initial = 200ms;
    p.multiplier = 1.6;
    p.max = 30'000ms;
    p.jitter = 0.2;
    return p;
}

backoff_params no_jitter()
{
    auto p = defaults();
    p.jitter = 0.0;
    return p;
}

double ms(milliseconds d)
{
    return static_cast<double>(d.count());
}

// ---------------------------------------------------------------------------------------------
// base_delay

TEST(BackoffBase, FollowsInitialTimesMultiplierPowerNMinusOne)
{
    const auto p = defaults();
    EXPECT_EQ(backoff_schedule::base_delay(p, 1), 200ms);
    EXPECT_EQ(backoff_schedule::base_delay(p, 2), 320ms);
    EXPECT_EQ(backoff_schedule::base_delay(p, 3), 512ms);
    EXPECT_EQ(backoff_schedule::base_delay(p, 4), 819ms);    // 819.2
    EXPECT_EQ(backoff_schedule::base_delay(p, 5), 1310ms);   // 1310.72
    EXPECT_EQ(backoff_schedule::base_delay(p, 6), 2097ms);   // 2097.152
    EXPECT_EQ(backoff_schedule::base_delay(p, 11), 21990ms); // 21990.23
}

TEST(BackoffBase, MatchesFormulaForEveryN)
{
    const auto p = defaults();
    for (unsigned n = 1; n <= 40; ++n) {
        const double expected =
            std::min(30'000.0, 200.0 * std::pow(1.6, static_cast<double>(n - 1)));
        const double got = ms(backoff_schedule::base_delay(p, n));
        EXPECT_NEAR(got, expected, 1.0) << "n=" << n;
        EXPECT_LE(got, expected) << "n=" << n; // never rounded up past the formula
    }
}

TEST(BackoffBase, IsMonotonicAndCappedAtMax)
{
    const auto p = defaults();
    milliseconds prev{0};
    for (unsigned n = 1; n <= 200; ++n) {
        const auto d = backoff_schedule::base_delay(p, n);
        EXPECT_GE(d, prev) << "n=" << n;
        EXPECT_LE(d, p.max) << "n=" << n;
        prev = d;
    }
    // 200 * 1.6^11 = 35184 > 30000: the cap is reached at n = 12 and stays.
    EXPECT_LT(backoff_schedule::base_delay(p, 11), p.max);
    EXPECT_EQ(backoff_schedule::base_delay(p, 12), p.max);
    EXPECT_EQ(backoff_schedule::base_delay(p, 13), p.max);
    EXPECT_EQ(backoff_schedule::base_delay(p, 100), p.max);
}

TEST(BackoffBase, NoOverflowForHugeExponents)
{
    auto p = defaults();
    p.multiplier = 10.0;
    EXPECT_EQ(backoff_schedule::base_delay(p, 1000), p.max); // 10^999 overflows to inf
    EXPECT_EQ(backoff_schedule::base_delay(p, 100000), p.max);
    EXPECT_EQ(backoff_schedule::base_delay(p, std::numeric_limits<unsigned>::max()), p.max);
    p.multiplier = 1.6;
    EXPECT_EQ(backoff_schedule::base_delay(p, 1000), p.max);
    EXPECT_EQ(backoff_schedule::base_delay(p, std::numeric_limits<unsigned>::max()), p.max);
}

TEST(BackoffBase, ZeroFailuresTreatedAsFirst)
{
    EXPECT_EQ(backoff_schedule::base_delay(defaults(), 0), 200ms);
}

TEST(BackoffBase, MultiplierOneIsConstant)
{
    auto p = defaults();
    p.multiplier = 1.0;
    for (unsigned n = 1; n <= 50; ++n)
        EXPECT_EQ(backoff_schedule::base_delay(p, n), 200ms) << "n=" << n;
}

// ---------------------------------------------------------------------------------------------
// on_failure

TEST(BackoffSchedule, ZeroJitterGivesExactBaseSequence)
{
    backoff_schedule s(no_jitter(), 42);
    const std::vector<long long> expected = {200,  320,   512,   819,   1310,  2097,  3355, 5368,
                                             8589, 13743, 21990, 30000, 30000, 30000, 30000};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(s.on_failure().count(), expected[i]) << "failure #" << i + 1;
        EXPECT_EQ(s.failures(), i + 1);
    }
}

TEST(BackoffSchedule, ManyFailuresCappedWithMultiplierTenFirstIsInitial)
{
    auto p = no_jitter();
    p.multiplier = 10.0;
    backoff_schedule s(p, 7);
    EXPECT_EQ(s.on_failure(), 200ms);
    EXPECT_EQ(s.on_failure(), 2000ms);
    EXPECT_EQ(s.on_failure(), 20000ms);
    for (int i = 0; i < 5000; ++i)
        ASSERT_EQ(s.on_failure(), p.max) << "i=" << i;
    EXPECT_GE(s.failures(), 1000u);
}

// Checks one jittered draw against its base: within [base(1-j), base(1+j)].
void expect_in_band(milliseconds d, double base, double jitter, int i)
{
    const double lo = std::floor(base * (1.0 - jitter));
    const double hi = std::ceil(base * (1.0 + jitter));
    ASSERT_GE(ms(d), lo) << "draw " << i << " base " << base;
    ASSERT_LE(ms(d), hi) << "draw " << i << " base " << base;
}

TEST(BackoffSchedule, JitteredDelaysStayInBandAndCoverIt)
{
    // Fixed base (at the cap): 10,000 draws around 30 s with ±20 %.
    const auto p = defaults();
    backoff_schedule s(p, 0x1234'5678'9abc'def0ULL);
    for (int i = 0; i < 11; ++i)
        (void)s.on_failure(); // climb to the cap
    const double base = 30'000.0;
    const double lo = base * 0.8, hi = base * 1.2;
    double mn = std::numeric_limits<double>::max(), mx = 0, sum = 0;
    constexpr int draws = 10'000;
    for (int i = 0; i < draws; ++i) {
        const auto d = s.on_failure();
        ASSERT_EQ(backoff_schedule::base_delay(p, s.failures()), p.max);
        expect_in_band(d, base, p.jitter, i);
        mn = std::min(mn, ms(d));
        mx = std::max(mx, ms(d));
        sum += ms(d);
    }
    const double mean = sum / draws;
    // Jitter is applied after the cap: values above max are expected.
    EXPECT_GT(mx, ms(p.max));
    // The band is covered: extremes within 0.5 % of the band's width from its ends.
    EXPECT_LT(mn, lo + 0.005 * (hi - lo)) << "min " << mn;
    EXPECT_GT(mx, hi - 0.005 * (hi - lo)) << "max " << mx;
    EXPECT_NEAR(mean, base, 0.02 * base);
}

TEST(BackoffSchedule, JitteredDelaysAreRoughlyUniform)
{
    const auto p = defaults();
    backoff_schedule s(p, 99);
    for (int i = 0; i < 11; ++i)
        (void)s.on_failure();
    const double lo = 24'000.0, width = 12'000.0;
    std::vector<int> buckets(5, 0);
    constexpr int draws = 10'000;
    for (int i = 0; i < draws; ++i) {
        const double v = ms(s.on_failure());
        auto b = static_cast<std::size_t>((v - lo) / width * 5.0);
        buckets[std::min<std::size_t>(b, 4)]++;
    }
    for (std::size_t b = 0; b < buckets.size(); ++b)
        EXPECT_NEAR(buckets[b], draws / 5, draws / 5 / 10) << "bucket " << b; // ±10 %
}

TEST(BackoffSchedule, EveryDrawInBandThroughTheWholeRamp)
{
    // Reset after every ramp so all bases (200 ms .. cap) are exercised: 10,000 draws.
    const auto p = defaults();
    backoff_schedule s(p, 2024);
    for (int i = 0; i < 10'000; ++i) {
        if (i % 20 == 0)
            s.reset();
        const auto d = s.on_failure();
        const double base = ms(backoff_schedule::base_delay(p, s.failures()));
        expect_in_band(d, base, p.jitter, i);
    }
}

TEST(BackoffSchedule, FirstFailureBandAroundInitial)
{
    const auto p = defaults();
    backoff_schedule s(p, 5);
    double mn = 1e9, mx = 0, sum = 0;
    constexpr int draws = 10'000;
    for (int i = 0; i < draws; ++i) {
        s.reset();
        const auto d = s.on_failure();
        ASSERT_EQ(s.failures(), 1u);
        expect_in_band(d, 200.0, p.jitter, i);
        mn = std::min(mn, ms(d));
        mx = std::max(mx, ms(d));
        sum += ms(d);
    }
    EXPECT_LE(mn, 161.0);
    EXPECT_GE(mx, 239.0);
    EXPECT_NEAR(sum / draws, 200.0, 4.0);
}

TEST(BackoffSchedule, ResetStartsOverAtInitial)
{
    backoff_schedule s(no_jitter(), 1);
    for (int i = 0; i < 8; ++i)
        (void)s.on_failure();
    EXPECT_EQ(s.failures(), 8u);
    s.reset();
    EXPECT_EQ(s.failures(), 0u);
    EXPECT_EQ(s.on_failure(), 200ms);
    EXPECT_EQ(s.on_failure(), 320ms);

    // With jitter too: after reset the next delay is in the initial band again.
    backoff_schedule j(defaults(), 1);
    for (int i = 0; i < 30; ++i)
        (void)j.on_failure();
    j.reset();
    const auto d = j.on_failure();
    EXPECT_GE(d, 160ms);
    EXPECT_LE(d, 240ms);
}

// ---------------------------------------------------------------------------------------------
// first_reconnect_delay

TEST(BackoffFirstReconnect, UniformInZeroToInitial)
{
    const auto p = defaults();
    backoff_schedule s(p, 77);
    std::set<milliseconds::rep> seen;
    milliseconds::rep mn = 1'000'000, mx = -1;
    double sum = 0;
    constexpr int draws = 10'000;
    for (int i = 0; i < draws; ++i) {
        const auto d = s.first_reconnect_delay();
        ASSERT_GE(d, 0ms);
        ASSERT_LE(d, p.initial);
        seen.insert(d.count());
        mn = std::min(mn, d.count());
        mx = std::max(mx, d.count());
        sum += ms(d);
    }
    EXPECT_GT(seen.size(), 150u); // spread, not all equal
    EXPECT_LE(mn, 2);
    EXPECT_GE(mx, 198);
    EXPECT_NEAR(sum / draws, 100.0, 3.0);
}

TEST(BackoffFirstReconnect, DoesNotAdvanceTheFailureCount)
{
    backoff_schedule s(no_jitter(), 3);
    (void)s.first_reconnect_delay();
    EXPECT_EQ(s.failures(), 0u);
    EXPECT_EQ(s.on_failure(), 200ms);
}

TEST(BackoffFirstReconnect, ClientsRestartingTogetherSpreadOut)
{
    // 100 clients with distinct seeds (e.g. from their own entropy) all lose the server at once.
    std::set<long long> delays;
    for (std::uint64_t seed = 1; seed <= 100; ++seed) {
        backoff_schedule s(defaults(), seed);
        delays.insert(s.first_reconnect_delay().count());
    }
    EXPECT_GT(delays.size(), 50u);
}

// ---------------------------------------------------------------------------------------------
// Determinism / lockstep avoidance

std::vector<long long> sequence(std::uint64_t seed, int n)
{
    backoff_schedule s(defaults(), seed);
    std::vector<long long> out;
    out.push_back(s.first_reconnect_delay().count());
    for (int i = 0; i < n; ++i)
        out.push_back(s.on_failure().count());
    return out;
}

TEST(BackoffDeterminism, SameSeedSameSequence)
{
    EXPECT_EQ(sequence(12345, 30), sequence(12345, 30));
    EXPECT_EQ(sequence(0, 30), sequence(0, 30));
}

TEST(BackoffDeterminism, DifferentSeedsDifferentSequences)
{
    const auto a = sequence(1, 30);
    const auto b = sequence(2, 30);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_NE(a, b);
    // Not just one differing element: most positions differ (no lockstep).
    std::size_t differing = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        differing += a[i] != b[i] ? 1u : 0u;
    EXPECT_GT(differing, a.size() * 3 / 4);
}

TEST(BackoffDeterminism, ManyClientsFailingTogetherDoNotRetryInLockstep)
{
    // 50 clients, each failing 12 times (reaching the cap): their 12th delays are spread out.
    std::set<long long> at_cap;
    for (std::uint64_t seed = 100; seed < 150; ++seed) {
        backoff_schedule s(defaults(), seed);
        long long last = 0;
        for (int i = 0; i < 12; ++i)
            last = s.on_failure().count();
        at_cap.insert(last);
    }
    EXPECT_GT(at_cap.size(), 45u);
}

TEST(BackoffRng, UnitIsInHalfOpenRangeAndSeeded)
{
    jitter_rng a(9), b(9), c(10);
    bool any_diff = false;
    for (int i = 0; i < 1000; ++i) {
        const double x = a.unit();
        EXPECT_GE(x, 0.0);
        EXPECT_LT(x, 1.0);
        EXPECT_EQ(x, b.unit());
        any_diff = any_diff || x != c.unit();
    }
    EXPECT_TRUE(any_diff);
}

} // namespace
