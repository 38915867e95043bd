// Health checking against real faults on loopback: proving new links, probing silent ones,
// TCP options, reconnect backoff. Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/use_future.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <set>
#include <signal.h>
#include <sys/socket.h>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

TEST(Health, HungServerThatStillAcceptsNeverYieldsALease)
{
    auto server = tether::testing::start_echo_server();
    server->set_unresponsive(true); // the kernel completes connects; nobody answers the ping
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .connect_timeout(scaled(300ms))
                    .acquire_timeout(scaled(1500ms))
                    .backoff(scaled(100ms), 2.0, scaled(400ms), 0.2)
                    .build();
    std::error_code ec;
    auto l = pool.acquire(ec);
    EXPECT_FALSE(l.valid());
    EXPECT_TRUE(ec == tether::errc::acquire_timeout || ec == tether::errc::no_endpoint_available)
        << ec.message();
    const auto s = pool.stats();
    EXPECT_EQ(s.connects, 0u) << "an unproven link must never count as connected";
    EXPECT_GE(s.connect_failures, 1u);
    EXPECT_NE(pool.diagnostics().find("proving ping"), std::string::npos) << pool.diagnostics();
}

TEST(Health, HungServerIsDetectedWithinPingIntervalPlusTimeout)
{
    auto server = tether::testing::start_echo_server();
    const auto interval = scaled(200ms), timeout = scaled(200ms);
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .ping_interval(interval)
                    .ping_timeout(timeout)
                    .request_timeout(scaled(10s))
                    .build();
    auto l = pool.acquire();
    ASSERT_EQ(l.request(json{{"a", 1}}), (json{{"a", 1}}));
    // The process hangs: its kernel still ACKs, nothing answers. A leased, busy link with a
    // request in flight must still be found dead and fail that request with connection_lost.
    server->set_unresponsive(true);
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    (void)l.request(json{{"b", 2}}, ec);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(ec, tether::errc::connection_lost);
    EXPECT_LE(took, interval + timeout + scaled(150ms)) << "not at its request_timeout";
    EXPECT_EQ(pool.stats().dead_links_detected, 1u);
    server->set_unresponsive(false);
}

// The same through the single knob: a hung server's idle link is found within the budget.
TEST(Health, DeadPeerBudgetBoundsDetectionOfAHungServer)
{
    auto server = tether::testing::start_echo_server();
    const auto budget = scaled(450ms);
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .dead_peer_budget(budget)
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    EXPECT_EQ(pool.config().dead_peer_detection_bound(), budget);
    server->set_unresponsive(true);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        poll_until([&] { return pool.stats().dead_links_detected == 1; }, budget + scaled(1s)));
    // From the last byte received (at most a ping interval before start) plus tick slack.
    EXPECT_LE(std::chrono::steady_clock::now() - start, budget + scaled(150ms));
    server->set_unresponsive(false);
}

TEST(Health, IdleLinksAreProbedAndKeptWhenTheyAnswer)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .min_connections(2)
                    .ping_interval(scaled(100ms))
                    .ping_timeout(scaled(500ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return pool.stats().pongs_received >= 6; }, scaled(3s)));
    const auto s = pool.stats();
    EXPECT_GE(s.pings_sent, s.pongs_received);
    EXPECT_EQ(s.dead_links_detected, 0u);
    EXPECT_EQ(s.total, 2u);
    EXPECT_EQ(server->connections_accepted(), 2u) << "healthy links are kept, not replaced";
}

// A ping timeout longer than the interval must not stretch the ping period to the timeout.
TEST(Health, PingPeriodFollowsTheIntervalWhenTheTimeoutIsLonger)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .min_connections(1)
                    .ping_interval(scaled(50ms))
                    .ping_timeout(scaled(400ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    const auto pings_before = server->pings_received();
    std::this_thread::sleep_for(scaled(800ms));
    const auto pings = server->pings_received() - pings_before;
    // 800 ms / 50 ms = 16 intervals (jitter only shortens them); stretched to the timeout it
    // would be 2. Allow for a slow machine.
    EXPECT_GE(pings, 10u);
    EXPECT_EQ(pool.stats().dead_links_detected, 0u);
}

TEST(Health, ServerPingsAreAnsweredWhileALeaseIsBusy)
{
    tether::testing::echo_server_options o;
    o.ping_interval = 20ms;
    tether::testing::echo_server server(o);
    server.start();
    auto pool = tether::pool_builder{}.endpoint("127.0.0.1", server.port()).io_threads(1).build();
    auto l = pool.acquire();
    const auto pongs_before = server.pongs_received();
    // The lease's only request sleeps on the server; its pings keep coming every 20 ms and must
    // be answered meanwhile, not after the reply.
    const auto sleep = std::max<std::chrono::milliseconds>(scaled(600ms), 600ms);
    auto reply =
        l.async_request(json{{"$test", {{"sleep_ms", sleep.count()}}}}, boost::asio::use_future);
    ASSERT_TRUE(poll_until([&] { return server.pongs_received() >= pongs_before + 5; }, sleep))
        << "pongs while the request was in flight: " << server.pongs_received() - pongs_before;
    EXPECT_NE(reply.wait_for(0s), std::future_status::ready)
        << "the pongs came only after the reply";
    EXPECT_NO_THROW(reply.get());
}

int read_tcp_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    EXPECT_EQ(::getsockopt(fd, level, name, &value, &len), 0);
    return value;
}

/// This process's TCP sockets connected to `port` on loopback.
std::vector<int> client_sockets_to(std::uint16_t port)
{
    std::vector<int> fds;
    for (int fd = 3; fd < 1024; ++fd) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
            peer.sin_family != AF_INET)
            continue;
        if (ntohs(peer.sin_port) == port)
            fds.push_back(fd);
    }
    return fds;
}

TEST(Health, TcpOptionsAreAppliedToPooledSockets)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .tcp_keepalive(17s, 4s, 5)
                    .tcp_user_timeout(7500ms)
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    // Our client socket among this process's descriptors: the one connected to the server.
    const auto fds = client_sockets_to(server->port());
    ASSERT_EQ(fds.size(), 1u);
    const int fd = fds.front();
    EXPECT_EQ(read_tcp_option(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(read_tcp_option(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(read_tcp_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 17);
    EXPECT_EQ(read_tcp_option(fd, IPPROTO_TCP, TCP_KEEPINTVL), 4);
    EXPECT_EQ(read_tcp_option(fd, IPPROTO_TCP, TCP_KEEPCNT), 5);
    EXPECT_EQ(read_tcp_option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 7500);
}

TEST(Health, DefaultTcpOptionsFollowThePingSettings)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .ping_interval(4s)
                    .ping_timeout(2500ms)
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    const auto fds = client_sockets_to(server->port());
    ASSERT_EQ(fds.size(), 1u);
    // Defaults (README): keep-alive 30 s / 10 s / 3, TCP_USER_TIMEOUT = ping_interval +
    // ping_timeout.
    EXPECT_EQ(read_tcp_option(fds.front(), SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(read_tcp_option(fds.front(), IPPROTO_TCP, TCP_KEEPIDLE), 30);
    EXPECT_EQ(read_tcp_option(fds.front(), IPPROTO_TCP, TCP_KEEPINTVL), 10);
    EXPECT_EQ(read_tcp_option(fds.front(), IPPROTO_TCP, TCP_KEEPCNT), 3);
    EXPECT_EQ(read_tcp_option(fds.front(), IPPROTO_TCP, TCP_USER_TIMEOUT), 6500);
}

class MockConnectObserver : public tether::pool_observer {
public:
    MOCK_METHOD(void, on_connect_failed, (const tether::endpoint&, std::error_code), (override));
    MOCK_METHOD(void, on_backoff, (const tether::endpoint&, std::chrono::milliseconds, unsigned),
                (override));
};

TEST(Health, RefusedConnectsBackOffWithinTheirBounds)
{
    using ::testing::_;
    using clock_type = std::chrono::steady_clock;
    // Port 1: nothing listens there, and outside the ephemeral range no loopback self-connect
    // can ever answer.
    const std::uint16_t port = 1;
    auto obs = std::make_shared<::testing::StrictMock<MockConnectObserver>>();
    std::mutex mutex;
    std::vector<clock_type::time_point> failed_at;
    std::vector<std::pair<unsigned, std::chrono::milliseconds>> delays;
    // A connect cut short by the shutdown at the end may report pool_closed.
    EXPECT_CALL(*obs, on_connect_failed(_, std::error_code(tether::errc::pool_closed)))
        .Times(::testing::AnyNumber());
    EXPECT_CALL(*obs, on_connect_failed(::testing::Field(&tether::endpoint::port, port),
                                        std::error_code(tether::errc::connect_failed)))
        .Times(::testing::AtLeast(5))
        .WillRepeatedly([&](const tether::endpoint&, std::error_code) {
            std::lock_guard lock(mutex);
            failed_at.push_back(clock_type::now());
        });
    EXPECT_CALL(*obs, on_backoff(::testing::Field(&tether::endpoint::port, port), _, _))
        .Times(::testing::AtLeast(5))
        .WillRepeatedly(
            [&](const tether::endpoint&, std::chrono::milliseconds delay, unsigned failures) {
                std::lock_guard lock(mutex);
                delays.emplace_back(failures, delay);
            });
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", port)
                    .io_threads(1)
                    .backoff(40ms, 2.0, 200ms, 0.25)
                    .observer(obs)
                    .build();
    ASSERT_TRUE(poll_until(
        [&] {
            std::lock_guard lock(mutex);
            return delays.size() >= 6 && failed_at.size() >= 6;
        },
        scaled(5s)));
    pool.shutdown();
    std::lock_guard lock(mutex);
    for (std::size_t k = 0; k < delays.size(); ++k) {
        const auto [failures, delay] = delays[k];
        EXPECT_EQ(failures, k + 1) << "failures count one by one";
        const double base = std::min(200.0, 40.0 * std::pow(2.0, failures - 1));
        EXPECT_GE(delay.count(), static_cast<long long>(base * 0.75) - 1) << "failure " << failures;
        EXPECT_LE(delay.count(), static_cast<long long>(base * 1.25) + 1) << "failure " << failures;
    }
    // The announced delays are kept: attempt k+1 fails (at once: refused) no sooner than delay
    // k after attempt k, and not much later either.
    for (std::size_t k = 0; k + 1 < failed_at.size() && k < delays.size(); ++k) {
        const auto gap = failed_at[k + 1] - failed_at[k];
        EXPECT_GE(gap, delays[k].second - 2ms) << "attempt " << k + 2 << " came early";
        EXPECT_LE(gap, delays[k].second + scaled(150ms)) << "attempt " << k + 2 << " came late";
    }
    EXPECT_GE(pool.stats().endpoints.at(0).consecutive_failures, 5u);
}

TEST(Health, RecoversAfterTheServerComesBack)
{
    auto server = tether::testing::start_echo_server();
    const auto port = server->port();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", port)
                    .io_threads(1)
                    .min_connections(2)
                    .backoff(20ms, 1.5, 100ms, 0.2)
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    server.reset(); // the server dies: every link breaks
    ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 2; }, scaled(3s)));
    tether::testing::echo_server_options o;
    o.port = port;
    tether::testing::echo_server again(o);
    again.start();
    ASSERT_TRUE(poll_until(
        [&] {
            const auto s = pool.stats();
            return s.idle == 2 && s.connecting == 0;
        },
        scaled(3s)))
        << pool.diagnostics();
    EXPECT_EQ(pool.request(json{{"back", true}}), (json{{"back", true}}));
    EXPECT_EQ(pool.stats().endpoints.at(0).consecutive_failures, 0u) << "reset by a proven link";
}

// The server dies and the pool is dropped at once, while its links are closing by themselves:
// shutdown must still finish every link and free the pool (LeakSanitizer checks the latter).
TEST(Health, PoolDroppedWhileItsServerDiesShutsDownCleanly)
{
    for (int round = 0; round < 20; ++round) {
        auto server = tether::testing::start_echo_server();
        auto pool = tether::pool_builder{}
                        .endpoint("127.0.0.1", server->port())
                        .io_threads(2)
                        .min_connections(4)
                        .backoff(1ms, 1.5, 5ms, 0.2)
                        .drain_timeout(scaled(5s))
                        .build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s))) << pool.diagnostics();
        const auto started = std::chrono::steady_clock::now();
        std::thread killer([&] { server.reset(); });
        if (round % 2 == 1)
            std::this_thread::sleep_for(std::chrono::microseconds(200 * round));
        pool = tether::pool{}; // last handle: shuts down and joins
        killer.join();
        // Links that closed by themselves must not leave the drain deadline running.
        EXPECT_LT(std::chrono::steady_clock::now() - started, scaled(2s)) << "round " << round;
    }
}

TEST(Health, TwoEndpointsWithOneDeadStillServeEveryAcquire)
{
    auto alive = tether::testing::start_echo_server();
    const std::uint16_t dead_port = 1; // nothing listens there
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", dead_port)
                    .endpoint("127.0.0.1", alive->port())
                    .io_threads(2)
                    .min_connections(1)
                    .max_connections(4)
                    .acquire_timeout(scaled(3s))
                    .backoff(50ms, 2.0, 1s, 0.2)
                    .build();
    // Three leases held at once force several connects, so round-robin tries the dead
    // endpoint too; every acquire must still succeed from the live one.
    for (int i = 0; i < 30; ++i) {
        std::vector<tether::lease> held;
        for (int k = 0; k < 3; ++k) {
            std::error_code ec;
            held.push_back(pool.acquire(ec));
            ASSERT_FALSE(ec) << i << ": " << ec.message() << " " << pool.diagnostics();
            EXPECT_EQ(held.back().request(json{{"i", i}}), (json{{"i", i}}));
        }
    }
    EXPECT_GE(pool.stats().endpoints.at(0).connect_failures, 1u);
    EXPECT_EQ(pool.stats().endpoints.at(0).connects, 0u);
}

TEST(Health, ResolutionGoesThroughTheResolverSeamAndItsFailuresBackOff)
{
    auto server = tether::testing::start_echo_server();
    std::atomic<int> calls{0};
    std::atomic<bool> dns_up{false};
    auto pool = tether::pool_builder{}
                    .endpoint("db.internal.example", server->port())
                    .io_threads(1)
                    .acquire_timeout(scaled(3s))
                    .backoff(20ms, 1.5, 100ms, 0.2)
                    .resolver([&](const tether::endpoint& ep, std::vector<std::string>& out) {
                        ++calls;
                        EXPECT_EQ(ep.host, "db.internal.example");
                        if (!dns_up)
                            return std::error_code(
                                boost::system::error_code(boost::asio::error::host_not_found));
                        out.push_back("127.0.0.1");
                        return std::error_code();
                    })
                    .build();
    ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 2; }, scaled(2s)));
    const auto diag = pool.diagnostics();
    EXPECT_NE(diag.find("resolve db.internal.example"), std::string::npos) << diag;
    EXPECT_GE(pool.stats().endpoints.at(0).consecutive_failures, 2u);
    dns_up = true;
    ASSERT_TRUE(pool.wait_ready(scaled(2s))) << pool.diagnostics();
    EXPECT_EQ(pool.request(json{{"via", "seam"}}), (json{{"via", "seam"}}));
    EXPECT_GE(calls.load(), 3);
}

TEST(Health, MaxConcurrentConnectsBoundsAWarmUpBurst)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(2)
                    .min_connections(24)
                    .max_connections(24)
                    .max_concurrent_connects(3)
                    .build();
    std::size_t most_connecting = 0;
    const bool warm = poll_until(
        [&] {
            const auto s = pool.stats();
            most_connecting = std::max(most_connecting, s.connecting);
            return s.idle == 24;
        },
        scaled(5s));
    ASSERT_TRUE(warm) << pool.diagnostics();
    EXPECT_LE(most_connecting, 3u);
    EXPECT_GE(most_connecting, 1u);
    EXPECT_EQ(server->connections_accepted(), 24u);
}

TEST(Health, LocalhostIsResolvedThroughAsio)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}.endpoint("localhost", server->port()).io_threads(1).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s))) << pool.diagnostics();
    EXPECT_EQ(pool.request(json{{"host", "localhost"}}), (json{{"host", "localhost"}}));
}

TEST(Recycling, SurplusIdleLinksAreClosedAfterIdleTimeout)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .min_connections(1)
                    .max_connections(4)
                    .idle_timeout(scaled(200ms))
                    .build();
    {
        std::vector<tether::lease> held;
        for (int i = 0; i < 3; ++i)
            held.push_back(pool.acquire());
        EXPECT_EQ(pool.stats().total, 3u);
    }
    EXPECT_EQ(pool.stats().idle, 3u);
    ASSERT_TRUE(poll_until([&] { return pool.stats().total == 1; }, scaled(2s)))
        << pool.diagnostics();
    std::this_thread::sleep_for(scaled(400ms));
    const auto s = pool.stats();
    EXPECT_EQ(s.total, 1u) << "never below min_connections";
    EXPECT_EQ(s.connections_lost, 0u) << "retirement is not a loss";
}

TEST(Recycling, MaxLifetimeReplacesLinksWithoutADipInCapacity)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .min_connections(1)
                    .max_connections(2)
                    .max_lifetime(scaled(150ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    // For a while, every moment has a proven link ready: make before break.
    std::set<std::uint64_t> seen;
    const auto until = std::chrono::steady_clock::now() + scaled(800ms);
    int dips = 0;
    while (std::chrono::steady_clock::now() < until) {
        const auto s = pool.stats();
        if (s.idle + s.leased == 0)
            ++dips;
        {
            std::error_code ec;
            auto l = pool.acquire(ec);
            ASSERT_FALSE(ec) << ec.message();
            seen.insert(l.link_id());
            EXPECT_EQ(l.request(json{{"k", 1}}), (json{{"k", 1}}));
        }
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(dips, 0);
    EXPECT_GE(seen.size(), 3u) << "links were rotated";
    EXPECT_LE(pool.stats().total, 2u);
    EXPECT_EQ(pool.stats().connections_lost, 0u);
}

// A link kept busy (leased nearly all the time) past max_lifetime: its replacement is proven
// while it is leased, so it must go when it comes back — not be reused, and not make the
// maintenance open one replacement after another.
TEST(Recycling, ABusyLinkPastMaxLifetimeIsRotatedWithoutGrowingThePool)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(2)
                    .min_connections(1)
                    .max_connections(8)
                    .max_lifetime(scaled(200ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    std::set<std::uint64_t> seen;
    std::size_t most_links = 0;
    const auto until = std::chrono::steady_clock::now() + scaled(1500ms);
    while (std::chrono::steady_clock::now() < until) {
        {
            auto l = pool.acquire();
            seen.insert(l.link_id());
            EXPECT_EQ(l.request(json{{"busy", 1}}), (json{{"busy", 1}}));
        }
        most_links = std::max(most_links, pool.stats().total);
    }
    EXPECT_GE(seen.size(), 4u) << "expired links kept being reused";
    EXPECT_LE(most_links, 3u) << "replacements piled up";
    EXPECT_EQ(pool.stats().connections_lost, 0u);
}

TEST(Recycling, MaxConcurrentConnectsHoldsWhileLinksAreRecycled)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(2)
                    .min_connections(16)
                    .max_connections(32)
                    .max_concurrent_connects(2)
                    .max_lifetime(scaled(300ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s))) << pool.diagnostics();
    ASSERT_TRUE(poll_until([&] { return pool.stats().idle == 16; }, scaled(3s)));
    // Sixteen links opened together expire together: their replacements must still respect
    // the connect cap, and each old link goes only once its replacement is proven.
    std::size_t most_connecting = 0;
    int dips = 0;
    const auto until = std::chrono::steady_clock::now() + scaled(1500ms);
    while (std::chrono::steady_clock::now() < until) {
        const auto s = pool.stats();
        most_connecting = std::max(most_connecting, s.connecting);
        if (s.idle + s.leased < 16)
            ++dips;
        std::this_thread::sleep_for(200us);
    }
    EXPECT_LE(most_connecting, 2u);
    EXPECT_GE(server->connections_accepted(), 32u) << "every link was replaced at least once";
    EXPECT_EQ(dips, 0) << "capacity fell below min_connections while recycling";
    EXPECT_EQ(pool.stats().connections_lost, 0u);
}

// Times at which the links of a pool closed, by link id.
class MockRetireObserver : public tether::pool_observer {
public:
    MOCK_METHOD(void, on_disconnected, (const tether::endpoint&, std::uint64_t, std::error_code),
                (override));
};

struct retire_log {
    std::mutex mutex;
    std::map<std::uint64_t, std::chrono::steady_clock::time_point> closed_at;

    std::size_t count(std::uint64_t first_id, std::uint64_t last_id)
    {
        std::lock_guard lock(mutex);
        return static_cast<std::size_t>(
            std::count_if(closed_at.begin(), closed_at.end(), [&](const auto& e) {
                return e.first >= first_id && e.first <= last_id;
            }));
    }
};

std::shared_ptr<MockRetireObserver> retire_observer(retire_log& log)
{
    auto obs = std::make_shared<::testing::NiceMock<MockRetireObserver>>();
    // Retirement drains the link: never a loss.
    EXPECT_CALL(*obs, on_disconnected(::testing::_, ::testing::_,
                                      std::error_code(tether::errc::connection_draining)))
        .WillRepeatedly([&log](const tether::endpoint&, std::uint64_t id, std::error_code) {
            std::lock_guard lock(log.mutex);
            log.closed_at.emplace(id, std::chrono::steady_clock::now());
        });
    EXPECT_CALL(*obs, on_disconnected(::testing::_, ::testing::_,
                                      std::error_code(tether::errc::pool_closed)))
        .Times(::testing::AnyNumber());
    return obs;
}

/// Checks retirement times against [0.9 limit, limit + slack] after `start` and that they
/// spread over the jitter band instead of coinciding.
void expect_spread_over_jitter_band(retire_log& log, std::uint64_t first_id, std::uint64_t last_id,
                                    std::chrono::steady_clock::time_point start,
                                    std::chrono::milliseconds limit)
{
    std::lock_guard lock(log.mutex);
    auto earliest = std::chrono::steady_clock::time_point::max();
    auto latest = std::chrono::steady_clock::time_point::min();
    for (const auto& [id, at] : log.closed_at) {
        if (id < first_id || id > last_id)
            continue;
        earliest = std::min(earliest, at);
        latest = std::max(latest, at);
        EXPECT_GE(at - start, limit * 9 / 10 - 5ms) << "link " << id << " retired too early";
        EXPECT_LE(at - start, limit + scaled(400ms)) << "link " << id << " retired too late";
    }
    // 16 uniform draws over a 10 % band: the chance that all fall within 2 % is about 1e-10.
    EXPECT_GE(latest - earliest, limit / 50) << "retirements were not spread by jitter";
}

TEST(Recycling, LinksOpenedTogetherReachMaxLifetimeSpreadOverTheJitterBand)
{
    auto server = tether::testing::start_echo_server();
    retire_log log;
    const auto lifetime = std::max<std::chrono::milliseconds>(scaled(1s), 1s);
    const auto start = std::chrono::steady_clock::now();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(2)
                    .min_connections(16)
                    .max_connections(32)
                    .max_lifetime(lifetime)
                    .observer(retire_observer(log))
                    .build();
    ASSERT_TRUE(poll_until([&] { return log.count(1, 16) == 16; }, lifetime + scaled(3s)))
        << pool.diagnostics();
    expect_spread_over_jitter_band(log, 1, 16, start, lifetime);
}

TEST(Recycling, LinksLeftIdleTogetherReachIdleTimeoutSpreadOverTheJitterBand)
{
    auto server = tether::testing::start_echo_server();
    retire_log log;
    const auto idle_timeout = std::max<std::chrono::milliseconds>(scaled(1s), 1s);
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(2)
                    .min_connections(1)
                    .max_connections(17)
                    .idle_timeout(idle_timeout)
                    .observer(retire_observer(log))
                    .build();
    std::vector<tether::lease> held;
    for (int i = 0; i < 17; ++i)
        held.push_back(pool.acquire());
    const auto start = std::chrono::steady_clock::now();
    held.clear(); // all 17 idle from now on; 16 of them are surplus
    ASSERT_TRUE(poll_until([&] { return log.count(1, 17) == 16; }, idle_timeout + scaled(3s)))
        << pool.diagnostics();
    expect_spread_over_jitter_band(log, 1, 17, start, idle_timeout);
    std::this_thread::sleep_for(scaled(200ms));
    EXPECT_EQ(pool.stats().total, 1u) << "never below min_connections";
}

} // namespace

namespace {

class LeakObserver : public tether::pool_observer {
public:
    void on_lease_held_too_long(std::uint64_t link_id, std::chrono::milliseconds held,
                                const std::source_location& site) override
    {
        std::lock_guard lock(mutex);
        reports.push_back({link_id, held, site.file_name(), site.line()});
    }
    struct report {
        std::uint64_t link_id;
        std::chrono::milliseconds held;
        std::string file;
        std::uint_least32_t line;
    };
    std::mutex mutex;
    std::vector<report> reports;
};

TEST(LeakDetection, ALeaseHeldTooLongIsReportedWithItsAcquireSite)
{
    auto server = tether::testing::start_echo_server();
    auto obs = std::make_shared<LeakObserver>();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .io_threads(1)
                    .lease_warn_threshold(scaled(100ms))
                    .observer(obs)
                    .build();
    const auto line = std::source_location::current().line() + 1;
    auto l = pool.acquire();
    ASSERT_TRUE(poll_until(
        [&] {
            std::lock_guard lock(obs->mutex);
            return !obs->reports.empty();
        },
        scaled(2s)));
    {
        std::lock_guard lock(obs->mutex);
        ASSERT_EQ(obs->reports.size(), 1u);
        const auto& r = obs->reports.front();
        EXPECT_EQ(r.link_id, l.link_id());
        EXPECT_GE(r.held, scaled(100ms));
        EXPECT_NE(r.file.find("health_test.cpp"), std::string::npos) << r.file;
        EXPECT_EQ(r.line, line);
    }
    auto s = pool.stats();
    EXPECT_EQ(s.leases_held_too_long, 1u);
    EXPECT_GE(s.longest_current_hold, scaled(100ms));
    std::this_thread::sleep_for(scaled(150ms));
    {
        std::lock_guard lock(obs->mutex);
        EXPECT_EQ(obs->reports.size(), 1u) << "reported once per lease";
    }
    l.release();
    s = pool.stats();
    EXPECT_EQ(s.leases_returned, 1u);
    // Hold times are read from the coarse monotonic clock: allow one kernel tick (<= 10 ms).
    EXPECT_GE(s.lease_hold_max, scaled(250ms) - 10ms);
    EXPECT_EQ(s.longest_current_hold, std::chrono::milliseconds(0));
    EXPECT_NE(pool.diagnostics().find("links"), std::string::npos);
}

} // namespace

namespace {

TEST(Lifetime, AWaiterHoldingTheLastReferenceTimesOutWithoutDeadlock)
{
    auto server = tether::testing::start_echo_server();
    server->set_unresponsive(true); // nothing is ever proven: the acquire must wait
    std::promise<boost::system::error_code> result;
    {
        auto pool = tether::pool_builder{}
                        .endpoint("127.0.0.1", server->port())
                        .io_threads(1)
                        .connect_timeout(scaled(2s))
                        .acquire_timeout(scaled(150ms))
                        .build();
        pool.async_acquire(
            [&](boost::system::error_code ec, tether::lease) { result.set_value(ec); });
    } // the handle is gone: the pending acquire now holds the pool's last reference
    auto f = result.get_future();
    ASSERT_EQ(f.wait_for(scaled(3s)), std::future_status::ready) << "deadlock or lost handler";
    EXPECT_EQ(f.get(), tether::errc::acquire_timeout);
    server->set_unresponsive(false);
}

TEST(Lifetime, ShutdownFromASignalHandlingThread)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}.endpoint("127.0.0.1", server->port()).io_threads(2).build();
    auto l = pool.acquire();
    std::atomic<bool> waiting{false}, finished{false};
    std::thread signal_thread([&] {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set, nullptr); // only this thread waits for it
        waiting = true;
        int received = 0;
        if (sigwait(&set, &received) == 0 && received == SIGUSR1) {
            pool.shutdown(scaled(200ms));
            finished = true;
        }
    });
    ASSERT_TRUE(poll_until([&] { return waiting.load(); }, scaled(2s)));
    ASSERT_EQ(pthread_kill(signal_thread.native_handle(), SIGUSR1), 0);
    signal_thread.join();
    EXPECT_TRUE(finished.load());
    std::error_code ec;
    (void)l.request(json{{"after", "signal"}}, ec);
    EXPECT_EQ(ec, tether::errc::pool_closed);
}

} // namespace
