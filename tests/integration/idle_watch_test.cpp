// The pool's health loop for idle links (src/io/idle_watch.hpp) against real servers on
// loopback: quiet links are handed to it and stay probed, and every way out of it (a lease, a
// goaway, a close, a server ping, a hung peer, a pong in pieces, shutdown) behaves as it does
// for a link that never left its strand. Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "scripted_server.hpp"
#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using tether::test::scripted_server;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

/// How many idle links the pool's health loop holds, from pool.diagnostics().
std::size_t watched(tether::pool& pool)
{
    const std::string text = pool.diagnostics();
    const std::string key = "idle links in the health loop ";
    const auto at = text.find(key);
    if (at == std::string::npos)
        return 0;
    return std::stoul(text.substr(at + key.size()));
}

tether::pool_builder idle_pool(std::uint16_t port, std::size_t links, bool own_threads = true)
{
    tether::pool_builder b;
    if (own_threads)
        b.io_threads(2);
    b.endpoint("127.0.0.1", port)
        .min_connections(links)
        .max_connections(links)
        .ping_interval(scaled(100ms))
        .ping_timeout(scaled(400ms))
        .acquire_timeout(scaled(2s))
        .request_timeout(scaled(2s))
        .backoff(scaled(20ms), 2.0, scaled(100ms), 0.2);
    return b;
}

std::size_t thread_count()
{
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/task"))
        ++n;
    return n;
}

TEST(IdleWatch, QuietLinksGoToTheHealthLoopAndStayProbed)
{
    auto server = tether::testing::start_echo_server();
    auto pool = idle_pool(server->port(), 4).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return watched(pool) == 4; }, scaled(2s))) << pool.diagnostics();
    const auto before = pool.stats();
    ASSERT_TRUE(poll_until(
        [&] { return pool.stats().pongs_received >= before.pongs_received + 12; }, scaled(3s)));
    const auto s = pool.stats();
    EXPECT_EQ(watched(pool), 4u) << "pongs keep them in the loop";
    EXPECT_GE(s.pings_sent, s.pongs_received);
    EXPECT_LE(s.pings_sent - s.pongs_received, 4u) << "at most one ping outstanding per link";
    EXPECT_EQ(s.dead_links_detected, 0u);
    EXPECT_EQ(s.protocol_errors, 0u);
    EXPECT_EQ(server->connections_accepted(), 4u) << "healthy links are kept, not replaced";
}

TEST(IdleWatch, LeasesTakeWatchedLinksBackAndTheirRequestsAreAnswered)
{
    auto server = tether::testing::start_echo_server();
    auto pool = idle_pool(server->port(), 2).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    for (int round = 0; round < 6; ++round) {
        ASSERT_TRUE(poll_until([&] { return watched(pool) == 2; }, scaled(2s)))
            << "round " << round << ": " << pool.diagnostics();
        auto a = pool.acquire();
        auto b = pool.acquire();
        EXPECT_EQ(a.request(json{{"round", round}}), (json{{"round", round}}));
        EXPECT_EQ(b.request(json{{"other", round}}), (json{{"other", round}}));
        EXPECT_EQ(watched(pool), 0u) << "a link with a request is back on its strand";
        // Several requests in a row on the reclaimed link, notifies too.
        for (int i = 0; i < 5; ++i)
            EXPECT_EQ(a.request(json{{"i", i}}), (json{{"i", i}}));
        a.notify(json{{"n", round}});
    }
    const auto s = pool.stats();
    EXPECT_EQ(s.dead_links_detected, 0u);
    EXPECT_EQ(s.connections_lost, 0u);
    EXPECT_EQ(server->connections_accepted(), 2u);
}

TEST(IdleWatch, AGoawayOnAWatchedLinkIsSeenAtOnce)
{
    scripted_server server(scripted_server::options{});
    auto pool = idle_pool(server.port(), 2).ping_interval(scaled(300ms)).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return watched(pool) == 2; }, scaled(3s))) << pool.diagnostics();
    auto conns = server.connections();
    ASSERT_EQ(conns.size(), 2u);
    const auto sent = steady::now();
    conns[0]->send_message(tether::wire::goaway{"rotating"});
    ASSERT_TRUE(poll_until([&] { return pool.stats().goaways == 1; }, scaled(2s)));
    // Well inside a ping interval: the loop reads what arrives, not only pongs it waits for.
    EXPECT_LT(steady::now() - sent, scaled(150ms));
    ASSERT_TRUE(poll_until([&] { return !conns[0]->is_open(); }, scaled(2s)))
        << "the drained link closes (nothing outstanding)";
    ASSERT_TRUE(poll_until([&] { return server.connections_accepted() == 3; }, scaled(2s)));
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    auto l = pool.acquire();
    EXPECT_EQ(l.request(json{{"after", "goaway"}}), (json{{"after", "goaway"}}));
    EXPECT_EQ(pool.stats().connections_lost, 0u) << "a goaway is not a lost link";
}

TEST(IdleWatch, AWatchedLinkClosedByTheServerIsReplacedAtOnce)
{
    auto server = tether::testing::start_echo_server();
    auto pool = idle_pool(server->port(), 3).ping_interval(scaled(300ms)).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return watched(pool) == 3; }, scaled(3s))) << pool.diagnostics();
    const auto closed = steady::now();
    server->close_all_connections(false);
    ASSERT_TRUE(poll_until([&] { return pool.stats().connections_lost == 3; }, scaled(2s)))
        << pool.diagnostics();
    EXPECT_LT(steady::now() - closed, scaled(150ms)) << "seen at once, not at the next ping";
    ASSERT_TRUE(poll_until([&] { return server->connections_accepted() == 6; }, scaled(2s)));
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    auto l = pool.acquire();
    EXPECT_EQ(l.request(json{{"after", "close"}}), (json{{"after", "close"}}));
    EXPECT_EQ(pool.stats().dead_links_detected, 0u) << "closed, not silent";
}

TEST(IdleWatch, AServerPingOnAWatchedLinkIsAnswered)
{
    scripted_server server(scripted_server::options{});
    auto pool = idle_pool(server.port(), 1).ping_interval(scaled(300ms)).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return watched(pool) == 1; }, scaled(3s))) << pool.diagnostics();
    auto conn = server.connections().at(0);
    conn->send_message(tether::wire::ping{4242});
    ASSERT_TRUE(poll_until([&] { return conn->pongs_received() == 1; }, scaled(150ms)));
    // The link goes back to the loop at its next quiet ping and is still probed there.
    const auto pongs = pool.stats().pongs_received;
    ASSERT_TRUE(poll_until([&] { return pool.stats().pongs_received >= pongs + 3; }, scaled(3s)));
    EXPECT_EQ(watched(pool), 1u);
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(IdleWatch, PongsArrivingInPiecesAreReadWhole)
{
    // Every pong (the proving one too) arrives in three writes 5 ms apart.
    scripted_server::options opts;
    opts.answer_pings = false;
    opts.on_message = [](scripted_server::connection& c, const tether::wire::message& m) {
        if (const auto* ping = std::get_if<tether::wire::ping>(&m)) {
            std::string frame;
            tether::wire::serialize(tether::wire::pong{ping->id}, frame, 1u << 20);
            c.send_raw_in_pieces(frame, 3, 5ms);
        }
    };
    scripted_server server(std::move(opts));
    auto pool = idle_pool(server.port(), 2).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    const auto pongs = pool.stats().pongs_received;
    ASSERT_TRUE(poll_until([&] { return pool.stats().pongs_received >= pongs + 10; }, scaled(4s)));
    const auto s = pool.stats();
    EXPECT_EQ(s.protocol_errors, 0u);
    EXPECT_EQ(s.dead_links_detected, 0u);
    EXPECT_EQ(server.connections_accepted(), 2u);
    auto l = pool.acquire();
    EXPECT_EQ(l.request(json{{"whole", true}}), (json{{"whole", true}}));
}

TEST(IdleWatch, AHungPeerOfAWatchedLinkIsDeclaredDead)
{
    auto server = tether::testing::start_echo_server();
    const auto interval = scaled(100ms), timeout = scaled(200ms);
    auto pool = idle_pool(server->port(), 3).ping_interval(interval).ping_timeout(timeout).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return watched(pool) == 3; }, scaled(2s))) << pool.diagnostics();
    const auto hung = steady::now();
    server->set_unresponsive(true);
    ASSERT_TRUE(poll_until([&] { return pool.stats().dead_links_detected >= 3; },
                           interval + timeout + scaled(1s)))
        << pool.diagnostics();
    EXPECT_LE(steady::now() - hung, interval + timeout + scaled(300ms));
    server->set_unresponsive(false);
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    auto l = pool.acquire();
    EXPECT_EQ(l.request(json{{"after", "hang"}}), (json{{"after", "hang"}}));
}

TEST(IdleWatch, ObserversHearOfWatchedPongsOnIoThreads)
{
    struct recorder : tether::pool_observer {
        std::mutex m;
        std::set<std::thread::id> connect_threads, rtt_threads;
        std::atomic<int> rtts{0};
        void on_connected(const tether::endpoint&, std::uint64_t) override
        {
            std::lock_guard lock(m);
            connect_threads.insert(std::this_thread::get_id());
        }
        void on_ping_rtt(const tether::endpoint&, std::uint64_t, std::chrono::microseconds) override
        {
            std::lock_guard lock(m);
            rtt_threads.insert(std::this_thread::get_id());
            ++rtts;
        }
    };
    auto server = tether::testing::start_echo_server();
    auto obs = std::make_shared<recorder>();
    auto pool = idle_pool(server->port(), 3).io_threads(1).observer(obs).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return watched(pool) == 3; }, scaled(2s))) << pool.diagnostics();
    const int before = obs->rtts;
    ASSERT_TRUE(poll_until([&] { return obs->rtts >= before + 9; }, scaled(3s)));
    std::lock_guard lock(obs->m);
    ASSERT_EQ(obs->connect_threads.size(), 1u) << "one io thread";
    EXPECT_EQ(obs->rtt_threads, obs->connect_threads) << "only the io thread calls observers";
}

TEST(IdleWatch, ShutdownWithWatchedLinksIsPromptAndLeavesNoThread)
{
    auto server = tether::testing::start_echo_server();
    const std::size_t threads_before = thread_count();
    {
        auto pool = idle_pool(server->port(), 8).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        ASSERT_TRUE(poll_until([&] { return watched(pool) == 8; }, scaled(2s)))
            << pool.diagnostics();
        const auto start = steady::now();
        pool.shutdown(scaled(1s));
        EXPECT_LT(steady::now() - start, scaled(500ms));
        EXPECT_EQ(watched(pool), 0u);
    }
    ASSERT_TRUE(poll_until([&] { return server->connections_open() == 0; }, scaled(2s)));
    EXPECT_TRUE(poll_until([&] { return thread_count() == threads_before; }, scaled(2s)))
        << thread_count() << " threads, " << threads_before << " before the pool";
}

TEST(IdleWatch, PoolsOnAnApplicationsExecutorStartNoThreadAndKeepLinksOnTheirStrands)
{
    auto server = tether::testing::start_echo_server();
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    const std::size_t threads_before = thread_count();
    {
        auto pool = idle_pool(server->port(), 2, false).executor(io.get_executor()).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        const auto pongs = pool.stats().pongs_received;
        ASSERT_TRUE(
            poll_until([&] { return pool.stats().pongs_received >= pongs + 6; }, scaled(3s)));
        EXPECT_EQ(watched(pool), 0u);
        EXPECT_EQ(thread_count(), threads_before) << "no thread the application did not ask for";
        pool.shutdown(scaled(1s));
    }
    work.reset();
    runner.join();
}

} // namespace
