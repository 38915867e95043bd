// The pool's per-thread cache of released links (src/io/lease_cache.hpp) against the reference
// server: what a thread parks is still the pool's — another thread gets it rather than a new
// connection, a waiter gets it first come first served, shutdown closes it at once — and the
// statistics count every lease it serves. A parked link keeps its lease's pool reference for the
// next lease, but never keeps a pool without handles alive.

#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

class LeaseCache : public ::testing::Test {
protected:
    std::unique_ptr<tether::testing::echo_server> server_ = tether::testing::start_echo_server();

    tether::pool_builder builder() const
    {
        tether::pool_builder b;
        b.endpoint("127.0.0.1", server_->port()).io_threads(1).acquire_timeout(scaled(3s));
        return b;
    }
};

TEST_F(LeaseCache, AnotherThreadGetsTheParkedLinkInsteadOfANewConnection)
{
    auto pool = builder().min_connections(1).max_connections(4).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    std::uint64_t first = 0;
    {
        auto l = pool.acquire();
        first = l.link_id();
    } // parked in this thread's cache
    std::uint64_t second = 0;
    std::thread([&] { second = pool.acquire().link_id(); }).join();
    EXPECT_EQ(second, first);
    const auto s = pool.stats();
    EXPECT_EQ(s.total, 1u) << "a parked link made the pool open another";
    EXPECT_EQ(s.connects, 1u);
    EXPECT_EQ(s.idle, 1u);
    EXPECT_EQ(s.leased, 0u);
}

TEST_F(LeaseCache, AWaiterIsServedWhileAnotherThreadCyclesTheOnlyLink)
{
    auto pool = builder().min_connections(1).max_connections(1).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    std::atomic<bool> stop{false};
    std::atomic<long> cycles{0};
    std::thread cycler([&] {
        const auto until = std::chrono::steady_clock::now() + scaled(5s); // bounded
        while (!stop && std::chrono::steady_clock::now() < until) {
            std::error_code ec;
            auto l = pool.acquire(ec);
            if (!ec)
                ++cycles;
        }
    });
    ASSERT_TRUE(poll_until([&] { return cycles.load() > 1000; }, scaled(3s)));
    for (int i = 0; i < 20; ++i) {
        std::error_code ec;
        auto l = pool.acquire(ec); // queues behind the cycler's lease, never starved by it
        EXPECT_FALSE(ec) << ec.message();
        if (l.valid()) {
            EXPECT_EQ(l.request(json{{"i", i}}), (json{{"i", i}}));
        }
    }
    stop = true;
    cycler.join();
    const auto s = pool.stats();
    EXPECT_EQ(s.acquire_timeouts, 0u);
    EXPECT_EQ(s.total, 1u);
    EXPECT_EQ(s.acquires, s.leases_returned);
    EXPECT_EQ(s.acquires, static_cast<std::uint64_t>(cycles.load()) + 20);
}

TEST_F(LeaseCache, StatisticsCountEveryLeaseTheCacheServed)
{
    auto pool = builder().build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    constexpr int cycles = 1000;
    for (int i = 0; i < cycles; ++i)
        (void)pool.acquire();
    const auto s = pool.stats();
    EXPECT_EQ(s.acquires, static_cast<std::uint64_t>(cycles));
    EXPECT_EQ(s.leases_returned, static_cast<std::uint64_t>(cycles));
    EXPECT_EQ(s.lease_use.count(), static_cast<std::uint64_t>(cycles));
    EXPECT_EQ(s.acquire_wait.count(), static_cast<std::uint64_t>(cycles));
    EXPECT_EQ(s.idle, s.total);
    EXPECT_EQ(s.leased, 0u);
}

TEST_F(LeaseCache, LeaseWarningsCountFromTheCachedLeaseNotTheFirstOne)
{
    const auto threshold = scaled(300ms);
    auto pool = builder().lease_warn_threshold(threshold).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    const auto until = std::chrono::steady_clock::now() + 2 * threshold;
    while (std::chrono::steady_clock::now() < until)
        (void)pool.acquire(); // short leases, all through the cache after the first
    EXPECT_EQ(pool.stats().leases_held_too_long, 0u);
    auto held = pool.acquire();
    EXPECT_TRUE(
        poll_until([&] { return pool.stats().leases_held_too_long == 1; }, threshold + scaled(2s)));
}

TEST_F(LeaseCache, ShutdownClosesAParkedLinkAtOnce)
{
    auto pool = builder().drain_timeout(scaled(10s)).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    (void)pool.acquire(); // parked
    const auto start = std::chrono::steady_clock::now();
    pool.shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(5s))
        << "the parked link was drained like a leased one";
    EXPECT_EQ(pool.stats().total, 0u);
}

// The cache keeps the parked lease's pool reference: the last handle must still shut the pool
// down, on its own thread (joined: no io thread left), whatever copies came and went.
TEST_F(LeaseCache, TheLastHandleShutsThePoolDownThoughLinksWereParked)
{
    const int threads_before = tether::test::thread_count();
    {
        auto pool = builder().min_connections(1).build();
        ASSERT_TRUE(pool.wait_ready(scaled(3s)));
        auto copy = pool;
        const auto& same = copy;
        copy = same; // self-assignment keeps one handle
        for (int i = 0; i < 3; ++i)
            EXPECT_EQ(copy.acquire().request(json{{"i", i}}), (json{{"i", i}})); // parks
        {
            const tether::pool moved = std::move(copy);
            tether::pool assigned;
            assigned = moved;
        } // two handles gone, one left: the cache goes on serving
        EXPECT_EQ(pool.acquire().request(json{{"still", true}}), (json{{"still", true}}));
        EXPECT_GT(tether::test::thread_count(), threads_before);
    } // the last handle
    EXPECT_EQ(tether::test::thread_count(), threads_before) << "the pool outlived its handles";
}

TEST_F(LeaseCache, ALeaseOutlivingTheLastHandleKeepsThePoolUntilItGoes)
{
    const int threads_before = tether::test::thread_count();
    std::optional<tether::lease> kept;
    {
        auto pool = builder().min_connections(2).max_connections(2).build();
        ASSERT_TRUE(pool.wait_ready(scaled(3s)));
        kept.emplace(pool.acquire());
        (void)pool.acquire(); // the other link, parked with its reference
    }
    EXPECT_EQ(kept->request(json{{"after", 1}}), (json{{"after", 1}}))
        << "the lease still works with no handle left";
    EXPECT_GT(tether::test::thread_count(), threads_before);
    kept.reset(); // the last reference: shuts the pool down here
    EXPECT_EQ(tether::test::thread_count(), threads_before);
}

} // namespace
