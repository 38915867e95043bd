// lease_cache: per-thread parking of released links. One link per shard; take() serves the
// shard's own link and counts an acquire; a park counts a return with its hold; take_back()
// undoes a park only while the link is still there; reclaim_all() empties every shard; the
// counts add up across shards and threads.

#include "io/lease_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct fake_link {
    int id = 0;
};
using cache_type = tether::detail::lease_cache<fake_link>;

TEST(LeaseCache, ParkTakeAndCount)
{
    cache_type cache;
    const auto shard = cache_type::my_shard();
    EXPECT_EQ(cache_type::my_shard(), shard) << "a thread keeps its shard";
    EXPECT_EQ(cache.take(shard), nullptr);

    auto l = std::make_shared<fake_link>(fake_link{1});
    const auto t0 = clock_type::now();
    ASSERT_TRUE(cache.park(shard, l, t0, t0 + 3ms));
    EXPECT_EQ(l, nullptr) << "moved into the shard";
    EXPECT_EQ(cache.parked(), 1u);

    auto other = std::make_shared<fake_link>(fake_link{2});
    EXPECT_FALSE(cache.park(shard, other, t0, t0)) << "one link per shard";
    EXPECT_NE(other, nullptr) << "untouched when refused";

    auto back = cache.take(shard);
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->id, 1);
    EXPECT_EQ(cache.parked(), 0u);
    EXPECT_EQ(cache.take(shard), nullptr);

    const auto c = cache.counts();
    EXPECT_EQ(c.acquires, 1u);
    EXPECT_EQ(c.returns, 1u);
    EXPECT_EQ(c.hold_total, std::chrono::duration_cast<clock_type::duration>(3ms));
    EXPECT_EQ(c.hold_max, std::chrono::duration_cast<clock_type::duration>(3ms));
    EXPECT_EQ(c.hold.count(), 1u);

    cache.uncount_acquire(shard);
    EXPECT_EQ(cache.counts().acquires, 0u);
}

TEST(LeaseCache, TakeBackOnlyWhileStillParked)
{
    cache_type cache;
    const auto shard = cache_type::my_shard();
    auto l = std::make_shared<fake_link>(fake_link{7});
    const fake_link* raw = l.get();
    const auto now = clock_type::now();
    ASSERT_TRUE(cache.park(shard, l, now, now));
    auto again = cache.take_back(shard, raw);
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again.get(), raw);
    EXPECT_EQ(cache.parked(), 0u);

    ASSERT_TRUE(cache.park(shard, again, now, now));
    ASSERT_NE(cache.take(shard), nullptr); // another caller got it first
    EXPECT_EQ(cache.take_back(shard, raw), nullptr);
}

TEST(LeaseCache, ReclaimAllEmptiesEveryShardWithTheParkTime)
{
    cache_type cache;
    const auto now = clock_type::now();
    for (std::size_t s = 0; s < cache_type::shard_count; ++s) {
        auto l = std::make_shared<fake_link>(fake_link{static_cast<int>(s)});
        ASSERT_TRUE(cache.park(s, l, now, now + std::chrono::milliseconds(s)));
    }
    EXPECT_EQ(cache.parked(), cache_type::shard_count);
    std::set<int> seen;
    cache.reclaim_all([&](std::shared_ptr<fake_link> l, clock_type::time_point at) {
        EXPECT_EQ(at, now + std::chrono::milliseconds(l->id));
        seen.insert(l->id);
    });
    EXPECT_EQ(seen.size(), cache_type::shard_count);
    EXPECT_EQ(cache.parked(), 0u);
    EXPECT_EQ(cache.counts().acquires, 0u) << "a reclaim is no acquire";
}

// Threads get shards of their own (up to shard_count of them), and counts from many threads
// cycling their links add up exactly.
TEST(LeaseCache, ThreadsCyclingTheirOwnLinksAddUp)
{
    cache_type cache;
    constexpr int threads = 4, cycles = 20'000;
    std::vector<std::thread> workers;
    std::vector<std::size_t> shards(threads);
    std::atomic<int> misses{0};
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const auto shard = cache_type::my_shard();
            shards[static_cast<std::size_t>(t)] = shard;
            auto l = std::make_shared<fake_link>(fake_link{t});
            const auto now = clock_type::now();
            for (int i = 0; i < cycles; ++i) {
                if (!cache.park(shard, l, now, now))
                    ++misses;
                l = cache.take(shard);
                if (!l || l->id != t) {
                    ++misses;
                    return;
                }
            }
        });
    }
    for (auto& w : workers)
        w.join();
    EXPECT_EQ(misses.load(), 0);
    EXPECT_EQ(std::set<std::size_t>(shards.begin(), shards.end()).size(),
              static_cast<std::size_t>(threads));
    const auto c = cache.counts();
    EXPECT_EQ(c.acquires, static_cast<std::uint64_t>(threads) * cycles);
    EXPECT_EQ(c.returns, static_cast<std::uint64_t>(threads) * cycles);
}

} // namespace
