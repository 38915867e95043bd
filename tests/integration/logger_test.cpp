// The pool's logger and flight recorder (design.md §9) against real faults on loopback: what
// reaches the application's logger and at which level, rate limiting of a flapping endpoint,
// nothing on stderr once a logger is set, recent events in diagnostics() and a failed
// acquire's what(). Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using tether::log_level;
using tether::test::must_happen;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

/// What a pool's logger received; its function may outlive the test's scope (io threads).
class collected_log {
public:
    tether::log_function function()
    {
        return [state = state_](log_level level, std::string_view message) {
            std::lock_guard lock(state->mutex);
            state->lines.emplace_back(level, std::string(message));
        };
    }
    std::vector<std::pair<log_level, std::string>> lines() const
    {
        std::lock_guard lock(state_->mutex);
        return state_->lines;
    }
    /// Lines containing `text`.
    std::vector<std::pair<log_level, std::string>> containing(std::string_view text) const
    {
        std::vector<std::pair<log_level, std::string>> found;
        for (auto& line : lines())
            if (line.second.find(text) != std::string::npos)
                found.push_back(std::move(line));
        return found;
    }
    bool wait_for(std::string_view text) const
    {
        return poll_until([&] { return !containing(text).empty(); }, must_happen());
    }
    std::string dump() const
    {
        std::string all;
        for (const auto& [level, message] : lines())
            all.append(tether::to_string(level)).append(" ").append(message).append("\n");
        return all;
    }

private:
    struct state {
        mutable std::mutex mutex;
        std::vector<std::pair<log_level, std::string>> lines;
    };
    std::shared_ptr<state> state_ = std::make_shared<state>();
};

/// Redirects this process's stderr (fd 2) into a pipe while it lives; text() returns what was
/// written. Enough for the few lines a test writes (the pipe holds 64 KiB).
class stderr_capture {
public:
    stderr_capture()
    {
        if (::pipe(fds_) != 0)
            throw std::runtime_error("pipe");
        ::fcntl(fds_[0], F_SETFL, O_NONBLOCK);
        ::fflush(stderr);
        saved_ = ::dup(2);
        ::dup2(fds_[1], 2);
    }
    ~stderr_capture()
    {
        restore();
        ::close(fds_[0]);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;

    std::string text()
    {
        restore();
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;)
            out.append(buf, static_cast<std::size_t>(n));
        return out;
    }

private:
    void restore()
    {
        if (saved_ < 0)
            return;
        ::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        ::close(fds_[1]);
        saved_ = -1;
    }
    int fds_[2] = {-1, -1};
    int saved_ = -1;
};

/// A pool on one io thread to 127.0.0.1:`port`, logging into `log` from `min` up.
tether::pool_builder logged_to(collected_log& log, log_level min, std::uint16_t port)
{
    tether::pool_builder b;
    b.endpoint("127.0.0.1", port).io_threads(1).logger(min, log.function());
    return b;
}

// Port 1: nothing listens there (and it is outside the ephemeral range).
constexpr std::uint16_t refused_port = 1;

TEST(Logger, ARefusedConnectIsAWarningWithItsReasonAndNothingGoesToStderr)
{
    collected_log log;
    stderr_capture err;
    {
        auto pool = logged_to(log, log_level::debug, refused_port)
                        .backoff(scaled(20ms), 2.0, scaled(100ms), 0.2)
                        .build();
        ASSERT_TRUE(log.wait_for("connect failed")) << log.dump();
        ASSERT_TRUE(log.wait_for("backing off")) << log.dump();
        pool.shutdown(scaled(1s));
    }
    const auto failed = log.containing("connect failed");
    EXPECT_EQ(failed[0].first, log_level::warn);
    EXPECT_EQ(failed[0].second,
              "tether: link 1: connect failed: connect 127.0.0.1:1: Connection refused");
    const auto backoff = log.containing("backing off");
    EXPECT_EQ(backoff[0].first, log_level::info);
    EXPECT_NE(backoff[0].second.find("tether: 127.0.0.1:1: backing off "), std::string::npos)
        << backoff[0].second;
    EXPECT_NE(backoff[0].second.find(" ms after 1 failed connect"), std::string::npos)
        << backoff[0].second;
    EXPECT_EQ(err.text(), "") << "a pool with a logger writes nothing to stderr";
}

TEST(Logger, WithoutALoggerWarningsGoToStderr)
{
    stderr_capture err;
    {
        auto pool = tether::pool_builder{}
                        .name("orders")
                        .endpoint("127.0.0.1", refused_port)
                        .io_threads(1)
                        .backoff(scaled(20ms), 2.0, scaled(100ms), 0.2)
                        .build();
        ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 2; }, must_happen()));
        pool.shutdown(scaled(1s));
    }
    const std::string text = err.text();
    EXPECT_NE(text.find("orders: link 1: connect failed: connect 127.0.0.1:1: "), std::string::npos)
        << text;
    EXPECT_EQ(text.find("backing off"), std::string::npos) << "info is below the default: " << text;
}

TEST(Logger, TheMinimumLevelFilters)
{
    collected_log errors_only;
    {
        auto pool = logged_to(errors_only, log_level::error, refused_port)
                        .backoff(scaled(20ms), 2.0, scaled(100ms), 0.2)
                        .build();
        ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 3; }, must_happen()));
    }
    EXPECT_EQ(errors_only.dump(), "") << "connect failures are warnings";

    auto server = tether::testing::start_echo_server();
    collected_log debug;
    {
        auto pool = logged_to(debug, log_level::debug, server->port()).build();
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        pool.shutdown(scaled(1s));
    }
    const auto connected = debug.containing("connected (proving ping RTT");
    ASSERT_EQ(connected.size(), 1u) << debug.dump();
    EXPECT_EQ(connected[0].first, log_level::debug);
    const auto closed = debug.containing("closed: pool shut down");
    ASSERT_EQ(closed.size(), 1u) << debug.dump();
    EXPECT_EQ(closed[0].first, log_level::debug);
}

TEST(Logger, GoawayIsInfo)
{
    auto server = tether::testing::start_echo_server();
    collected_log log;
    auto pool = logged_to(log, log_level::info, server->port()).build();
    auto l = pool.acquire();
    (void)l.request(json{{"$test", {{"goaway", true}}}});
    const std::string expected =
        "tether: goaway from 127.0.0.1:" + std::to_string(server->port()) + " on link 1: test";
    ASSERT_TRUE(log.wait_for(expected)) << log.dump();
    EXPECT_EQ(log.containing(expected)[0].first, log_level::info);
}

TEST(Logger, ADeadLinkIsAWarning)
{
    auto server = tether::testing::start_echo_server();
    collected_log log;
    auto pool = logged_to(log, log_level::warn, server->port())
                    .ping_interval(scaled(100ms))
                    .ping_timeout(scaled(100ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(2s)));
    server->set_unresponsive(true);
    ASSERT_TRUE(log.wait_for("found dead")) << log.dump();
    const auto dead = log.containing("found dead");
    EXPECT_EQ(dead[0].first, log_level::warn);
    EXPECT_NE(dead[0].second.find("tether: link 1 to 127.0.0.1:" + std::to_string(server->port()) +
                                  " found dead: nothing received within ping_timeout"),
              std::string::npos)
        << dead[0].second;
    EXPECT_NE(pool.diagnostics().find("link 1: found dead"), std::string::npos)
        << pool.diagnostics();
    server->set_unresponsive(false);
}

TEST(Logger, ALeaseHeldTooLongIsAWarningWithItsSite)
{
    auto server = tether::testing::start_echo_server();
    collected_log log;
    auto pool =
        logged_to(log, log_level::warn, server->port()).lease_warn_threshold(scaled(50ms)).build();
    auto held = pool.acquire();
    ASSERT_TRUE(log.wait_for("lease of link 1 held")) << log.dump();
    const auto line = log.containing("lease of link 1 held")[0];
    EXPECT_EQ(line.first, log_level::warn);
    EXPECT_NE(line.second.find("logger_test.cpp:"), std::string::npos) << line.second;
    EXPECT_NE(
        line.second.find("(lease_warn_threshold " + std::to_string(scaled(50ms).count()) + " ms)"),
        std::string::npos)
        << line.second;
}

TEST(Logger, AFlappingEndpointIsRateLimited)
{
    collected_log log;
    std::uint64_t failures = 0;
    {
        auto pool =
            logged_to(log, log_level::warn, refused_port).backoff(1ms, 1.0, 1ms, 0.0).build();
        std::this_thread::sleep_for(1s);
        failures = pool.stats().connect_failures;
        pool.shutdown(scaled(1s));
    }
    ASSERT_GT(failures, 30u) << "the endpoint did not flap";
    const auto lines = log.lines();
    const auto suppressed = log.containing("more connect failure messages suppressed in the last");
    EXPECT_LE(lines.size(), 11u) << log.dump();
    EXPECT_EQ(log.containing("connect failed").size(), 10u) << log.dump();
    ASSERT_EQ(suppressed.size(), 1u) << log.dump();
    EXPECT_EQ(suppressed[0].first, log_level::warn);
    EXPECT_NE(suppressed[0].second.find("tether: 127.0.0.1:1: "), std::string::npos)
        << suppressed[0].second;
    EXPECT_EQ(lines.back(), suppressed[0]) << "told when the pool finished";
}

TEST(Logger, AShutdownThatCutsRequestsOffSaysSo)
{
    auto server = tether::testing::start_echo_server();
    collected_log log;
    auto pool = logged_to(log, log_level::warn, server->port()).build();
    auto l = pool.acquire();
    std::atomic<int> completed{0};
    json body{{"$test", {{"no_reply", true}}}};
    l.async_request(body, [&](boost::system::error_code ec, json) {
        EXPECT_EQ(ec, tether::errc::pool_closed);
        ++completed;
    });
    pool.shutdown(scaled(100ms));
    EXPECT_EQ(completed.load(), 1);
    const auto overrun = log.containing("shutdown: the drain deadline");
    ASSERT_EQ(overrun.size(), 1u) << log.dump();
    EXPECT_EQ(overrun[0].first, log_level::warn);
    EXPECT_NE(overrun[0].second.find("passed with 1 link still open; force-closed, failing 1 "
                                     "request with pool_closed"),
              std::string::npos)
        << overrun[0].second;
}

// An observer must not throw; one that does is logged as an error and the pool goes on.
TEST(Logger, AnObserverThatThrowsIsAnErrorAndThePoolGoesOn)
{
    struct throwing_observer : tether::pool_observer {
        void on_connected(const tether::endpoint&, std::uint64_t) override
        {
            throw std::runtime_error("observer bug");
        }
    };
    auto server = tether::testing::start_echo_server();
    collected_log log;
    auto pool = logged_to(log, log_level::warn, server->port())
                    .observer(std::make_shared<throwing_observer>())
                    .build();
    EXPECT_EQ(pool.request(json{{"a", 1}}), (json{{"a", 1}}));
    const auto thrown = log.containing("observer threw: observer bug");
    ASSERT_EQ(thrown.size(), 1u) << log.dump();
    EXPECT_EQ(thrown[0].first, log_level::error);
}

TEST(FlightRecorder, DiagnosticsShowEachEndpointsRecentEventsNewestFirst)
{
    auto server = tether::testing::start_echo_server();
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .endpoint("127.0.0.1", refused_port)
                    .io_threads(1)
                    .min_connections(2)
                    .backoff(scaled(20ms), 2.0, scaled(200ms), 0.2)
                    .logger(log_level::error, [](log_level, std::string_view) {})
                    .build();
    {
        auto l = pool.acquire();
        (void)l.request(json{{"$test", {{"goaway", true}}}});
    }
    ASSERT_TRUE(poll_until([&] { return pool.stats().goaways == 1; }, must_happen()));
    ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 1; }, must_happen()));
    const std::string d = pool.diagnostics();
    const std::string served = "127.0.0.1:" + std::to_string(server->port());
    const auto served_at = d.find("recent events of " + served + " (newest first):");
    const auto refused_at = d.find("recent events of 127.0.0.1:1 (newest first):");
    ASSERT_NE(served_at, std::string::npos) << d;
    ASSERT_NE(refused_at, std::string::npos) << d;
    const std::string served_events = d.substr(served_at, refused_at - served_at);
    // Newest first: the link that got goaway was connected, then proven, before it.
    const auto goaway = served_events.find(": goaway: test");
    ASSERT_NE(goaway, std::string::npos) << d;
    const auto proven = served_events.find(": proven, ping RTT ", goaway);
    ASSERT_NE(proven, std::string::npos) << d;
    EXPECT_NE(served_events.find(": connected", proven), std::string::npos) << d;
    EXPECT_NE(served_events.find(" s  20"), std::string::npos) << "relative and wall time: " << d;
    const std::string refused_events = d.substr(refused_at);
    EXPECT_NE(refused_events.find(": connect failed: connect 127.0.0.1:1: "), std::string::npos)
        << d;
    EXPECT_NE(refused_events.find("backing off"), std::string::npos) << d;
}

TEST(FlightRecorder, AFailedAcquireNamesTheMostTellingEvent)
{
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", refused_port)
                    .io_threads(1)
                    .acquire_timeout(scaled(2s))
                    .backoff(scaled(2s), 2.0, scaled(10s), 0.0)
                    .logger(log_level::error, [](log_level, std::string_view) {})
                    .build();
    ASSERT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 1; }, must_happen()));
    std::string what;
    try {
        (void)pool.acquire();
        FAIL() << "acquire should fail";
    } catch (const tether::error& e) {
        EXPECT_EQ(e.code(), tether::errc::no_endpoint_available);
        what = e.what();
    }
    EXPECT_NE(what.find("127.0.0.1:1: links 0, failures "), std::string::npos) << what;
    EXPECT_NE(what.find(", last failure "), std::string::npos) << what;
    EXPECT_NE(what.find(" s ago: link 1: connect failed: connect 127.0.0.1:1: "), std::string::npos)
        << what;
    EXPECT_EQ(what.find("last error"), std::string::npos) << "said once: " << what;
    EXPECT_EQ(what.find("recent events"), std::string::npos) << "not the whole record: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
}

} // namespace
