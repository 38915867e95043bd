// Randomized event sequences against the sans-io pool core: seeded (the seed is printed; set
// TETHER_TEST_SEED to replay one), invariants checked after every step by the harness, then a
// shutdown that must complete every waiter exactly once and finish once every link closed.

#include "pool_core_harness.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iterator>
#include <random>

namespace {

using namespace std::chrono_literals;
using tether::errc;
using tether::test::pool_core_harness;
namespace sansio = tether::sansio;

template <class C> auto pick(const C& c, std::mt19937_64& rng)
{
    auto it = c.begin();
    std::advance(it, static_cast<long>(rng() % c.size()));
    return *it;
}

sansio::pool_limits random_limits(std::mt19937_64& rng)
{
    sansio::pool_limits l;
    l.min_connections = rng() % 4;
    l.max_connections = std::max<std::size_t>(1, l.min_connections + rng() % 4);
    l.max_concurrent_connects = 1 + rng() % 4;
    l.max_waiters = 1 + rng() % 6;
    l.acquire_timeout = std::chrono::milliseconds(100 + rng() % 3000);
    l.max_lifetime = std::chrono::seconds(1 + rng() % 60);
    l.idle_timeout = std::chrono::seconds(1 + rng() % 30);
    l.lease_warn_threshold = std::chrono::seconds(1 + rng() % 20);
    l.backoff = {std::chrono::milliseconds(10 + rng() % 200), 1.6, 2000ms, 0.2};
    l.fail_fast = rng() % 4 != 0;
    return l;
}

void run_one(std::uint64_t seed, int steps)
{
    std::mt19937_64 rng(seed);
    const auto limits = random_limits(rng);
    pool_core_harness h(limits, 1 + rng() % 3, seed);
    h.start();
    for (int i = 0; i < steps && !::testing::Test::HasFatalFailure(); ++i) {
        const auto roll = rng() % 100;
        std::vector<sansio::link_slot> in_service;
        h.core.records().for_each([&](sansio::link_slot s, const sansio::link_record& r) {
            if (r.status == sansio::link_status::idle || r.status == sansio::link_status::leased)
                in_service.push_back(s);
        });
        if (roll < 20) {
            h.acquire();
        } else if (roll < 35 && !h.connecting.empty()) {
            h.ready(pick(h.connecting, rng));
        } else if (roll < 42 && !h.connecting.empty()) {
            h.connect_fails(pick(h.connecting, rng));
        } else if (roll < 60 && !h.held.empty()) {
            h.give_back(pick(h.held, rng), rng() % 10 != 0);
        } else if (roll < 64 && !in_service.empty()) {
            h.goaway(pick(in_service, rng), rng() % 2 == 0);
        } else if (roll < 68 && !in_service.empty()) {
            h.closed(pick(in_service, rng), errc::connection_lost);
        } else if (roll < 78 && !h.retiring.empty()) {
            const auto s = pick(h.retiring, rng);
            if (!h.held.count(s))
                h.closed(s, errc::connection_draining);
        } else if (roll < 81 && !h.core.records().idle_stack().empty()) {
            h.unusable(pick(h.core.records().idle_stack(), rng));
        } else if (roll < 84 && !h.waiting.empty()) {
            h.cancel(pick(h.waiting, rng).first);
        } else if (roll == 84) { // a TLS reload with rotate_links
            h.expire_all();
        } else {
            const auto ms = rng() % 8 == 0 ? 1000 + rng() % 60'000 : rng() % 500;
            h.advance(std::chrono::milliseconds(ms));
        }
    }
    if (::testing::Test::HasFatalFailure())
        return;
    // Shutdown: every link closes (leases come back first), every waiter completed once.
    h.shutdown();
    for (auto s : std::vector<sansio::link_slot>(h.held.begin(), h.held.end()))
        h.give_back(s);
    std::vector<sansio::link_slot> open;
    h.core.records().for_each(
        [&](sansio::link_slot s, const sansio::link_record&) { open.push_back(s); });
    for (auto s : open)
        h.closed(s, errc::pool_closed);
    EXPECT_TRUE(h.core.finished());
    EXPECT_EQ(h.finished_count, 1u);
    for (const auto& [id, done] : h.waiting)
        EXPECT_TRUE(done) << "waiter " << id << " never completed";
    EXPECT_EQ(h.g(), sansio::link_gauges{});
}

TEST(PoolCoreRandom, InvariantsHoldAfterEveryStepOfSeededSequences)
{
    std::uint64_t base = std::random_device{}();
    if (const char* s = std::getenv("TETHER_TEST_SEED"))
        base = std::strtoull(s, nullptr, 10);
    int sequences = std::getenv("TETHER_TEST_SEED") ? 1 : 200;
    if (const char* n = std::getenv("TETHER_TEST_SEQUENCES"))
        sequences = std::atoi(n);
    for (int i = 0; i < sequences; ++i) {
        const std::uint64_t seed = base + static_cast<std::uint64_t>(i);
        SCOPED_TRACE("seed " + std::to_string(seed) +
                     " (replay: TETHER_TEST_SEED=" + std::to_string(seed) + ")");
        run_one(seed, 2000);
        if (HasFailure()) {
            std::printf("pool core randomized: FAILED at seed %llu\n",
                        static_cast<unsigned long long>(seed));
            return;
        }
    }
    std::printf("pool core randomized: %d sequences of 2000 steps from seed %llu passed\n",
                sequences, static_cast<unsigned long long>(base));
}

} // namespace
