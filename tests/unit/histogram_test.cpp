// tether::histogram and the lock-free recorder behind pool_stats' distributions.

#include "io/histogram_recorder.hpp"

#include <tether/histogram.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tether::histogram;

TEST(Histogram, BoundsStepOneTwoFiveFromAMicrosecondToAMinuteThenInfinity)
{
    const auto& b = histogram::bounds();
    EXPECT_DOUBLE_EQ(b[0], 1e-6);
    EXPECT_DOUBLE_EQ(b[1], 2e-6);
    EXPECT_DOUBLE_EQ(b[2], 5e-6);
    EXPECT_DOUBLE_EQ(b[3], 1e-5);
    EXPECT_DOUBLE_EQ(b[23], 50.0);
    EXPECT_DOUBLE_EQ(b[24], 60.0);
    EXPECT_TRUE(std::isinf(b[25]));
    for (std::size_t i = 1; i < b.size(); ++i)
        EXPECT_LT(b[i - 1], b[i]);
}

TEST(Histogram, BoundsAreInclusive)
{
    EXPECT_EQ(histogram::bucket_of(0), 0u);
    EXPECT_EQ(histogram::bucket_of(1'000), 0u) << "1 us is <= the 1 us bound";
    EXPECT_EQ(histogram::bucket_of(1'001), 1u);
    EXPECT_EQ(histogram::bucket_of(5'000'000), 11u) << "5 ms";
    EXPECT_EQ(histogram::bucket_of(60'000'000'000), 24u);
    EXPECT_EQ(histogram::bucket_of(60'000'000'001), 25u) << "over a minute: +Inf";
}

TEST(Histogram, CountsSumAndQuantiles)
{
    histogram h;
    EXPECT_EQ(h.quantile(0.5), 0.0) << "empty";
    for (int i = 0; i < 90; ++i)
        h.record(150us); // bucket (100 us, 200 us]
    for (int i = 0; i < 10; ++i)
        h.record(3ms); // bucket (2 ms, 5 ms]
    h.record(-5ms);    // counts as 0
    EXPECT_EQ(h.count(), 101u);
    EXPECT_NEAR(h.sum(), 90 * 150e-6 + 10 * 3e-3, 1e-12);
    EXPECT_EQ(h.counts()[histogram::bucket_of(150'000)], 90u);
    EXPECT_EQ(h.counts()[0], 1u);
    const double p50 = h.quantile(0.5);
    EXPECT_GT(p50, 100e-6);
    EXPECT_LE(p50, 200e-6);
    const double p99 = h.quantile(0.99);
    EXPECT_GT(p99, 2e-3);
    EXPECT_LE(p99, 5e-3);
    EXPECT_LE(h.quantile(1.0), 5e-3);
    EXPECT_LE(h.quantile(0.0), 1.001e-6);
}

TEST(Histogram, TheInfiniteBucketReadsAsTheLargestFiniteBound)
{
    histogram h;
    h.record(10min);
    EXPECT_EQ(h.counts().back(), 1u);
    EXPECT_DOUBLE_EQ(h.quantile(0.5), 60.0);
}

TEST(Histogram, SnapshotsAdd)
{
    histogram a, b;
    a.record(1ms);
    b.record(1ms);
    b.record(1s);
    a += b;
    EXPECT_EQ(a.count(), 3u);
    EXPECT_NEAR(a.sum(), 1.002, 1e-12);
}

TEST(HistogramRecorder, ManyThreadsLoseNothing)
{
    tether::detail::histogram_recorder r;
    constexpr int threads = 4, each = 50'000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&r, t] {
            for (int i = 0; i < each; ++i)
                r.record(std::chrono::microseconds(1 + (i + t) % 1000));
        });
    for (auto& t : pool)
        t.join();
    const histogram h = r.snapshot();
    EXPECT_EQ(h.count(), std::uint64_t{threads} * each);
    std::uint64_t in_buckets = 0;
    for (auto n : h.counts())
        in_buckets += n;
    EXPECT_EQ(in_buckets, h.count());
    EXPECT_GT(h.sum(), 0.0);
}
