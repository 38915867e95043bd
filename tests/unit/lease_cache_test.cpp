// lease_cache: per-thread parking of released links. One link per shard; take() serves the
// shard's own link and counts an acquire; a park counts a return with its hold; take_back()
// undoes a park only while the link is still there; reclaim_all() empties every shard; the
// counts add up across shards and threads. A shard keeps one pool reference for its next
// lease, and seal() gives every kept reference back and ends parking, also racing parks.

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
struct fake_anchor {};
using cache_type = tether::detail::lease_cache<fake_link, fake_anchor>;

TEST(LeaseCache, ParkTakeAndCount)
{
    cache_type cache;
    const auto shard = cache_type::my_shard();
    EXPECT_EQ(cache_type::my_shard(), shard) << "a thread keeps its shard";
    EXPECT_EQ(cache.take(shard).link, nullptr);

    auto l = std::make_shared<fake_link>(fake_link{1});
    const auto t0 = clock_type::now();
    ASSERT_TRUE(cache.park(shard, l, nullptr, t0, t0 + 3ms));
    EXPECT_EQ(l, nullptr) << "moved into the shard";
    EXPECT_EQ(cache.parked(), 1u);

    auto other = std::make_shared<fake_link>(fake_link{2});
    EXPECT_FALSE(cache.park(shard, other, nullptr, t0, t0)) << "one link per shard";
    EXPECT_NE(other, nullptr) << "untouched when refused";

    auto back = cache.take(shard).link;
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->id, 1);
    EXPECT_EQ(cache.parked(), 0u);
    EXPECT_EQ(cache.take(shard).link, nullptr);

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
    ASSERT_TRUE(cache.park(shard, l, nullptr, now, now));
    auto again = cache.take_back(shard, raw);
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again.get(), raw);
    EXPECT_EQ(cache.parked(), 0u);

    ASSERT_TRUE(cache.park(shard, again, nullptr, now, now));
    ASSERT_NE(cache.take(shard).link, nullptr); // another caller got it first
    EXPECT_EQ(cache.take_back(shard, raw), nullptr);
}

TEST(LeaseCache, ReclaimAllEmptiesEveryShardWithTheParkTime)
{
    cache_type cache;
    const auto now = clock_type::now();
    for (std::size_t s = 0; s < cache_type::shard_count; ++s) {
        auto l = std::make_shared<fake_link>(fake_link{static_cast<int>(s)});
        ASSERT_TRUE(cache.park(s, l, nullptr, now, now + std::chrono::milliseconds(s)));
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

TEST(LeaseCache, AShardKeepsALeasesReferenceForItsNextLease)
{
    cache_type cache;
    const auto shard = cache_type::my_shard();
    const auto now = clock_type::now();
    auto root = std::make_shared<fake_anchor>();
    auto l = std::make_shared<fake_link>(fake_link{1});
    auto a = root;
    ASSERT_TRUE(cache.park(shard, l, &a, now, now));
    EXPECT_EQ(a, nullptr) << "kept by the shard";
    auto t = cache.take(shard);
    ASSERT_NE(t.link, nullptr);
    EXPECT_EQ(t.anchor, root) << "handed to the next lease with the link";
    EXPECT_EQ(root.use_count(), 2);

    // Undoing a park leaves the reference in the shard; a later park keeps only one.
    const fake_link* raw = t.link.get();
    ASSERT_TRUE(cache.park(shard, t.link, &t.anchor, now, now));
    auto again = cache.take_back(shard, raw);
    ASSERT_NE(again, nullptr);
    auto surplus = root;
    ASSERT_TRUE(cache.park(shard, again, &surplus, now, now));
    EXPECT_EQ(surplus, root) << "the shard keeps one reference: the lease keeps its own";
    EXPECT_EQ(cache.take(shard).anchor, root);
    EXPECT_EQ(cache.take(shard).link, nullptr);
}

TEST(LeaseCache, SealGivesBackEveryKeptReferenceAndRefusesParking)
{
    cache_type cache;
    const auto now = clock_type::now();
    auto root = std::make_shared<fake_anchor>();
    for (std::size_t s = 0; s < 5; ++s) {
        auto l = std::make_shared<fake_link>(fake_link{static_cast<int>(s)});
        auto a = root;
        ASSERT_TRUE(cache.park(s, l, &a, now, now));
    }
    EXPECT_EQ(root.use_count(), 6);
    int given = 0;
    cache.seal([&](std::shared_ptr<fake_anchor> a) {
        EXPECT_EQ(a, root);
        ++given;
    });
    EXPECT_EQ(given, 5);
    EXPECT_EQ(root.use_count(), 1) << "the cache keeps none";
    EXPECT_EQ(cache.parked(), 5u) << "links stay for reclaim_all";

    auto l = std::make_shared<fake_link>(fake_link{9});
    auto a = root;
    EXPECT_FALSE(cache.park(cache_type::my_shard(), l, &a, now, now)) << "sealed";
    EXPECT_NE(l, nullptr);
    EXPECT_EQ(a, root);
    cache.seal([&](std::shared_ptr<fake_anchor>) { ++given; });
    EXPECT_EQ(given, 5) << "idempotent";
}

// Threads parking with references while another seals: once everyone stopped, the cache holds
// no reference (a parked one would keep a pool with no handle alive).
TEST(LeaseCache, NoReferenceSurvivesASealRacingParks)
{
    for (int round = 0; round < 20; ++round) {
        cache_type cache;
        auto root = std::make_shared<fake_anchor>();
        std::atomic<bool> go{false};
        std::vector<std::thread> workers;
        for (int t = 0; t < 3; ++t) {
            workers.emplace_back([&, t] {
                const auto shard = cache_type::my_shard();
                auto l = std::make_shared<fake_link>(fake_link{t});
                auto a = root;
                const auto now = clock_type::now();
                while (!go.load()) {
                }
                for (int i = 0; i < 5'000; ++i) {
                    if (!cache.park(shard, l, &a, now, now))
                        return; // sealed (or another thread's shard is busy): stop
                    auto taken = cache.take(shard);
                    if (!taken.link)
                        return;
                    l = std::move(taken.link);
                    if (taken.anchor)
                        a = std::move(taken.anchor);
                }
            });
        }
        go = true;
        std::this_thread::yield();
        cache.seal([](std::shared_ptr<fake_anchor>) {});
        for (auto& w : workers)
            w.join();
        cache.reclaim_all([](std::shared_ptr<fake_link>, clock_type::time_point) {});
        EXPECT_EQ(root.use_count(), 1) << "round " << round;
    }
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
                if (!cache.park(shard, l, nullptr, now, now))
                    ++misses;
                l = cache.take(shard).link;
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
