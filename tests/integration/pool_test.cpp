// The pool end to end against the in-process reference server on loopback: real sockets, real
// timeouts. Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "acquire_failure.hpp"
#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

struct refused_logins final : tether::pool_observer {
    std::atomic<int> refusals{0};
    void on_connect_failure(const tether::endpoint&, std::error_code reason,
                            const std::string& detail) override
    {
        if (reason == tether::errc::server_error && detail.find("bad token") != std::string::npos)
            ++refusals;
    }
};

class PoolTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        tether::testing::echo_server_options o;
        o.threads = 2;
        server_ = std::make_unique<tether::testing::echo_server>(o);
        server_->start();
    }

    tether::pool_builder builder()
    {
        tether::pool_builder b;
        b.endpoint("127.0.0.1", server_->port())
            .io_threads(2)
            .min_connections(1)
            .max_connections(4)
            .acquire_timeout(scaled(2s))
            .connect_timeout(scaled(2s))
            .request_timeout(scaled(5s))
            .backoff(50ms, 2.0, 1s, 0.2);
        return b;
    }

    std::unique_ptr<tether::testing::echo_server> server_;
};

json sleep_body(int ms, int tag)
{
    return {{"tag", tag}, {"$test", {{"sleep_ms", ms}}}};
}

TEST_F(PoolTest, AcquireReleaseReusesTheSameLink)
{
    auto pool = builder().build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    std::uint64_t first = 0;
    {
        auto l = pool.acquire();
        ASSERT_TRUE(l.valid());
        first = l.link_id();
        EXPECT_EQ(l.request(json{{"x", 1}}), (json{{"x", 1}}));
    }
    for (int i = 0; i < 20; ++i) {
        auto l = pool.acquire();
        EXPECT_EQ(l.link_id(), first) << "idle link should be reused, not a new one opened";
    }
    const auto s = pool.stats();
    EXPECT_EQ(s.total, 1u);
    EXPECT_EQ(s.idle, 1u);
    EXPECT_EQ(s.leased, 0u);
    EXPECT_EQ(s.acquires, 21u);
    EXPECT_EQ(server_->connections_accepted(), 1u);
}

TEST_F(PoolTest, StatsCarryTheDistributions)
{
    auto pool = builder()
                    .max_connections(1)
                    .ping_interval(scaled(50ms))
                    .request_timeout(scaled(100ms))
                    .build();
    {
        auto lease = pool.acquire();
        for (int i = 0; i < 20; ++i)
            (void)lease.request(json{{"i", i}});
        std::error_code ec;
        (void)lease.request(json{{"$test", {{"error", {{"code", 7}, {"message", "no"}}}}}}, ec);
        EXPECT_EQ(ec, tether::errc::server_error);
        (void)lease.request(json{{"$test", {{"sleep_ms", scaled(300ms).count()}}}}, ec);
        EXPECT_EQ(ec, tether::errc::request_timeout);
    }
    // A second caller waits for the only link while the first holds it.
    auto first = pool.acquire();
    auto waiting = std::async(std::launch::async, [&] { return pool.acquire(); });
    std::this_thread::sleep_for(30ms);
    first = {};
    auto second = waiting.get();
    second = {};
    ASSERT_TRUE(poll_until([&] { return pool.stats().ping_rtt.count() >= 2; }, scaled(3s)));

    const auto s = pool.stats();
    EXPECT_EQ(s.acquire_wait.count(), s.acquires);
    EXPECT_GE(s.acquire_wait.quantile(1.0), 0.02) << "the waiter waited ~30 ms";
    EXPECT_EQ(s.connect_time.count(), s.connects);
    EXPECT_GT(s.connect_time.sum(), 0.0);
    EXPECT_EQ(s.lease_use.count(), s.leases_returned);
    EXPECT_EQ(s.ping_rtt.count(), s.pongs_received);
    EXPECT_EQ(s.requests_by(tether::request_outcome::ok).count(), 20u);
    EXPECT_EQ(s.requests_by(tether::request_outcome::server_error).count(), 1u);
    EXPECT_EQ(s.requests_by(tether::request_outcome::timeout).count(), 1u);
    EXPECT_GE(s.requests_by(tether::request_outcome::timeout).quantile(0.5), 0.05);
    EXPECT_EQ(s.requests_by(tether::request_outcome::connection_lost).count(), 0u);
    const auto shown = tether::to_json(s);
    EXPECT_EQ(shown["request_duration"]["ok"]["count"], 20);
    EXPECT_TRUE(shown["acquire_wait"].contains("p99_s"));
}

// An application that starts before its server: with fail_fast(false) its first acquire waits
// for the server instead of failing at once.
TEST(PoolFailFast, WithoutFailFastAnAcquireWaitsForAServerThatStartsLater)
{
    std::uint16_t port = 0;
    { // a port nobody listens on (for now)
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    auto builder = [port] {
        tether::pool_builder b;
        b.endpoint("127.0.0.1", port)
            .io_threads(1)
            .acquire_timeout(scaled(5s))
            .backoff(scaled(20ms), 2.0, scaled(100ms), 0.2);
        return b;
    };
    auto impatient = builder().build();
    std::error_code ec;
    const auto start = std::chrono::steady_clock::now();
    (void)impatient.acquire(ec);
    EXPECT_EQ(ec, tether::errc::no_endpoint_available) << "the default fails fast";
    EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(1s));

    auto patient = builder().fail_fast(false).build();
    std::unique_ptr<tether::testing::echo_server> server;
    std::thread late([&] {
        std::this_thread::sleep_for(scaled(300ms));
        tether::testing::echo_server_options o;
        o.port = port;
        server = std::make_unique<tether::testing::echo_server>(o);
        server->start();
    });
    auto lease = patient.acquire(ec);
    late.join();
    ASSERT_FALSE(ec) << ec.message() << " " << patient.diagnostics();
    EXPECT_EQ(lease.request(json{{"late", true}}), (json{{"late", true}}));
    EXPECT_GE(patient.stats().connect_failures, 1u) << "it did wait through failed connects";
}

// The io thread that fails a blocking acquire must not hold the last pool reference after
// waking the caller: the caller's handle, dropped next, has to be the one that shuts the pool
// down and joins its threads (else a process could exit with io threads still tearing down
// TLS state). A slow observer keeps the io thread busy just after the failure is delivered.
TEST(PoolFailFast, TheCallerOfAFailedAcquireJoinsThePoolWithItsLastHandle)
{
    std::uint16_t port = 0;
    { // a port nobody listens on
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }
    struct slow_observer final : tether::pool_observer {
        std::atomic<int> failures{0};
        void on_connect_failure(const tether::endpoint&, std::error_code,
                                const std::string&) override
        {
            ++failures;
            std::this_thread::sleep_for(scaled(300ms));
        }
    };
    auto observer = std::make_shared<slow_observer>();
    std::thread([] {}).join(); // a sanitizer starts its own thread with the process's first one
    const int threads_before = tether::test::thread_count();
    {
        auto pool = tether::pool_builder()
                        .endpoint("127.0.0.1", port)
                        .io_threads(2)
                        .backoff(scaled(5s), 2.0, scaled(10s), 0.2)
                        .observer(observer)
                        .build();
        std::error_code ec;
        (void)pool.acquire(ec);
        EXPECT_EQ(ec, tether::errc::no_endpoint_available) << ec.message();
    } // the last handle: shuts the pool down on this thread and joins its io threads
    EXPECT_EQ(tether::test::thread_count(), threads_before) << "io threads outlived the pool";
    EXPECT_GE(observer->failures.load(), 1);
}

TEST_F(PoolTest, AConstHandleCapturedByCopyDoesEverything)
{
    const tether::pool pool = builder().build();
    auto use = [pool] { // the lambda's copy is const
        auto lease = pool.acquire();
        (void)lease;
        EXPECT_TRUE(pool.wait_ready(scaled(2s)));
        return pool.request(json{{"const", true}});
    };
    EXPECT_EQ(use(), (json{{"const", true}}));
    auto fut = pool.async_request(json{{"async", 1}}, boost::asio::use_future);
    EXPECT_EQ(fut.get(), (json{{"async", 1}}));
    pool.shutdown();
}

// An init request per new link: a good one lets links join; one the server refuses is a
// connect failure whose code and message reach the diagnostics, and nothing is ever leased.
TEST_F(PoolTest, InitRequestGatesEveryNewLink)
{
    std::atomic<int> made{0};
    auto pool = builder()
                    .init_request([&](const tether::endpoint& ep) {
                        ++made;
                        return json{{"op", "login"}, {"port", ep.port}};
                    })
                    .build();
    EXPECT_EQ(pool.acquire().request(json{{"after", "login"}}), (json{{"after", "login"}}));
    EXPECT_EQ(made, 1);
    EXPECT_EQ(server_->requests(), 2u) << "the login, then the request";

    auto observer = std::make_shared<refused_logins>();
    auto refused =
        builder()
            .init_request(json{{"$test", {{"error", {{"code", 401}, {"message", "bad token"}}}}}})
            .observer(observer)
            .build();
    const auto [ec, what] = tether::test::failed_acquire(refused);
    EXPECT_EQ(ec, tether::errc::no_endpoint_available) << ec.message();
    EXPECT_NE(what.find("server error 401: bad token"), std::string::npos) << what;
    EXPECT_EQ(refused.stats().connects, 0u) << "a refused link never joins the pool";
    EXPECT_NE(refused.stats().endpoints.at(0).last_error.find("bad token"), std::string::npos);
    EXPECT_TRUE(poll_until([&] { return observer->refusals > 0; }, scaled(2s)));
}

// Against a server that really requires a login (its login_token): without an init request
// every request is refused; with the right token every link logs in before it is leased;
// with a wrong one no link ever joins and the server's refusal is in what() and last_error.
TEST(PoolInitRequest, LogsEveryLinkIntoAServerThatRequiresIt)
{
    tether::testing::echo_server_options o;
    o.login_token = "tok-42";
    auto server = std::make_unique<tether::testing::echo_server>(o);
    server->start();
    const auto base = [&] {
        tether::pool_builder b;
        b.endpoint("127.0.0.1", server->port())
            .io_threads(1)
            .acquire_timeout(scaled(1s))
            .backoff(scaled(50ms), 2.0, scaled(200ms), 0.1);
        return b;
    };

    auto anonymous = base().build();
    std::error_code ec;
    const json refusal = anonymous.request(json{{"a", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::server_error);
    EXPECT_EQ(refusal.value("message", ""), "login required") << refusal.dump();

    auto logged_in = base()
                         .min_connections(2)
                         .max_connections(3)
                         .init_request([](const tether::endpoint&) {
                             return json{{"op", "login"}, {"token", "tok-42"}};
                         })
                         .build();
    ASSERT_TRUE(logged_in.wait_ready(scaled(3s)));
    std::vector<tether::lease> leases;
    for (int i = 0; i < 3; ++i) // the third is a link opened on demand: it logs in too
        leases.push_back(logged_in.acquire());
    int i = 0;
    for (auto& l : leases) {
        EXPECT_EQ(l.request(json{{"i", i}}), (json{{"i", i}}));
        ++i;
    }
    EXPECT_EQ(logged_in.stats().connects, 3u);

    auto wrong = base().init_request(json{{"op", "login"}, {"token", "nope"}}).build();
    const auto [wrong_ec, what] = tether::test::failed_acquire(wrong);
    EXPECT_EQ(wrong_ec, tether::errc::no_endpoint_available) << wrong_ec.message();
    EXPECT_NE(what.find("bad token"), std::string::npos) << what;
    EXPECT_EQ(wrong.stats().connects, 0u);
    EXPECT_NE(wrong.stats().endpoints.at(0).last_error.find("401"), std::string::npos)
        << wrong.stats().endpoints.at(0).last_error;
}

TEST_F(PoolTest, GrowsToMaxConnectionsAndNotBeyond)
{
    auto pool = builder().max_connections(3).acquire_timeout(scaled(300ms)).build();
    std::vector<tether::lease> held;
    std::set<std::uint64_t> ids;
    for (int i = 0; i < 3; ++i) {
        held.push_back(pool.acquire());
        ids.insert(held.back().link_id());
    }
    EXPECT_EQ(ids.size(), 3u);
    std::error_code ec;
    auto extra = pool.acquire(ec);
    EXPECT_EQ(ec, tether::errc::acquire_timeout);
    EXPECT_FALSE(extra.valid());
    const auto s = pool.stats();
    EXPECT_EQ(s.total, 3u);
    EXPECT_EQ(s.leased, 3u);
    EXPECT_EQ(s.acquire_timeouts, 1u);
    EXPECT_EQ(server_->connections_accepted(), 3u);
}

TEST_F(PoolTest, AcquireTimeoutExplainsWhy)
{
    auto pool = builder().max_connections(1).acquire_timeout(scaled(200ms)).build();
    auto held = pool.acquire();
    const auto start = std::chrono::steady_clock::now();
    try {
        (void)pool.acquire();
        FAIL() << "acquire should time out";
    } catch (const tether::error& e) {
        const auto waited = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(e.code(), tether::errc::acquire_timeout);
        EXPECT_GE(waited, 190ms);
        EXPECT_LT(waited, scaled(2s));
        const std::string what = e.what();
        EXPECT_NE(what.find("leased 1"), std::string::npos) << what;
        EXPECT_NE(what.find("pool_test.cpp"), std::string::npos)
            << "acquire site missing: " << what;
        const std::string message = e.code().message();
        const auto first = what.find(message);
        ASSERT_NE(first, std::string::npos) << what;
        EXPECT_EQ(what.find(message, first + 1), std::string::npos) << "message repeated: " << what;
    }
}

TEST_F(PoolTest, WaitersAreServedInFifoOrder)
{
    auto pool = builder().max_connections(1).acquire_timeout(scaled(5s)).build();
    auto held = pool.acquire();
    std::mutex m;
    std::vector<int> order;
    std::atomic<int> done{0};
    for (int i = 0; i < 5; ++i) {
        pool.async_acquire([&, i](boost::system::error_code ec, tether::lease l) {
            ASSERT_FALSE(ec) << ec.message();
            {
                std::lock_guard lock(m);
                order.push_back(i);
            }
            l.release();
            ++done;
        });
        // Make the queue order unambiguous.
        ASSERT_TRUE(poll_until(
            [&] { return pool.stats().waiting == static_cast<std::size_t>(i + 1); }, scaled(2s)));
    }
    held.release();
    ASSERT_TRUE(poll_until([&] { return done.load() == 5; }, scaled(5s)));
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_EQ(pool.stats().total, 1u);
}

TEST_F(PoolTest, TooManyWaitersIsRejectedAtOnce)
{
    auto pool = builder().max_connections(1).max_waiters(2).acquire_timeout(scaled(5s)).build();
    auto held = pool.acquire();
    std::atomic<int> completed{0};
    std::vector<boost::system::error_code> codes(3);
    for (int i = 0; i < 3; ++i)
        pool.async_acquire([&, i](boost::system::error_code ec, tether::lease) {
            codes[static_cast<std::size_t>(i)] = ec;
            ++completed;
        });
    ASSERT_TRUE(poll_until([&] { return completed.load() == 1; }, scaled(2s)));
    EXPECT_EQ(codes[2], tether::errc::too_many_waiters);
    held.release();
    ASSERT_TRUE(poll_until([&] { return completed.load() == 3; }, scaled(5s)));
    EXPECT_FALSE(codes[0]);
    EXPECT_FALSE(codes[1]);
}

TEST_F(PoolTest, CancelledAsyncAcquireGivesItsPlaceBack)
{
    auto pool = builder().max_connections(1).acquire_timeout(scaled(5s)).build();
    auto held = pool.acquire();
    boost::asio::cancellation_signal signal;
    std::promise<boost::system::error_code> cancelled;
    pool.async_acquire(boost::asio::bind_cancellation_slot(
        signal.slot(), [&](boost::system::error_code ec, tether::lease l) {
            EXPECT_FALSE(l.valid());
            cancelled.set_value(ec);
        }));
    ASSERT_TRUE(poll_until([&] { return pool.stats().waiting == 1; }, scaled(2s)));
    signal.emit(boost::asio::cancellation_type::terminal);
    auto f = cancelled.get_future();
    ASSERT_EQ(f.wait_for(scaled(2s)), std::future_status::ready);
    EXPECT_EQ(f.get(), boost::asio::error::operation_aborted);
    EXPECT_EQ(pool.stats().waiting, 0u);
    // The slot is not leaked: a new waiter gets the link as soon as it is released.
    auto next = std::async(std::launch::async, [&] { return pool.acquire(); });
    ASSERT_TRUE(poll_until([&] { return pool.stats().waiting == 1; }, scaled(2s)));
    held.release();
    auto l = next.get();
    EXPECT_TRUE(l.valid());
}

TEST_F(PoolTest, BlockingCallsOnAnIoThreadFailInsteadOfDeadlocking)
{
    auto pool = builder().build();
    std::promise<std::pair<std::error_code, std::error_code>> result;
    pool.async_acquire([&](boost::system::error_code, tether::lease l) {
        std::error_code acquire_ec, request_ec;
        (void)pool.acquire(acquire_ec);
        (void)l.request(json{{"a", 1}}, request_ec);
        result.set_value({acquire_ec, request_ec});
    });
    auto f = result.get_future();
    ASSERT_EQ(f.wait_for(scaled(3s)), std::future_status::ready);
    auto [a, r] = f.get();
    EXPECT_EQ(a, tether::errc::would_block_io_thread);
    EXPECT_EQ(r, tether::errc::would_block_io_thread);
}

TEST_F(PoolTest, SixteenThreadsEachGetTheirOwnResponses)
{
    auto pool = builder().max_connections(8).build();
    constexpr int threads = 16, per_thread = 1000;
    std::atomic<int> mismatches{0}, failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const json body{
                    {"t", t}, {"i", i}, {"s", std::string(static_cast<std::size_t>(i % 50), 'x')}};
                std::error_code ec;
                auto l = pool.acquire(ec);
                if (ec) {
                    ++failures;
                    continue;
                }
                const auto reply = l.request(body, ec);
                if (ec)
                    ++failures;
                else if (reply != body)
                    ++mismatches;
            }
        });
    }
    for (auto& w : workers)
        w.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(mismatches.load(), 0);
    const auto s = pool.stats();
    EXPECT_EQ(s.requests, static_cast<std::uint64_t>(threads * per_thread));
    EXPECT_LE(s.total, 8u);
    EXPECT_EQ(s.leased, 0u);
}

TEST_F(PoolTest, PipelinedRequestsCompleteOutOfOrderOnOneLease)
{
    auto pool = builder().build();
    auto l = pool.acquire();
    constexpr int n = 50;
    std::mutex m;
    std::vector<int> completion_order;
    std::atomic<int> done{0}, wrong{0};
    for (int i = 0; i < n; ++i) {
        const int delay = (n - i) * 4; // later requests answer first
        l.async_request(sleep_body(delay, i), [&, i](boost::system::error_code ec, json reply) {
            if (ec || reply.value("tag", -1) != i)
                ++wrong;
            std::lock_guard lock(m);
            completion_order.push_back(i);
            ++done;
        });
    }
    ASSERT_TRUE(poll_until([&] { return done.load() == n; }, scaled(5s)));
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_NE(completion_order.front(), 0) << "responses should arrive out of order";
    EXPECT_EQ(server_->connections_accepted(), 1u) << "all on one link";
}

TEST_F(PoolTest, RequestTimeoutDropsTheLateResponseAndKeepsTheLink)
{
    auto pool = builder().request_timeout(scaled(150ms)).build();
    auto l = pool.acquire();
    const auto link = l.link_id();
    std::error_code ec;
    const auto start = std::chrono::steady_clock::now();
    (void)l.request(sleep_body(static_cast<int>(scaled(600ms).count()), 1), ec);
    EXPECT_EQ(ec, tether::errc::request_timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(600ms));
    // The link is not poisoned; the late response is dropped and counted, never delivered —
    // in particular not to the requests in flight on the same link when it arrives: keep
    // three pipelined ones going until it has come, each must get its own reply.
    int tag = 100;
    const auto deadline = std::chrono::steady_clock::now() + scaled(3s);
    while (pool.stats().late_responses == 0 && std::chrono::steady_clock::now() < deadline) {
        std::vector<std::future<json>> replies;
        for (int k = 0; k < 3; ++k)
            replies.push_back(l.async_request(sleep_body(30, tag + k), boost::asio::use_future));
        for (int k = 0; k < 3; ++k)
            EXPECT_EQ(replies[static_cast<std::size_t>(k)].get().value("tag", 0), tag + k)
                << "a reply went to the wrong request";
        tag += 3;
    }
    EXPECT_EQ(pool.stats().late_responses, 1u);
    EXPECT_GT(tag, 103) << "no request was in flight around the late response";
    EXPECT_EQ(l.request(json{{"after", 2}}), (json{{"after", 2}}));
    EXPECT_EQ(l.link_id(), link);
    EXPECT_EQ(pool.stats().request_timeouts, 1u);
}

TEST_F(PoolTest, ServerErrorsSurfaceWithCodeAndMessage)
{
    auto pool = builder().build();
    auto l = pool.acquire();
    const json body{{"$test", {{"error", {{"code", 404}, {"message", "no such op"}}}}}};
    try {
        (void)l.request(body);
        FAIL() << "expected server_error";
    } catch (const tether::server_error& e) {
        EXPECT_EQ(e.code(), tether::errc::server_error);
        EXPECT_EQ(e.server_code(), 404);
        EXPECT_EQ(e.server_message(), "no such op");
        EXPECT_NE(std::string(e.what()).find("no such op"), std::string::npos);
    }
    std::error_code ec;
    const auto err = l.request(body, ec);
    EXPECT_EQ(ec, tether::errc::server_error);
    EXPECT_EQ(err["code"], 404);
    EXPECT_EQ(err["message"], "no such op");
    EXPECT_EQ(pool.stats().server_errors, 2u);
    EXPECT_EQ(l.request(json{{"ok", true}}), (json{{"ok", true}}))
        << "link survives an error reply";
}

TEST_F(PoolTest, ServerClosingMidRequestFailsItAndTheLinkIsReplaced)
{
    auto pool = builder().min_connections(1).build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    auto l = pool.acquire();
    const auto old_link = l.link_id();
    std::error_code ec;
    // A slow request in flight while another one makes the server close the connection.
    auto slow = std::async(std::launch::async, [&] {
        std::error_code slow_ec;
        (void)pool.request(sleep_body(500, 9), slow_ec);
        return slow_ec;
    });
    (void)l.request(json{{"$test", {{"close", true}}}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_lost);
    // A request on the broken lease fails fast.
    (void)l.request(json{{"again", 1}}, ec);
    EXPECT_TRUE(ec == tether::errc::connection_lost) << ec.message();
    l.release();
    // Replaced in the background: min_connections again, and a new link id.
    ASSERT_TRUE(poll_until(
        [&] {
            auto s = pool.stats();
            return s.idle >= 1 && s.connecting == 0;
        },
        scaled(3s)));
    auto again = pool.acquire();
    EXPECT_NE(again.link_id(), old_link);
    EXPECT_EQ(again.request(json{{"b", 2}}), (json{{"b", 2}}));
    EXPECT_GE(pool.stats().connections_lost, 1u);
    EXPECT_FALSE(slow.get()) << "a request on another link is unaffected";
}

TEST_F(PoolTest, CompletionTokens)
{
    auto pool = builder().build();
    // use_future
    auto fl = pool.async_acquire(boost::asio::use_future);
    ASSERT_EQ(fl.wait_for(scaled(2s)), std::future_status::ready);
    tether::lease l = fl.get();
    auto fr = l.async_request(json{{"f", 1}}, boost::asio::use_future);
    ASSERT_EQ(fr.wait_for(scaled(2s)), std::future_status::ready);
    EXPECT_EQ(fr.get(), (json{{"f", 1}}));
    // use_future throws a system_error on an error reply
    auto fe = l.async_request(json{{"$test", {{"error", {{"code", 1}, {"message", "m"}}}}}},
                              boost::asio::use_future);
    EXPECT_THROW(fe.get(), boost::system::system_error);
    // deferred: nothing happens until it is launched
    auto op = l.async_request(json{{"d", 1}}, boost::asio::deferred);
    std::promise<json> pd;
    std::move(op)([&](boost::system::error_code ec, json r) {
        EXPECT_FALSE(ec);
        pd.set_value(std::move(r));
    });
    EXPECT_EQ(pd.get_future().get(), (json{{"d", 1}}));
    l.release();
    // use_awaitable on the caller's own io_context: the handler runs there
    boost::asio::io_context caller;
    json got;
    bool on_caller_thread = false;
    boost::asio::co_spawn(
        caller,
        [&]() -> boost::asio::awaitable<void> {
            auto lease = co_await pool.async_acquire(boost::asio::use_awaitable);
            const json body{{"co", 1}};
            got = co_await lease.async_request(body, boost::asio::use_awaitable);
            on_caller_thread = caller.get_executor().running_in_this_thread();
        },
        boost::asio::detached);
    caller.run(); // must not return before the coroutine finished (work is tracked)
    EXPECT_EQ(got, (json{{"co", 1}}));
    EXPECT_TRUE(on_caller_thread);
}

TEST_F(PoolTest, CallbacksTakingStdErrorCodeWork)
{
    auto pool = builder().build();
    std::promise<std::error_code> acquired, replied;
    pool.async_acquire([&](std::error_code ec, tether::lease l) {
        acquired.set_value(ec);
        // The lease is released when this handler returns; its request still completes.
        l.async_request(json{{"std", true}}, [&](std::error_code rec, json reply) {
            EXPECT_EQ(reply, (json{{"std", true}}));
            replied.set_value(rec);
        });
    });
    EXPECT_FALSE(acquired.get_future().get());
    auto f = replied.get_future();
    ASSERT_EQ(f.wait_for(scaled(2s)), std::future_status::ready);
    EXPECT_FALSE(f.get());
    std::promise<std::error_code> failed;
    tether::lease empty;
    empty.async_request(json{{"x", 1}}, [&](std::error_code ec, json) { failed.set_value(ec); });
    EXPECT_EQ(failed.get_future().get(), tether::errc::invalid_lease);
}

// Allocations through a handler's own associated allocator are counted here.
template <class T> struct counting_allocator {
    using value_type = T;
    std::atomic<int>* allocated;
    std::atomic<int>* freed;
    counting_allocator(std::atomic<int>* a, std::atomic<int>* f) noexcept : allocated(a), freed(f)
    {
    }
    template <class U>
    counting_allocator(const counting_allocator<U>& o) noexcept
        : allocated(o.allocated), freed(o.freed)
    {
    }
    T* allocate(std::size_t n)
    {
        allocated->fetch_add(1);
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept
    {
        freed->fetch_add(1);
        std::allocator<T>().deallocate(p, n);
    }
    template <class U> bool operator==(const counting_allocator<U>& o) const noexcept
    {
        return allocated == o.allocated;
    }
};

TEST_F(PoolTest, AHandlersOwnAllocatorServesItsOperation)
{
    auto pool = builder().build();
    auto l = pool.acquire();
    std::atomic<int> allocated{0}, freed{0};
    std::promise<std::pair<int, int>> p;
    l.async_request(json{{"alloc", 1}},
                    boost::asio::bind_allocator(counting_allocator<void>(&allocated, &freed),
                                                [&](boost::system::error_code ec, json reply) {
                                                    EXPECT_FALSE(ec);
                                                    EXPECT_EQ(reply, (json{{"alloc", 1}}));
                                                    p.set_value({allocated.load(), freed.load()});
                                                }));
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(scaled(2s)), std::future_status::ready);
    const auto [a, d] = f.get();
    // The erased handler and its queued completion at least; all freed before the call.
    EXPECT_GE(a, 2);
    EXPECT_EQ(a, d);
}

TEST_F(PoolTest, CancelledRequestCompletesWithOperationAborted)
{
    auto pool = builder().build();
    auto l = pool.acquire();
    boost::asio::cancellation_signal signal;
    std::promise<boost::system::error_code> p;
    l.async_request(
        sleep_body(static_cast<int>(scaled(500ms).count()), 1),
        boost::asio::bind_cancellation_slot(
            signal.slot(), [&](boost::system::error_code ec, json) { p.set_value(ec); }));
    std::this_thread::sleep_for(20ms);
    signal.emit(boost::asio::cancellation_type::terminal);
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(scaled(1s)), std::future_status::ready);
    EXPECT_EQ(f.get(), boost::asio::error::operation_aborted);
    ASSERT_TRUE(poll_until([&] { return pool.stats().late_responses == 1; }, scaled(3s)));
    EXPECT_EQ(l.request(json{{"still", "works"}}), (json{{"still", "works"}}));
}

TEST_F(PoolTest, ReleasingALeaseDoesNotCancelItsRequests)
{
    auto pool = builder().max_connections(1).build();
    std::atomic<int> calls{0};
    boost::system::error_code got_ec = tether::errc::protocol_error;
    {
        auto l = pool.acquire();
        l.async_request(sleep_body(100, 1), [&](boost::system::error_code ec, json) {
            got_ec = ec;
            ++calls;
        });
    } // released with the request in flight
    EXPECT_EQ(pool.stats().leased, 1u) << "counts as leased until its request completes";
    ASSERT_TRUE(poll_until([&] { return calls.load() == 1; }, scaled(2s)));
    EXPECT_FALSE(got_ec);
    ASSERT_TRUE(poll_until([&] { return pool.stats().idle == 1; }, scaled(2s)));
    EXPECT_EQ(pool.acquire().request(json{{"n", 1}}), (json{{"n", 1}}));
}

TEST_F(PoolTest, InvalidLeaseOperationsFail)
{
    auto pool = builder().build();
    tether::lease empty;
    std::error_code ec;
    (void)empty.request(json{{"a", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::invalid_lease);
    auto l = pool.acquire();
    tether::lease moved = std::move(l);
    (void)l.request(json{{"a", 1}}, ec); // NOLINT(bugprone-use-after-move): on purpose
    EXPECT_EQ(ec, tether::errc::invalid_lease);
    moved.release();
    moved.notify(json{{"a", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::invalid_lease);
    std::promise<boost::system::error_code> p;
    moved.async_request(json{{"a", 1}}, [&](boost::system::error_code e, json) { p.set_value(e); });
    EXPECT_EQ(p.get_future().get(), tether::errc::invalid_lease);
}

TEST_F(PoolTest, OutgoingFrameTooLargeKeepsTheLink)
{
    auto pool = builder().max_frame_size(1024).build();
    auto l = pool.acquire();
    std::error_code ec;
    (void)l.request(json{{"big", std::string(2000, 'x')}}, ec);
    EXPECT_EQ(ec, tether::errc::frame_too_large);
    EXPECT_EQ(l.request(json{{"small", 1}}), (json{{"small", 1}}));
}

TEST_F(PoolTest, NotifiesReachTheHandler)
{
    std::atomic<int> seen{0};
    auto pool = builder()
                    .on_notify([&](const json& body) {
                        if (body.contains("seq"))
                            ++seen;
                    })
                    .build();
    auto l = pool.acquire();
    EXPECT_EQ(l.request(json{{"$test", {{"notify", 5}}}})["$test"]["notify"], 5);
    ASSERT_TRUE(poll_until([&] { return seen.load() == 5; }, scaled(2s)));
    l.notify(json{{"hello", "server"}}); // one-way; the link keeps working
    EXPECT_EQ(l.request(json{{"x", 1}}), (json{{"x", 1}}));
}

TEST_F(PoolTest, GoawayMakesAHeldLeaseRefuseAndOpensAReplacement)
{
    auto pool = builder().build();
    auto l = pool.acquire();
    const auto old_link = l.link_id();
    EXPECT_EQ(l.request(json{{"$test", {{"goaway", true}}}})["$test"]["goaway"], true);
    ASSERT_TRUE(poll_until([&] { return pool.stats().goaways == 1; }, scaled(2s)));
    std::error_code ec;
    (void)l.request(json{{"after", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_draining);
    l.release();
    auto fresh = pool.acquire();
    EXPECT_NE(fresh.link_id(), old_link);
    EXPECT_EQ(fresh.request(json{{"y", 1}}), (json{{"y", 1}}));
}

TEST_F(PoolTest, OneShotPoolRequest)
{
    auto pool = builder().build();
    EXPECT_EQ(pool.request(json{{"one", 1}}), (json{{"one", 1}}));
    auto f = pool.async_request(json{{"two", 2}}, boost::asio::use_future);
    ASSERT_EQ(f.wait_for(scaled(2s)), std::future_status::ready);
    EXPECT_EQ(f.get(), (json{{"two", 2}}));
    EXPECT_EQ(pool.stats().leased, 0u);
}

TEST_F(PoolTest, ShutdownCompletesEveryOperationExactlyOnce)
{
    auto pool = builder().max_connections(2).acquire_timeout(scaled(10s)).build();
    auto a = pool.acquire();
    auto b = pool.acquire();
    std::atomic<int> request_calls{0}, acquire_calls{0}, ok{0}, closed{0};
    // In flight: one that finishes within the drain, one that does not.
    a.async_request(sleep_body(50, 1), [&](boost::system::error_code ec, json) {
        ++request_calls;
        if (!ec)
            ++ok;
    });
    b.async_request(sleep_body(5000, 2), [&](boost::system::error_code ec, json) {
        ++request_calls;
        if (ec == tether::errc::pool_closed)
            ++closed;
    });
    for (int i = 0; i < 3; ++i)
        pool.async_acquire([&](boost::system::error_code ec, tether::lease) {
            ++acquire_calls;
            if (ec == tether::errc::pool_closed)
                ++closed;
        });
    ASSERT_TRUE(poll_until([&] { return pool.stats().waiting == 3; }, scaled(2s)));
    const auto start = std::chrono::steady_clock::now();
    pool.shutdown(scaled(300ms));
    EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(2s));
    ASSERT_TRUE(poll_until([&] { return request_calls.load() == 2 && acquire_calls.load() == 3; },
                           scaled(2s)));
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(closed.load(), 4);
    // After shutdown everything fails with pool_closed, and nothing hangs.
    std::error_code ec;
    (void)pool.acquire(ec);
    EXPECT_EQ(ec, tether::errc::pool_closed);
    (void)a.request(json{{"x", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::pool_closed);
    pool.shutdown(); // idempotent
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(request_calls.load(), 2);
    EXPECT_EQ(acquire_calls.load(), 3);
}

TEST_F(PoolTest, ConcurrentShutdownCallsAllReturn)
{
    auto pool = builder().build();
    auto l = pool.acquire();
    std::vector<std::thread> callers;
    for (int i = 0; i < 4; ++i)
        callers.emplace_back([&] { pool.shutdown(scaled(200ms)); });
    for (auto& c : callers)
        c.join();
    std::error_code ec;
    (void)l.request(json{{"x", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::pool_closed);
}

TEST_F(PoolTest, DroppingTheLastHandleShutsDownWithoutHanging)
{
    const int fds_before = tether::test::open_fd_count();
    const int threads_before = tether::test::thread_count();
    {
        auto pool = builder().min_connections(2).io_threads(3).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        auto l = pool.acquire();
        EXPECT_EQ(l.request(json{{"z", 1}}), (json{{"z", 1}}));
    }
    EXPECT_TRUE(
        poll_until([&] { return tether::test::open_fd_count() == fds_before; }, scaled(2s)));
    // At most as many as before: a short-lived thread of an earlier test (a detached completion
    // runner) may have been counted in the baseline and exited since.
    EXPECT_TRUE(
        poll_until([&] { return tether::test::thread_count() <= threads_before; }, scaled(2s)));
}

TEST_F(PoolTest, ShutdownFromInsideAHandlerDoesNotDeadlock)
{
    auto pool = builder().build();
    std::promise<void> done;
    pool.async_acquire([&](boost::system::error_code, tether::lease l) {
        l.release();
        pool.shutdown(50ms); // on an io thread: starts, does not join itself
        done.set_value();
    });
    ASSERT_EQ(done.get_future().wait_for(scaled(2s)), std::future_status::ready);
    pool.shutdown(); // from this thread: waits for the rest
    std::error_code ec;
    (void)pool.acquire(ec);
    EXPECT_EQ(ec, tether::errc::pool_closed);
}

TEST_F(PoolTest, NoEndpointAvailableFailsFastWhenEverythingBacksOff)
{
    // Port 1: nothing listens there (and it is outside the ephemeral range).
    const std::uint16_t port = 1;
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", port)
                    .io_threads(1)
                    .acquire_timeout(scaled(10s))
                    .backoff(scaled(2s), 2.0, scaled(10s), 0.0)
                    .build();
    ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 1; }, scaled(2s)));
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    (void)pool.acquire(ec);
    EXPECT_EQ(ec, tether::errc::no_endpoint_available);
    EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(1s))
        << "must not wait out the timeout";
    EXPECT_NE(pool.diagnostics().find("last error"), std::string::npos) << pool.diagnostics();
}

class MockObserver : public tether::pool_observer {
public:
    MOCK_METHOD(void, on_tcp_connected, (const tether::endpoint&, std::uint64_t), (override));
    MOCK_METHOD(void, on_connected, (const tether::endpoint&, std::uint64_t), (override));
    MOCK_METHOD(void, on_goaway, (const tether::endpoint&, std::uint64_t, const std::string&),
                (override));
    MOCK_METHOD(void, on_disconnected, (const tether::endpoint&, std::uint64_t, std::error_code),
                (override));
    MOCK_METHOD(void, on_ping_rtt,
                (const tether::endpoint&, std::uint64_t, std::chrono::microseconds), (override));
};

TEST_F(PoolTest, ObserverSeesConnectsAndDisconnects)
{
    auto obs = std::make_shared<::testing::NiceMock<MockObserver>>();
    std::atomic<int> connected{0}, lost{0}, other{0};
    EXPECT_CALL(*obs, on_connected(::testing::_, ::testing::_))
        .WillRepeatedly([&](const tether::endpoint& ep, std::uint64_t) {
            EXPECT_EQ(ep.host, "127.0.0.1");
            ++connected;
        });
    EXPECT_CALL(*obs, on_disconnected(::testing::_, ::testing::_, ::testing::_))
        .WillRepeatedly([&](const tether::endpoint&, std::uint64_t, std::error_code ec) {
            if (ec == tether::errc::connection_lost)
                ++lost;
            else if (ec == tether::errc::pool_closed)
                ++other; // the replacement, closed by the shutdown below
            else
                ADD_FAILURE() << "unexpected disconnect reason " << ec.message();
        });
    EXPECT_CALL(*obs, on_ping_rtt(::testing::_, ::testing::_, ::testing::_))
        .Times(::testing::AtLeast(1));
    {
        auto pool = builder().observer(obs).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        auto l = pool.acquire();
        std::error_code ec;
        (void)l.request(json{{"$test", {{"close", true}}}}, ec);
        EXPECT_EQ(ec, tether::errc::connection_lost);
        ASSERT_TRUE(poll_until([&] { return connected.load() >= 2; }, scaled(3s)));
        EXPECT_EQ(lost.load(), 1);
        pool.shutdown();
        EXPECT_EQ(other.load(), 1);
    }
}

// One link's whole life, in order, as the observer sees it: TCP connected, proven, pinged
// (with a plausible RTT), goaway, then closed once it owes nothing; its replacement connects
// and is proven while the old link drains, and closes with the pool.
TEST_F(PoolTest, ObserverSeesEveryLinkEventInOrder)
{
    using ::testing::_;
    using ::testing::AllOf;
    using ::testing::Field;
    using ::testing::Gt;
    using ::testing::Lt;
    auto obs = std::make_shared<::testing::StrictMock<MockObserver>>();
    const auto ep = Field(&tether::endpoint::port, server_->port());
    std::atomic<int> rtts{0}, proven{0}, closed{0};
    std::atomic<std::int64_t> goaway_at_us{0}, replacement_proven_at_us{0};
    const auto now_us = [] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    // A ping already in flight may still report its RTT around the goaway or the close.
    EXPECT_CALL(*obs, on_ping_rtt(ep, _, _)).Times(::testing::AnyNumber());
    ::testing::Sequence first, second;
    EXPECT_CALL(*obs, on_tcp_connected(ep, 1u)).InSequence(first);
    EXPECT_CALL(*obs, on_connected(ep, 1u)).InSequence(first).WillOnce([&] { ++proven; });
    EXPECT_CALL(*obs,
                on_ping_rtt(ep, 1u, AllOf(Gt(0us), Lt(std::chrono::microseconds(scaled(1s))))))
        .Times(::testing::AtLeast(1))
        .InSequence(first)
        .WillRepeatedly([&] { ++rtts; });
    EXPECT_CALL(*obs, on_goaway(ep, 1u, "test")).InSequence(first).WillOnce([&] {
        goaway_at_us = now_us();
    });
    EXPECT_CALL(*obs, on_disconnected(ep, 1u, std::error_code(tether::errc::connection_draining)))
        .InSequence(first)
        .WillOnce([&] { ++closed; });
    EXPECT_CALL(*obs, on_tcp_connected(ep, 2u)).InSequence(second);
    EXPECT_CALL(*obs, on_connected(ep, 2u)).InSequence(second).WillOnce([&] {
        replacement_proven_at_us = now_us();
        ++proven;
    });
    EXPECT_CALL(*obs, on_ping_rtt(ep, 2u, _)).Times(::testing::AnyNumber()).InSequence(second);
    EXPECT_CALL(*obs, on_disconnected(ep, 2u, std::error_code(tether::errc::pool_closed)))
        .InSequence(second)
        .WillOnce([&] { ++closed; });

    auto pool = builder()
                    .max_connections(2)
                    .ping_interval(scaled(50ms))
                    .ping_timeout(scaled(1s))
                    .observer(obs)
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    ASSERT_TRUE(poll_until([&] { return rtts.load() >= 1; }, scaled(2s)));
    {
        auto l = pool.acquire();
        EXPECT_EQ(l.link_id(), 1u);
        (void)l.request(json{{"$test", {{"goaway", true}}}});
    }
    ASSERT_TRUE(poll_until([&] { return proven.load() == 2 && closed.load() == 1; }, scaled(3s)));
    EXPECT_LT(replacement_proven_at_us.load() - goaway_at_us.load(),
              std::chrono::duration_cast<std::chrono::microseconds>(scaled(200ms)).count())
        << "the replacement is opened at once on goaway";
    pool.shutdown();
    EXPECT_EQ(closed.load(), 2);
}

// goaway with a reply still owed: the reply arrives, a replacement is proven at once, and the old
// link closes only after the reply was delivered.
TEST_F(PoolTest, GoawayStillDeliversOwedRepliesWhileTheReplacementIsProven)
{
    using clock_type = std::chrono::steady_clock;
    auto obs = std::make_shared<::testing::NiceMock<MockObserver>>();
    std::mutex mutex;
    std::map<std::uint64_t, clock_type::time_point> proven_at, closed_at;
    clock_type::time_point goaway_at{};
    EXPECT_CALL(*obs, on_connected(::testing::_, ::testing::_))
        .WillRepeatedly([&](const tether::endpoint&, std::uint64_t id) {
            std::lock_guard lock(mutex);
            proven_at[id] = clock_type::now();
        });
    EXPECT_CALL(*obs, on_goaway(::testing::_, 1u, "test")).WillOnce([&] {
        std::lock_guard lock(mutex);
        goaway_at = clock_type::now();
    });
    EXPECT_CALL(*obs, on_disconnected(::testing::_, ::testing::_, ::testing::_))
        .WillRepeatedly([&](const tether::endpoint&, std::uint64_t id, std::error_code) {
            std::lock_guard lock(mutex);
            closed_at[id] = clock_type::now();
        });
    auto pool = builder().max_connections(2).observer(obs).build();
    auto l = pool.acquire();
    ASSERT_EQ(l.link_id(), 1u);
    std::promise<clock_type::time_point> owed_done;
    l.async_request(sleep_body(300, 7), [&](boost::system::error_code ec, json body) {
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(body.value("tag", 0), 7);
        owed_done.set_value(clock_type::now());
    });
    EXPECT_EQ(l.request(json{{"$test", {{"goaway", true}}}})["$test"]["goaway"], true);
    auto owed = owed_done.get_future();
    ASSERT_EQ(owed.wait_for(scaled(3s)), std::future_status::ready) << "the owed reply never came";
    const auto delivered_at = owed.get();
    std::error_code ec;
    (void)l.request(json{{"after", "goaway"}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_draining);
    l.release();
    ASSERT_TRUE(poll_until(
        [&] {
            std::lock_guard lock(mutex);
            return proven_at.count(2) == 1 && closed_at.count(1) == 1;
        },
        scaled(3s)));
    std::lock_guard lock(mutex);
    ASSERT_NE(goaway_at, clock_type::time_point{});
    EXPECT_LT(proven_at[2] - goaway_at, scaled(200ms)) << "replacement not opened at once";
    EXPECT_LT(proven_at[2], delivered_at) << "the replacement waited for the owed reply";
    // The owed reply sleeps 300 ms on the server from before the goaway: the old link stayed
    // open for it (its handler may run a moment after the link closed, never before the reply).
    EXPECT_GE(closed_at[1] - goaway_at, 200ms) << "the old link closed before its owed reply";
    EXPECT_EQ(pool.stats().connections_lost, 0u);
}

TEST(PoolBuilder, BuildRejectsInvalidSettings)
{
    EXPECT_THROW((void)tether::pool_builder{}.build(), tether::config_error);
    try {
        (void)tether::pool_builder{}
            .endpoint("127.0.0.1", 1)
            .min_connections(5)
            .max_connections(2)
            .build();
        FAIL();
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "min_connections");
    }
}

TEST(PoolBuilder, ConfigIsPrintable)
{
    tether::testing::echo_server server;
    server.start();
    auto pool = tether::pool_builder{}.endpoint("127.0.0.1", server.port()).io_threads(1).build();
    std::ostringstream os;
    os << pool.config();
    const auto j = json::parse(os.str());
    EXPECT_EQ(j["io_threads"], 1);
    EXPECT_EQ(j["dead_peer_detection_ms"], 15000);
}

} // namespace
