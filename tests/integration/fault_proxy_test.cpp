// Network faults between the pool and the reference server, injected by tether::test::fault_proxy
// (silence, cuts with RST and FIN, 1-byte segments, delay) or by killing the server. Every test
// asserts bounds, scaled by TETHER_TEST_TIME_SCALE.

#include "fault_proxy.hpp"
#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tether::test::fault_proxy;
using tether::test::open_fd_count;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

tether::pool_builder builder_for(std::uint16_t port)
{
    tether::pool_builder b;
    b.endpoint("127.0.0.1", port)
        .io_threads(2)
        .min_connections(1)
        .max_connections(4)
        .acquire_timeout(scaled(3s))
        .connect_timeout(scaled(2s))
        .request_timeout(scaled(5s))
        .backoff(20ms, 2.0, 200ms, 0.2);
    return b;
}

json sleep_body(std::chrono::milliseconds sleep, int tag)
{
    return {{"tag", tag}, {"$test", {{"sleep_ms", static_cast<std::uint64_t>(sleep.count())}}}};
}

long long ms(steady::duration d)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// Outcomes of asynchronous requests, recorded with the moment each completed.
struct flights {
    struct outcome {
        boost::system::error_code ec;
        json reply;
        steady::time_point at;
    };

    explicit flights(std::size_t n) : results(n) {}

    auto handler(std::size_t i)
    {
        return [this, i](boost::system::error_code ec, json reply) {
            {
                std::lock_guard lock(mutex);
                results[i] = outcome{ec, std::move(reply), steady::now()};
            }
            ++done;
        };
    }

    bool wait_all(std::chrono::milliseconds timeout)
    {
        return poll_until([&] { return done.load() == static_cast<int>(results.size()); }, timeout);
    }

    std::mutex mutex;
    std::vector<std::optional<outcome>> results;
    std::atomic<int> done{0};
};

// --- 1. silence -------------------------------------------------------------------------------

TEST(FaultProxyBlackhole, InFlightRequestFailsWithinPingBoundAndThePoolRecovers)
{
    const int fds_before = open_fd_count();
    {
        auto server = tether::testing::start_echo_server();
        fault_proxy proxy("127.0.0.1", server->port());
        const auto interval = scaled(200ms), timeout = scaled(200ms);
        auto pool = builder_for(proxy.port())
                        .ping_interval(interval)
                        .ping_timeout(timeout)
                        .request_timeout(scaled(10s))
                        .connect_timeout(scaled(500ms))
                        .build();
        auto l = pool.acquire();
        const auto old_link = l.link_id();
        ASSERT_EQ(l.request(json{{"a", 1}}), (json{{"a", 1}}));
        ASSERT_EQ(server->requests(), 1u);

        proxy.set_mode(fault_proxy::mode::blackhole);
        const auto start = steady::now();
        std::error_code ec;
        (void)l.request(json{{"b", 2}}, ec);
        const auto took = steady::now() - start;
        EXPECT_EQ(ec, tether::errc::connection_lost) << ec.message();
        EXPECT_LE(took, interval + timeout + scaled(200ms)) << "not at its request_timeout";
        std::cout << "[          ] blackhole detected after " << ms(took) << " ms (bound "
                  << (interval + timeout + scaled(200ms)).count() << ")\n";
        EXPECT_GE(pool.stats().dead_links_detected, 1u);
        EXPECT_EQ(server->requests(), 1u) << "the proxy let a request through the blackhole";
        l.release();

        // Replacements opened meanwhile cannot be proven (their ping is swallowed too); once the
        // path is back, the next one (or the one still proving) is.
        proxy.set_mode(fault_proxy::mode::pass);
        const auto back = steady::now();
        auto fresh = pool.acquire(ec);
        ASSERT_FALSE(ec) << ec.message() << " " << pool.diagnostics();
        EXPECT_EQ(fresh.request(json{{"c", 3}}), (json{{"c", 3}}));
        const auto recovered = steady::now() - back;
        std::cout << "[          ] recovered " << ms(recovered) << " ms after the path came back\n";
        EXPECT_LT(recovered, scaled(1500ms)) << pool.diagnostics();
        EXPECT_NE(fresh.link_id(), old_link);
    }
    EXPECT_TRUE(poll_until([&] { return open_fd_count() == fds_before; }, scaled(3s)))
        << open_fd_count() << " descriptors open, " << fds_before << " before";
}

TEST(FaultProxyBlackhole, StreamsResumeIntactWhenThePathComesBack)
{
    // Blackhole holds bytes instead of dropping them: a short silence (shorter than the ping
    // bound) must leave the link and its requests intact.
    auto server = tether::testing::start_echo_server();
    fault_proxy proxy("127.0.0.1", server->port());
    auto pool = builder_for(proxy.port()).build(); // default ping_interval: 10 s
    auto l = pool.acquire();
    const auto link = l.link_id();
    ASSERT_EQ(l.request(json{{"a", 1}}), (json{{"a", 1}}));
    proxy.set_mode(fault_proxy::mode::blackhole);
    flights f(5);
    for (std::size_t i = 0; i < 5; ++i)
        l.async_request(json{{"i", i}, {"pad", std::string(1000 * i, 'p')}}, f.handler(i));
    std::this_thread::sleep_for(scaled(150ms));
    EXPECT_EQ(f.done.load(), 0) << "an answer crossed the blackhole";
    EXPECT_EQ(server->requests(), 1u);
    proxy.set_mode(fault_proxy::mode::pass);
    ASSERT_TRUE(f.wait_all(scaled(2s)));
    for (std::size_t i = 0; i < 5; ++i) {
        ASSERT_TRUE(f.results[i]);
        EXPECT_FALSE(f.results[i]->ec) << f.results[i]->ec.message();
        EXPECT_EQ(f.results[i]->reply, (json{{"i", i}, {"pad", std::string(1000 * i, 'p')}}));
    }
    EXPECT_EQ(l.link_id(), link);
    EXPECT_EQ(pool.stats().connections_lost, 0u);
    EXPECT_EQ(proxy.connections_accepted(), 1u);
}

// --- 2. cuts ----------------------------------------------------------------------------------

void cut_scenario(bool reset)
{
    const int fds_before = open_fd_count();
    {
        auto server = tether::testing::start_echo_server();
        fault_proxy proxy("127.0.0.1", server->port());
        auto pool = builder_for(proxy.port()).min_connections(2).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s))) << pool.diagnostics();
        ASSERT_TRUE(poll_until([&] { return proxy.connections_open() == 2; }, scaled(2s)));
        auto a = pool.acquire();
        auto b = pool.acquire();
        ASSERT_NE(a.link_id(), b.link_id());
        // Two requests in flight on each link, all of them held by the server.
        flights f(4);
        a.async_request(sleep_body(scaled(5s), 0), f.handler(0));
        a.async_request(sleep_body(scaled(5s), 1), f.handler(1));
        b.async_request(sleep_body(scaled(5s), 2), f.handler(2));
        b.async_request(sleep_body(scaled(5s), 3), f.handler(3));
        ASSERT_TRUE(poll_until([&] { return server->requests() == 4; }, scaled(2s)));

        const auto cut = steady::now();
        proxy.cut_all(reset);
        ASSERT_TRUE(f.wait_all(scaled(2s)));
        long long slowest = 0;
        for (const auto& r : f.results) {
            ASSERT_TRUE(r);
            EXPECT_EQ(r->ec, tether::errc::connection_lost) << r->ec.message();
            EXPECT_LE(r->at - cut, scaled(100ms));
            slowest = std::max(slowest, ms(r->at - cut));
        }
        std::cout << "[          ] " << (reset ? "RST" : "FIN")
                  << ": in-flight requests failed within " << slowest << " ms of the cut\n";
        std::error_code ec;
        (void)a.request(json{{"again", 1}}, ec);
        EXPECT_EQ(ec, tether::errc::connection_lost)
            << "a broken lease fails fast: " << ec.message();
        a.release();
        b.release();

        const auto refill = steady::now();
        ASSERT_TRUE(poll_until(
            [&] {
                const auto s = pool.stats();
                return s.idle == 2 && s.connecting == 0 && s.total == 2;
            },
            scaled(3s)))
            << pool.diagnostics();
        std::cout << "[          ] back to min_connections after " << ms(steady::now() - refill)
                  << " ms\n";
        EXPECT_GE(pool.stats().connections_lost, 2u);
        EXPECT_EQ(pool.request(json{{"after", "cut"}}), (json{{"after", "cut"}}));
        EXPECT_EQ(proxy.connections_accepted(), 4u) << "two links replaced, nothing more";
        EXPECT_TRUE(poll_until([&] { return proxy.connections_open() == 2; }, scaled(2s)))
            << proxy.connections_open();
    }
    EXPECT_TRUE(poll_until([&] { return open_fd_count() == fds_before; }, scaled(3s)))
        << open_fd_count() << " descriptors open, " << fds_before << " before";
}

TEST(FaultProxyCut, WithRstFailsInFlightRequestsFastAndThePoolRefills)
{
    cut_scenario(true);
}

TEST(FaultProxyCut, WithFinFailsInFlightRequestsFastAndThePoolRefills)
{
    cut_scenario(false);
}

// --- 3. one byte at a time --------------------------------------------------------------------

TEST(FaultProxySlice, EveryBodySizeSurvivesOneByteWritesPipelined)
{
    auto server = tether::testing::start_echo_server();
    fault_proxy proxy("127.0.0.1", server->port());
    proxy.set_mode(fault_proxy::mode::slice); // the proving ping is sliced too
    auto pool = builder_for(proxy.port()).request_timeout(scaled(60s)).build();

    constexpr std::size_t n = 200;
    const std::size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 31, 64, 127, 255, 256, 1000, 1023, 4096};
    std::vector<json> bodies;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t size = i == 100 ? 100 * 1024 : sizes[i % std::size(sizes)];
        std::string s(size, static_cast<char>('a' + static_cast<int>(i % 26)));
        json body{{"i", i}, {"s", s}};
        if (i % 5 == 0)
            body["utf8"] =
                "\xC3\xBC \xE2\x82\xAC \xF0\x9F\x98\x80"; // multi-byte code points split too
        if (i % 7 == 0)
            body["nested"] = json{{"a", json::array({1, 2.5, nullptr, true, "x"})}};
        bytes += body.dump().size();
        bodies.push_back(std::move(body));
    }
    const auto start = steady::now();
    auto l = pool.acquire();
    // A few one at a time, then the rest pipelined on the same lease.
    for (std::size_t i = 0; i < 10; ++i)
        ASSERT_EQ(l.request(bodies[i]), bodies[i]) << i;
    flights f(n - 10);
    for (std::size_t i = 10; i < n; ++i)
        l.async_request(bodies[i], f.handler(i - 10));
    ASSERT_TRUE(f.wait_all(scaled(60s))) << f.done.load() << " of " << n - 10 << " done";
    for (std::size_t i = 10; i < n; ++i) {
        const auto& r = f.results[i - 10];
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->ec) << i << ": " << r->ec.message();
        EXPECT_EQ(r->reply, bodies[i]) << i;
    }
    std::cout << "[          ] " << n << " requests, " << bytes
              << " body bytes each way, sliced, in " << ms(steady::now() - start) << " ms\n";
    EXPECT_EQ(proxy.connections_accepted(), 1u) << "all on one link";
    EXPECT_EQ(server->requests(), n);
    EXPECT_EQ(pool.stats().protocol_errors, 0u);
}

// --- 4. delay ---------------------------------------------------------------------------------

TEST(FaultProxyDelay, LatencyIncludesTheDelayBothWays)
{
    auto server = tether::testing::start_echo_server();
    fault_proxy proxy("127.0.0.1", server->port());
    auto pool = builder_for(proxy.port()).build();
    auto l = pool.acquire();
    ASSERT_EQ(l.request(json{{"warm", 1}}), (json{{"warm", 1}}));
    proxy.set_delay(50ms);
    long long slowest = 0;
    for (int i = 0; i < 5; ++i) {
        const auto start = steady::now();
        EXPECT_EQ(l.request(json{{"i", i}}), (json{{"i", i}}));
        const auto took = steady::now() - start;
        EXPECT_GE(took, 100ms) << "one delay each way";
        EXPECT_LT(took, 100ms + scaled(300ms));
        slowest = std::max(slowest, ms(took));
    }
    // Pipelined: each chunk is delayed from when the proxy read it, so delays do not add up.
    flights f(10);
    const auto start = steady::now();
    for (std::size_t i = 0; i < 10; ++i)
        l.async_request(json{{"p", i}}, f.handler(i));
    ASSERT_TRUE(f.wait_all(scaled(3s)));
    for (std::size_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(f.results[i]);
        EXPECT_FALSE(f.results[i]->ec);
        EXPECT_EQ(f.results[i]->reply, (json{{"p", i}}));
        EXPECT_GE(f.results[i]->at - start, 100ms);
        EXPECT_LT(f.results[i]->at - start, 100ms + scaled(300ms));
    }
    std::cout << "[          ] with 50 ms each way: slowest sequential request " << slowest
              << " ms\n";
    EXPECT_EQ(pool.stats().request_timeouts, 0u);
}

TEST(FaultProxyDelay, RequestTimeoutBelowTheDelayKeepsTheLink)
{
    auto server = tether::testing::start_echo_server();
    fault_proxy proxy("127.0.0.1", server->port());
    const auto delay = scaled(150ms), timeout = scaled(100ms);
    auto pool = builder_for(proxy.port()).request_timeout(timeout).build();
    auto l = pool.acquire();
    const auto link = l.link_id();
    ASSERT_EQ(l.request(json{{"before", 1}}), (json{{"before", 1}}));
    proxy.set_delay(delay);
    const auto start = steady::now();
    std::error_code ec;
    (void)l.request(json{{"late", 1}}, ec);
    const auto took = steady::now() - start;
    EXPECT_EQ(ec, tether::errc::request_timeout) << ec.message();
    EXPECT_GE(took, timeout - 5ms);
    EXPECT_LT(took, 2 * delay) << "failed at its timeout, before the reply could arrive";
    proxy.set_delay(0ms);
    // The late reply arrives, is dropped and counted; the link is kept.
    ASSERT_TRUE(poll_until([&] { return pool.stats().late_responses == 1; }, scaled(2s)));
    EXPECT_EQ(l.request(json{{"after", 1}}), (json{{"after", 1}}));
    EXPECT_EQ(l.link_id(), link);
    l.release();
    auto again = pool.acquire();
    EXPECT_EQ(again.link_id(), link) << "the link was not replaced";
    EXPECT_EQ(again.request(json{{"after", 2}}), (json{{"after", 2}}));
    const auto s = pool.stats();
    EXPECT_EQ(s.request_timeouts, 1u);
    EXPECT_EQ(s.connections_lost, 0u);
    EXPECT_EQ(s.connects, 1u);
    EXPECT_EQ(proxy.connections_accepted(), 1u);
}

// --- 5. the server dies -----------------------------------------------------------------------

TEST(FaultProxyServerKill, InFlightRequestsFailFastAndThePoolRefillsFromANewServer)
{
    const int fds_before = open_fd_count();
    {
        auto server = tether::testing::start_echo_server();
        const auto port = server->port();
        auto pool = builder_for(port).min_connections(2).backoff(20ms, 1.5, 100ms, 0.2).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s))) << pool.diagnostics();
        auto a = pool.acquire();
        auto b = pool.acquire();
        ASSERT_NE(a.link_id(), b.link_id());
        flights f(4);
        a.async_request(sleep_body(scaled(5s), 0), f.handler(0));
        a.async_request(sleep_body(scaled(5s), 1), f.handler(1));
        b.async_request(sleep_body(scaled(5s), 2), f.handler(2));
        b.async_request(sleep_body(scaled(5s), 3), f.handler(3));
        ASSERT_TRUE(poll_until([&] { return server->requests() == 4; }, scaled(2s)));

        const auto kill = steady::now();
        server.reset(); // hard stop: every socket closed, threads joined
        const auto killed = steady::now();
        EXPECT_LT(killed - kill, scaled(1s)) << "stopping the server took too long";
        ASSERT_TRUE(f.wait_all(scaled(2s)));
        long long slowest = 0;
        for (const auto& r : f.results) {
            ASSERT_TRUE(r);
            EXPECT_EQ(r->ec, tether::errc::connection_lost) << r->ec.message();
            EXPECT_LE(r->at - killed, scaled(100ms));
            slowest = std::max(slowest, ms(r->at - kill));
        }
        std::cout << "[          ] server stop took " << ms(killed - kill)
                  << " ms; in-flight requests failed within " << slowest << " ms of its start\n";
        a.release();
        b.release();
        std::this_thread::sleep_for(scaled(100ms)); // let it fail to reconnect a few times

        auto again = tether::testing::start_echo_server(port);
        const auto restarted = steady::now();
        ASSERT_TRUE(poll_until(
            [&] {
                const auto s = pool.stats();
                return s.idle == 2 && s.connecting == 0 && s.total == 2;
            },
            scaled(3s)))
            << pool.diagnostics();
        std::cout << "[          ] back to min_connections " << ms(steady::now() - restarted)
                  << " ms after the new server started\n";
        EXPECT_EQ(pool.request(json{{"back", true}}), (json{{"back", true}}));
        EXPECT_EQ(again->connections_accepted(), 2u);
        EXPECT_GE(pool.stats().connections_lost, 2u);
    }
    EXPECT_TRUE(poll_until([&] { return open_fd_count() == fds_before; }, scaled(3s)))
        << open_fd_count() << " descriptors open, " << fds_before << " before";
}

// --- the fixture itself -----------------------------------------------------------------------

TEST(FaultProxyFixture, CountsConnectionsAndItsDestructorClosesEverything)
{
    const int fds_before = open_fd_count();
    {
        auto server = tether::testing::start_echo_server();
        auto proxy = std::make_unique<fault_proxy>("127.0.0.1", server->port());
        auto pool = builder_for(proxy->port()).min_connections(3).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        EXPECT_EQ(proxy->connections_accepted(), 3u);
        EXPECT_EQ(proxy->connections_open(), 3u);
        ASSERT_TRUE(poll_until([&] { return server->connections_open() == 3; }, scaled(2s)));
        proxy->set_mode(fault_proxy::mode::blackhole); // paused pairs must be closed too
        const auto start = steady::now();
        proxy.reset();
        EXPECT_LT(steady::now() - start, scaled(1s));
        // The server sees every upstream connection end.
        EXPECT_TRUE(poll_until([&] { return server->connections_open() == 0; }, scaled(2s)));
    }
    EXPECT_TRUE(poll_until([&] { return open_fd_count() == fds_before; }, scaled(3s)))
        << open_fd_count() << " descriptors open, " << fds_before << " before";
}

TEST(FaultProxyFixture, CutClosesWithFinOrRstAsAsked)
{
    namespace asio = boost::asio;
    auto server = tether::testing::start_echo_server();
    fault_proxy proxy("127.0.0.1", server->port());
    asio::io_context io;
    for (const bool reset : {false, true}) {
        asio::ip::tcp::socket client(io);
        client.connect({asio::ip::make_address("127.0.0.1"), proxy.port()});
        // A ping frame through the proxy: the pair is connected upstream once it is answered.
        const std::string ping = R"({"type":"ping","id":1})";
        std::string frame(4, '\0');
        frame[3] = static_cast<char>(ping.size());
        frame += ping;
        asio::write(client, asio::buffer(frame));
        std::array<char, 64> reply{};
        std::size_t got = 0;
        while (got < 4 + 22) // {"type":"pong","id":1}
            got += client.read_some(asio::buffer(reply.data() + got, reply.size() - got));
        EXPECT_EQ(std::string(reply.data() + 4, got - 4), R"({"type":"pong","id":1})");
        EXPECT_EQ(proxy.connections_open(), 1u);
        proxy.cut_all(reset);
        EXPECT_EQ(proxy.connections_open(), 0u) << "cut_all returns once the pairs are closed";
        boost::system::error_code ec;
        (void)client.read_some(asio::buffer(reply), ec);
        if (reset)
            EXPECT_EQ(ec, asio::error::connection_reset) << ec.message();
        else
            EXPECT_EQ(ec, asio::error::eof) << ec.message();
    }
    EXPECT_EQ(proxy.connections_accepted(), 2u);
    EXPECT_TRUE(poll_until([&] { return server->connections_open() == 0; }, scaled(2s)))
        << "the upstream side is closed too";
}

} // namespace
