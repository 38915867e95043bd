// Unit tests of the configuration layer: defaults (design.md §2 "Defaults"), validation rules
// ("Invalid configuration"), the builder's setters, and the JSON / stream rendering of
// pool_config and pool_stats.

#include <tether/config.hpp>
#include <tether/error.hpp>
#include <tether/observer.hpp>
#include <tether/pool.hpp>
#include <tether/pool_builder.hpp>
#include <tether/stats.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tether::config_error;
using tether::pool_config;

/// The smallest configuration that validates: one endpoint, one io thread, all else default.
pool_config valid_config()
{
    pool_config c;
    c.endpoints.push_back({"127.0.0.1", 7000});
    c.io_threads = 1;
    return c;
}

/// Succeeds when validate(c) throws a config_error naming `setting`, whose what() has the
/// documented form "tether config: <setting>: <rule>" with a non-empty rule.
testing::AssertionResult rejects(const pool_config& c, std::string_view setting)
{
    try {
        tether::validate(c);
    } catch (const config_error& e) {
        if (e.setting() != setting) {
            return testing::AssertionFailure()
                   << "setting() is \"" << e.setting() << "\", expected \"" << setting
                   << "\"; what(): " << e.what();
        }
        const std::string what = e.what();
        const std::string prefix = "tether config: " + std::string(setting) + ": ";
        if (!what.starts_with(prefix) || what.size() <= prefix.size()) {
            return testing::AssertionFailure() << "what() \"" << what << "\" does not start with \""
                                               << prefix << "\" followed by a rule";
        }
        return testing::AssertionSuccess() << what;
    } catch (const std::exception& e) {
        return testing::AssertionFailure()
               << "threw something else than config_error: " << e.what();
    }
    return testing::AssertionFailure() << "validate() accepted the configuration";
}

/// Succeeds when validate(c) does not throw.
testing::AssertionResult accepts(const pool_config& c)
{
    try {
        tether::validate(c);
    } catch (const std::exception& e) {
        return testing::AssertionFailure() << "rejected: " << e.what();
    }
    return testing::AssertionSuccess();
}

/// A config with `member` (a duration) set to `value`.
template <class Member>
pool_config with(Member pool_config::*member, std::chrono::milliseconds value)
{
    pool_config c = valid_config();
    c.*member = value;
    return c;
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, MatchDesignTable)
{
    const pool_config c;
    EXPECT_TRUE(c.endpoints.empty());
    EXPECT_EQ(c.min_connections, 1u);
    EXPECT_EQ(c.max_connections, 16u);
    EXPECT_EQ(c.io_threads, tether::default_io_threads()); // the CPUs we may use: cpu_budget_test
    EXPECT_EQ(c.acquire_timeout, 30s);
    EXPECT_EQ(c.max_waiters, 1024u);
    EXPECT_EQ(c.connect_timeout, 5s);
    EXPECT_EQ(c.request_timeout, 30s);
    EXPECT_EQ(c.ping_interval, 10s);
    EXPECT_EQ(c.ping_timeout, 5s);
    EXPECT_EQ(c.backoff.initial, 200ms);
    EXPECT_DOUBLE_EQ(c.backoff.multiplier, 1.6);
    EXPECT_EQ(c.backoff.max, 30s);
    EXPECT_DOUBLE_EQ(c.backoff.jitter, 0.2);
    EXPECT_EQ(c.tcp_keepalive.idle, 30s);
    EXPECT_EQ(c.tcp_keepalive.interval, 10s);
    EXPECT_EQ(c.tcp_keepalive.count, 3);
    EXPECT_FALSE(c.tcp_user_timeout.has_value());
    EXPECT_EQ(c.effective_tcp_user_timeout(), 15s);
    EXPECT_EQ(c.max_frame_size, 4u * 1024u * 1024u);
    EXPECT_EQ(c.max_lifetime, 30min);
    EXPECT_EQ(c.idle_timeout, 10min);
    EXPECT_EQ(c.max_outstanding_per_link, 1024u);
    EXPECT_EQ(c.drain_timeout, 5s);
    EXPECT_EQ(c.max_json_depth, 64u);
    EXPECT_GE(c.max_concurrent_connects, 1u);
    EXPECT_GE(c.max_queued_notifies, 1u);
    EXPECT_GT(c.lease_warn_threshold, 0ms);
    EXPECT_FALSE(c.on_notify);
    EXPECT_EQ(c.observer, nullptr);
}

TEST(ConfigDefaults, BuilderStartsFromDefaults)
{
    const tether::pool_builder b;
    const pool_config defaults;
    EXPECT_EQ(tether::to_json(b.config()), tether::to_json(defaults));
}

TEST(ConfigDefaults, DeadPeerDetectionBoundIsPingIntervalPlusTimeout)
{
    pool_config c;
    EXPECT_EQ(c.dead_peer_detection_bound(), 15s);
    c.ping_interval = 2s;
    c.ping_timeout = 700ms;
    EXPECT_EQ(c.dead_peer_detection_bound(), 2700ms);
}

// ---------------------------------------------------------------------------------------------
// Effective TCP_USER_TIMEOUT

TEST(ConfigTcpUserTimeout, DefaultsToPingIntervalPlusPingTimeout)
{
    pool_config c = valid_config();
    c.ping_interval = 3s;
    c.ping_timeout = 1500ms;
    EXPECT_EQ(c.effective_tcp_user_timeout(), 4500ms);
    EXPECT_EQ(c.effective_tcp_user_timeout(), c.dead_peer_detection_bound());
}

TEST(ConfigTcpUserTimeout, HonoursExplicitValue)
{
    pool_config c = valid_config();
    c.tcp_user_timeout = 42s;
    EXPECT_EQ(c.effective_tcp_user_timeout(), 42s);
    c.ping_interval = 1s; // no longer derived
    EXPECT_EQ(c.effective_tcp_user_timeout(), 42s);

    const auto b = tether::pool_builder{}.ping_interval(1s).ping_timeout(1s).tcp_user_timeout(7s);
    EXPECT_EQ(b.config().effective_tcp_user_timeout(), 7s);
}

// ---------------------------------------------------------------------------------------------
// Validation

TEST(ConfigValidate, ValidDefaultConfigPasses)
{
    EXPECT_TRUE(accepts(valid_config()));
}

TEST(ConfigValidate, ConfigErrorIsInvalidArgument)
{
    pool_config c = valid_config();
    c.max_connections = 0;
    EXPECT_THROW(tether::validate(c), std::invalid_argument);
}

TEST(ConfigValidate, NoEndpointRejected)
{
    pool_config c = valid_config();
    c.endpoints.clear();
    EXPECT_TRUE(rejects(c, "endpoint"));
    try {
        tether::validate(c);
    } catch (const config_error& e) {
        EXPECT_STREQ(e.what(), "tether config: endpoint: at least one endpoint is required");
    }
}

TEST(ConfigValidate, UntouchedConfigNamesEndpointFirst)
{
    EXPECT_TRUE(rejects(pool_config{}, "endpoint"));
}

TEST(ConfigValidate, EmptyHostRejected)
{
    pool_config c = valid_config();
    c.endpoints.push_back({"", 7001});
    EXPECT_TRUE(rejects(c, "endpoint"));
}

TEST(ConfigValidate, HostWithControlCharacterRejected)
{
    pool_config c = valid_config();
    c.endpoints.push_back({std::string("local\0host", 10), 7001});
    EXPECT_TRUE(rejects(c, "endpoint"));
    c.endpoints.back().host = "local host";
    EXPECT_TRUE(rejects(c, "endpoint"));
}

TEST(ConfigValidate, PortZeroRejected)
{
    pool_config c = valid_config();
    c.endpoints.push_back({"10.0.0.2", 0});
    EXPECT_TRUE(rejects(c, "endpoint"));
    c.endpoints.back().port = 65535;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, MaxConnectionsZeroRejected)
{
    pool_config c = valid_config();
    c.min_connections = 0;
    c.max_connections = 0;
    EXPECT_TRUE(rejects(c, "max_connections"));
    c.max_connections = 1;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, MinAboveMaxRejected)
{
    pool_config c = valid_config();
    c.min_connections = 5;
    c.max_connections = 4;
    EXPECT_TRUE(rejects(c, "min_connections"));
    c.max_connections = 5;
    EXPECT_TRUE(accepts(c));
    c.min_connections = 0;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, IoThreadsZeroRejected)
{
    pool_config c = valid_config();
    c.io_threads = 0;
    EXPECT_TRUE(rejects(c, "io_threads"));
}

TEST(ConfigValidate, MaxWaitersZeroAllowed)
{
    pool_config c = valid_config();
    c.max_waiters = 0;
    EXPECT_TRUE(accepts(c));
}

struct duration_rule {
    const char* setting;
    std::chrono::milliseconds pool_config::*member;
    std::chrono::milliseconds cap;
};

const duration_rule plain_durations[] = {
    {"acquire_timeout", &pool_config::acquire_timeout, 24h},
    {"connect_timeout", &pool_config::connect_timeout, 24h},
    {"request_timeout", &pool_config::request_timeout, 24h},
    {"ping_interval", &pool_config::ping_interval, 24h},
    {"ping_timeout", &pool_config::ping_timeout, 24h},
    {"drain_timeout", &pool_config::drain_timeout, 24h},
    {"max_lifetime", &pool_config::max_lifetime, 24h * 30},
    {"idle_timeout", &pool_config::idle_timeout, 24h * 30},
    {"lease_warn_threshold", &pool_config::lease_warn_threshold, 24h},
};

TEST(ConfigValidate, DurationsMustBePositive)
{
    for (const auto& rule : plain_durations) {
        SCOPED_TRACE(rule.setting);
        EXPECT_TRUE(rejects(with(rule.member, 0ms), rule.setting));
        EXPECT_TRUE(rejects(with(rule.member, -1ms), rule.setting));
        EXPECT_TRUE(accepts(with(rule.member, 1ms)));
    }
}

TEST(ConfigValidate, DurationsMustNotBeInfinite)
{
    for (const auto& rule : plain_durations) {
        SCOPED_TRACE(rule.setting);
        EXPECT_TRUE(accepts(with(rule.member, rule.cap)));
        EXPECT_TRUE(rejects(with(rule.member, rule.cap + 1ms), rule.setting));
        EXPECT_TRUE(rejects(with(rule.member, std::chrono::milliseconds::max()), rule.setting));
    }
}

TEST(ConfigValidate, RecyclingDurationsMayExceedOneDay)
{
    pool_config c = valid_config();
    c.max_lifetime = 7 * 24h;
    c.idle_timeout = 2 * 24h;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, TcpUserTimeoutMustBePositiveWhenSet)
{
    pool_config c = valid_config();
    c.tcp_user_timeout = 0ms;
    EXPECT_TRUE(rejects(c, "tcp_user_timeout"));
    c.tcp_user_timeout = -5ms;
    EXPECT_TRUE(rejects(c, "tcp_user_timeout"));
    c.tcp_user_timeout = 24h + 1ms;
    EXPECT_TRUE(rejects(c, "tcp_user_timeout"));
    c.tcp_user_timeout = 1ms;
    EXPECT_TRUE(accepts(c));
    c.tcp_user_timeout.reset();
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, BackoffInitialMustBePositive)
{
    pool_config c = valid_config();
    c.backoff.initial = 0ms;
    EXPECT_TRUE(rejects(c, "backoff.initial"));
    c.backoff.initial = 24h + 1ms;
    c.backoff.max = 24h + 1ms;
    EXPECT_TRUE(rejects(c, "backoff.initial"));
}

TEST(ConfigValidate, BackoffMaxMustBePositive)
{
    pool_config c = valid_config();
    c.backoff.max = 0ms;
    EXPECT_TRUE(rejects(c, "backoff.max"));
    c.backoff.max = 24h + 1ms;
    EXPECT_TRUE(rejects(c, "backoff.max"));
}

TEST(ConfigValidate, BackoffInitialAboveMaxRejected)
{
    pool_config c = valid_config();
    c.backoff.initial = 2s;
    c.backoff.max = 1s;
    EXPECT_TRUE(rejects(c, "backoff.initial"));
    c.backoff.max = 2s;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, BackoffMultiplierBelowOneRejected)
{
    pool_config c = valid_config();
    c.backoff.multiplier = 0.99;
    EXPECT_TRUE(rejects(c, "backoff.multiplier"));
    c.backoff.multiplier = std::numeric_limits<double>::infinity();
    EXPECT_TRUE(rejects(c, "backoff.multiplier"));
    c.backoff.multiplier = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(rejects(c, "backoff.multiplier"));
    c.backoff.multiplier = 1.0;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, BackoffJitterOutsideHalfOpenUnitRejected)
{
    pool_config c = valid_config();
    c.backoff.jitter = 1.0;
    EXPECT_TRUE(rejects(c, "backoff.jitter"));
    c.backoff.jitter = -0.01;
    EXPECT_TRUE(rejects(c, "backoff.jitter"));
    c.backoff.jitter = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(rejects(c, "backoff.jitter"));
    c.backoff.jitter = std::numeric_limits<double>::infinity();
    EXPECT_TRUE(rejects(c, "backoff.jitter"));
    c.backoff.jitter = 0.0;
    EXPECT_TRUE(accepts(c));
    c.backoff.jitter = 0.999;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, KeepaliveIdleRange)
{
    pool_config c = valid_config();
    c.tcp_keepalive.idle = 0s;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.idle"));
    c.tcp_keepalive.idle = 32768s;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.idle"));
    c.tcp_keepalive.idle = -1s;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.idle"));
    c.tcp_keepalive.idle = 32767s;
    EXPECT_TRUE(accepts(c));
    c.tcp_keepalive.idle = 1s;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, KeepaliveIntervalRange)
{
    pool_config c = valid_config();
    c.tcp_keepalive.interval = 0s;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.interval"));
    c.tcp_keepalive.interval = 32768s;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.interval"));
    c.tcp_keepalive.interval = 32767s;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, KeepaliveCountRange)
{
    pool_config c = valid_config();
    c.tcp_keepalive.count = 0;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.count"));
    c.tcp_keepalive.count = 128;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.count"));
    c.tcp_keepalive.count = -3;
    EXPECT_TRUE(rejects(c, "tcp_keepalive.count"));
    c.tcp_keepalive.count = 127;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, KeepaliveBuilderSubSecondTruncatesToZeroAndIsRejected)
{
    // The setter takes whole seconds: 500 ms cannot even be passed without an explicit cast,
    // which truncates to 0 s, which validation rejects.
    auto b = tether::pool_builder{}.endpoint("h", 1).io_threads(1).tcp_keepalive(
        std::chrono::duration_cast<std::chrono::seconds>(500ms), 10s, 3);
    EXPECT_TRUE(rejects(b.config(), "tcp_keepalive.idle"));
}

TEST(ConfigValidate, MaxFrameSizeBelow64Rejected)
{
    pool_config c = valid_config();
    c.max_frame_size = 63;
    EXPECT_TRUE(rejects(c, "max_frame_size"));
    c.max_frame_size = 0;
    EXPECT_TRUE(rejects(c, "max_frame_size"));
    c.max_frame_size = 64;
    EXPECT_TRUE(accepts(c));
    c.max_frame_size = std::numeric_limits<std::uint32_t>::max();
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, MaxJsonDepthRange)
{
    pool_config c = valid_config();
    c.max_json_depth = 1;
    EXPECT_TRUE(rejects(c, "max_json_depth"));
    c.max_json_depth = 10001;
    EXPECT_TRUE(rejects(c, "max_json_depth"));
    c.max_json_depth = 2;
    EXPECT_TRUE(accepts(c));
    c.max_json_depth = 10000;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, MaxConcurrentConnectsZeroRejected)
{
    pool_config c = valid_config();
    c.max_concurrent_connects = 0;
    EXPECT_TRUE(rejects(c, "max_concurrent_connects"));
    c.max_concurrent_connects = 1;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, MaxOutstandingPerLinkZeroRejected)
{
    pool_config c = valid_config();
    c.max_outstanding_per_link = 0;
    EXPECT_TRUE(rejects(c, "max_outstanding_per_link"));
    c.max_outstanding_per_link = 1;
    EXPECT_TRUE(accepts(c));
}

TEST(ConfigValidate, MaxQueuedNotifiesZeroRejected)
{
    pool_config c = valid_config();
    c.max_queued_notifies = 0;
    EXPECT_TRUE(rejects(c, "max_queued_notifies"));
    c.max_queued_notifies = 1;
    EXPECT_TRUE(accepts(c));
}

// ---------------------------------------------------------------------------------------------
// Builder setters

struct counting_observer : tether::pool_observer {};

TEST(ConfigBuilder, SettersStoreValues)
{
    int notified = 0;
    auto obs = std::make_shared<counting_observer>();
    tether::pool_builder b;
    b.endpoint("a.example", 7000)
        .endpoint("::1", 7001)
        .min_connections(3)
        .max_connections(9)
        .io_threads(4)
        .acquire_timeout(1100ms)
        .max_waiters(17)
        .connect_timeout(1200ms)
        .request_timeout(1300ms)
        .ping_interval(1400ms)
        .ping_timeout(1500ms)
        .backoff(101ms, 2.5, 9s, 0.3)
        .tcp_keepalive(31s, 11s, 4)
        .tcp_user_timeout(1600ms)
        .max_frame_size(65536)
        .max_json_depth(33)
        .drain_timeout(1700ms)
        .max_concurrent_connects(5)
        .max_lifetime(1800ms)
        .idle_timeout(1900ms)
        .max_outstanding_per_link(77)
        .max_queued_notifies(88)
        .lease_warn_threshold(2100ms)
        .on_notify([&notified](const nlohmann::json&) { ++notified; })
        .observer(obs);

    const pool_config& c = b.config();
    ASSERT_EQ(c.endpoints.size(), 2u);
    EXPECT_EQ(c.endpoints[0], (tether::endpoint{"a.example", 7000}));
    EXPECT_EQ(c.endpoints[1], (tether::endpoint{"::1", 7001}));
    EXPECT_EQ(c.min_connections, 3u);
    EXPECT_EQ(c.max_connections, 9u);
    EXPECT_EQ(c.io_threads, 4u);
    EXPECT_EQ(c.acquire_timeout, 1100ms);
    EXPECT_EQ(c.max_waiters, 17u);
    EXPECT_EQ(c.connect_timeout, 1200ms);
    EXPECT_EQ(c.request_timeout, 1300ms);
    EXPECT_EQ(c.ping_interval, 1400ms);
    EXPECT_EQ(c.ping_timeout, 1500ms);
    EXPECT_EQ(c.backoff.initial, 101ms);
    EXPECT_DOUBLE_EQ(c.backoff.multiplier, 2.5);
    EXPECT_EQ(c.backoff.max, 9s);
    EXPECT_DOUBLE_EQ(c.backoff.jitter, 0.3);
    EXPECT_EQ(c.tcp_keepalive.idle, 31s);
    EXPECT_EQ(c.tcp_keepalive.interval, 11s);
    EXPECT_EQ(c.tcp_keepalive.count, 4);
    ASSERT_TRUE(c.tcp_user_timeout.has_value());
    EXPECT_EQ(*c.tcp_user_timeout, 1600ms);
    EXPECT_EQ(c.max_frame_size, 65536u);
    EXPECT_EQ(c.max_json_depth, 33u);
    EXPECT_EQ(c.drain_timeout, 1700ms);
    EXPECT_EQ(c.max_concurrent_connects, 5u);
    EXPECT_EQ(c.max_lifetime, 1800ms);
    EXPECT_EQ(c.idle_timeout, 1900ms);
    EXPECT_EQ(c.max_outstanding_per_link, 77u);
    EXPECT_EQ(c.max_queued_notifies, 88u);
    EXPECT_EQ(c.lease_warn_threshold, 2100ms);
    ASSERT_TRUE(c.on_notify);
    c.on_notify(nlohmann::json::object());
    EXPECT_EQ(notified, 1);
    EXPECT_EQ(c.observer, obs);

    EXPECT_TRUE(accepts(c));
}

TEST(ConfigBuilder, SettersReturnTheSameBuilder)
{
    tether::pool_builder b;
    EXPECT_EQ(&b.endpoint("h", 1), &b);
    EXPECT_EQ(&b.min_connections(1), &b);
    EXPECT_EQ(&b.backoff(1ms, 1.0, 1ms, 0.0), &b);
    EXPECT_EQ(&b.tcp_keepalive(1s, 1s, 1), &b);
    EXPECT_EQ(&b.observer(nullptr), &b);
}

TEST(ConfigBuilder, LastValueWinsAndEndpointsAppend)
{
    tether::pool_builder b;
    b.max_connections(3).max_connections(5).endpoint("x", 1).endpoint("x", 1).endpoint("y", 2);
    EXPECT_EQ(b.config().max_connections, 5u);
    ASSERT_EQ(b.config().endpoints.size(), 3u);
    EXPECT_EQ(b.config().endpoints[2].host, "y");
    EXPECT_EQ(b.config().endpoints[2].port, 2);
}

TEST(ConfigBuilder, StartsFromGivenConfig)
{
    pool_config base = valid_config();
    base.max_connections = 42;
    tether::pool_builder b{base};
    b.endpoint("second", 2);
    EXPECT_EQ(b.config().max_connections, 42u);
    ASSERT_EQ(b.config().endpoints.size(), 2u);
    EXPECT_EQ(b.config().endpoints[0].host, "127.0.0.1");
}

TEST(ConfigBuilder, SettersDoNotValidate)
{
    // Nothing is checked before build(): invalid values are stored as given.
    tether::pool_builder b;
    b.max_connections(0).backoff(5s, 0.5, 1s, 2.0).max_frame_size(1).ping_timeout(0ms);
    EXPECT_EQ(b.config().max_connections, 0u);
    EXPECT_DOUBLE_EQ(b.config().backoff.multiplier, 0.5);
    EXPECT_EQ(b.config().max_frame_size, 1u);
    EXPECT_EQ(b.config().ping_timeout, 0ms);
    EXPECT_TRUE(rejects(b.config(), "endpoint"));
    b.endpoint("h", 1).io_threads(1);
    EXPECT_TRUE(rejects(b.config(), "max_connections"));
}

TEST(ConfigBuilder, DeadPeerBudgetSetsEveryDetectionTimer)
{
    tether::pool_builder b;
    b.endpoint("h", 1).dead_peer_budget(1500ms);
    const auto& c = b.config();
    EXPECT_EQ(c.ping_interval, 1000ms);
    EXPECT_EQ(c.ping_timeout, 500ms);
    EXPECT_EQ(c.dead_peer_detection_bound(), 1500ms);
    EXPECT_EQ(c.effective_tcp_user_timeout(), 1500ms);
    EXPECT_EQ(c.tcp_keepalive.idle, 1s); // at least one second
    EXPECT_EQ(c.tcp_keepalive.interval, 1s);
    EXPECT_EQ(c.tcp_keepalive.count, 3);
    EXPECT_NO_THROW(tether::validate(c));

    b.dead_peer_budget(60s);
    EXPECT_EQ(c.ping_interval, 40s);
    EXPECT_EQ(c.ping_timeout, 20s);
    EXPECT_EQ(c.dead_peer_detection_bound(), 60s);
    EXPECT_EQ(c.tcp_keepalive.idle, 30s);
    EXPECT_EQ(c.tcp_keepalive.interval, 10s);
    // An odd budget is split without losing a millisecond.
    b.dead_peer_budget(1000ms);
    EXPECT_EQ(c.dead_peer_detection_bound(), 1000ms);
    // Later setters override single values.
    b.ping_timeout(200ms);
    EXPECT_EQ(c.ping_interval, 667ms);
    EXPECT_EQ(c.ping_timeout, 200ms);
    // Too small to split: build() names the setting that came out invalid.
    b.dead_peer_budget(2ms);
    EXPECT_TRUE(rejects(c, "ping_timeout"));
    // Huge budgets stay within the kernel's keep-alive range.
    b.dead_peer_budget(std::chrono::hours(24));
    EXPECT_EQ(c.tcp_keepalive.idle, 32767s);
    EXPECT_NO_THROW(tether::validate(c));
}

// ---------------------------------------------------------------------------------------------
// Endpoint formatting

TEST(ConfigEndpoint, ToStringHostPort)
{
    EXPECT_EQ(tether::to_string({"127.0.0.1", 7000}), "127.0.0.1:7000");
    EXPECT_EQ(tether::to_string({"db.example.com", 65535}), "db.example.com:65535");
    EXPECT_EQ(tether::to_string({"h", 0}), "h:0");
}

TEST(ConfigEndpoint, ToStringBracketsIpv6)
{
    EXPECT_EQ(tether::to_string({"::1", 7000}), "[::1]:7000");
    EXPECT_EQ(tether::to_string({"fe80::1%eth0", 80}), "[fe80::1%eth0]:80");
    EXPECT_EQ(tether::to_string({"2001:db8::42", 1}), "[2001:db8::42]:1");
    // Already bracketed: not bracketed twice.
    EXPECT_EQ(tether::to_string({"[::1]", 7000}), "[::1]:7000");
}

// ---------------------------------------------------------------------------------------------
// pool_config as JSON

TEST(ConfigJson, ContainsEveryEffectiveSetting)
{
    auto obs = std::make_shared<counting_observer>();
    const auto b = tether::pool_builder{}
                       .endpoint("10.1.2.3", 7000)
                       .endpoint("::1", 7001)
                       .min_connections(2)
                       .max_connections(8)
                       .io_threads(3)
                       .acquire_timeout(2s)
                       .max_waiters(0)
                       .connect_timeout(1s)
                       .request_timeout(5s)
                       .ping_interval(15s)
                       .ping_timeout(4s)
                       .backoff(100ms, 2.0, 20s, 0.25)
                       .tcp_keepalive(40s, 7s, 6)
                       .max_frame_size(1u << 20)
                       .max_json_depth(10)
                       .drain_timeout(3s)
                       .max_concurrent_connects(4)
                       .max_lifetime(60min)
                       .idle_timeout(5min)
                       .max_outstanding_per_link(64)
                       .max_queued_notifies(128)
                       .lease_warn_threshold(90s)
                       .observer(obs);

    const nlohmann::json j = tether::to_json(b.config());
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.at("endpoints"), nlohmann::json::array({"10.1.2.3:7000", "[::1]:7001"}));
    EXPECT_EQ(j.at("min_connections"), 2);
    EXPECT_EQ(j.at("max_connections"), 8);
    EXPECT_EQ(j.at("io_threads"), 3);
    EXPECT_EQ(j.at("acquire_timeout_ms"), 2000);
    EXPECT_EQ(j.at("max_waiters"), 0);
    EXPECT_EQ(j.at("connect_timeout_ms"), 1000);
    EXPECT_EQ(j.at("request_timeout_ms"), 5000);
    EXPECT_EQ(j.at("ping_interval_ms"), 15000);
    EXPECT_EQ(j.at("ping_timeout_ms"), 4000);
    EXPECT_EQ(j.at("backoff").at("initial_ms"), 100);
    EXPECT_DOUBLE_EQ(j.at("backoff").at("multiplier").get<double>(), 2.0);
    EXPECT_EQ(j.at("backoff").at("max_ms"), 20000);
    EXPECT_DOUBLE_EQ(j.at("backoff").at("jitter").get<double>(), 0.25);
    EXPECT_EQ(j.at("tcp_keepalive").at("idle_s"), 40);
    EXPECT_EQ(j.at("tcp_keepalive").at("interval_s"), 7);
    EXPECT_EQ(j.at("tcp_keepalive").at("count"), 6);
    EXPECT_EQ(j.at("tcp_user_timeout_ms"), 19000); // derived: ping_interval + ping_timeout
    EXPECT_EQ(j.at("dead_peer_detection_ms"), 19000);
    EXPECT_EQ(j.at("max_frame_size"), 1u << 20);
    EXPECT_EQ(j.at("max_json_depth"), 10);
    EXPECT_EQ(j.at("drain_timeout_ms"), 3000);
    EXPECT_EQ(j.at("max_concurrent_connects"), 4);
    EXPECT_EQ(j.at("max_lifetime_ms"), 3'600'000);
    EXPECT_EQ(j.at("idle_timeout_ms"), 300'000);
    EXPECT_EQ(j.at("max_outstanding_per_link"), 64);
    EXPECT_EQ(j.at("max_queued_notifies"), 128);
    EXPECT_EQ(j.at("lease_warn_threshold_ms"), 90'000);
    EXPECT_EQ(j.at("has_on_notify"), false);
    EXPECT_EQ(j.at("has_observer"), true);
}

TEST(ConfigJson, ExplicitTcpUserTimeoutShown)
{
    pool_config c = valid_config();
    c.tcp_user_timeout = 2500ms;
    const nlohmann::json j = tether::to_json(c);
    EXPECT_EQ(j.at("tcp_user_timeout_ms"), 2500);
    EXPECT_EQ(j.at("dead_peer_detection_ms"), 15000);
}

TEST(ConfigJson, HandlersShownAsBooleans)
{
    pool_config c = valid_config();
    EXPECT_EQ(tether::to_json(c).at("has_on_notify"), false);
    EXPECT_EQ(tether::to_json(c).at("has_observer"), false);
    c.on_notify = [](const nlohmann::json&) {};
    c.observer = std::make_shared<counting_observer>();
    EXPECT_EQ(tether::to_json(c).at("has_on_notify"), true);
    EXPECT_EQ(tether::to_json(c).at("has_observer"), true);
}

TEST(ConfigJson, StreamPrintsOneLineJson)
{
    pool_config c = valid_config();
    c.endpoints.push_back({"::1", 7001});
    std::ostringstream os;
    os << c;
    const std::string text = os.str();
    EXPECT_EQ(text.find('\n'), std::string::npos);
    const nlohmann::json parsed = nlohmann::json::parse(text);
    EXPECT_EQ(parsed, tether::to_json(c));
    EXPECT_EQ(parsed.at("endpoints").at(1), "[::1]:7001");
    EXPECT_EQ(parsed.at("max_connections"), 16);
    EXPECT_EQ(parsed.at("dead_peer_detection_ms"), 15000);
    EXPECT_EQ(parsed.at("tcp_keepalive").at("idle_s"), 30);
}

TEST(ConfigJson, StreamDoesNotThrowOnInvalidUtf8Host)
{
    pool_config c = valid_config();
    c.endpoints.push_back({"bad\xff"
                           "host",
                           1});
    std::ostringstream os;
    EXPECT_NO_THROW(os << c);
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(os.str()));
    ASSERT_EQ(parsed.at("endpoints").size(), 2u);
    EXPECT_EQ(parsed.at("endpoints").at(1),
              "bad\xEF\xBF\xBDhost:1"); // U+FFFD replaces the bad byte
}

// ---------------------------------------------------------------------------------------------
// pool_stats as JSON

TEST(ConfigStats, ToJsonRoundTrip)
{
    tether::pool_stats s;
    s.total = 5;
    s.idle = 2;
    s.leased = 2;
    s.connecting = 1;
    s.waiting = 7;
    s.acquires = 1000;
    s.acquire_timeouts = 3;
    s.connects = 12;
    s.connect_failures = 4;
    s.pings_sent = 99;
    s.pongs_received = 98;
    s.dead_links_detected = 1;
    s.requests = 123456789012ULL;
    s.request_timeouts = 6;
    s.protocol_errors = 8;
    s.late_responses = 9;
    s.unknown_messages = 10;
    s.notifies_received = 11;
    s.notifies_dropped = 13;
    s.goaways = 14;
    s.server_errors = 15;
    s.connections_lost = 16;
    // Filled in place: g++ 12 -O3 reports the host string of a braced endpoint_stats temporary
    // as maybe-uninitialized when the temporary dies (a false positive, fatal under -Werror).
    s.endpoints.resize(2);
    tether::endpoint_stats& e0 = s.endpoints[0];
    e0.endpoint = {"10.0.0.1", 7000};
    e0.links = 3;
    e0.connects = 10;
    tether::endpoint_stats& e1 = s.endpoints[1];
    e1.endpoint = {"::1", 7001};
    e1.connects = 2;
    e1.connect_failures = 4;
    e1.consecutive_failures = 4;
    e1.backing_off = true;
    e1.last_error = "connection refused";

    const nlohmann::json j = tether::to_json(s);
    EXPECT_EQ(j.at("total"), 5);
    EXPECT_EQ(j.at("idle"), 2);
    EXPECT_EQ(j.at("leased"), 2);
    EXPECT_EQ(j.at("connecting"), 1);
    EXPECT_EQ(j.at("waiting"), 7);
    EXPECT_EQ(j.at("acquires"), 1000);
    EXPECT_EQ(j.at("acquire_timeouts"), 3);
    EXPECT_EQ(j.at("connects"), 12);
    EXPECT_EQ(j.at("connect_failures"), 4);
    EXPECT_EQ(j.at("pings_sent"), 99);
    EXPECT_EQ(j.at("pongs_received"), 98);
    EXPECT_EQ(j.at("dead_links_detected"), 1);
    EXPECT_EQ(j.at("requests").get<std::uint64_t>(), 123456789012ULL);
    EXPECT_EQ(j.at("request_timeouts"), 6);
    EXPECT_EQ(j.at("protocol_errors"), 8);
    EXPECT_EQ(j.at("late_responses"), 9);
    EXPECT_EQ(j.at("unknown_messages"), 10);
    EXPECT_EQ(j.at("notifies_received"), 11);
    EXPECT_EQ(j.at("notifies_dropped"), 13);
    EXPECT_EQ(j.at("goaways"), 14);
    EXPECT_EQ(j.at("server_errors"), 15);
    EXPECT_EQ(j.at("connections_lost"), 16);

    const nlohmann::json& eps = j.at("endpoints");
    ASSERT_EQ(eps.size(), 2u);
    EXPECT_EQ(eps[0].at("endpoint"), "10.0.0.1:7000");
    EXPECT_EQ(eps[0].at("links"), 3);
    EXPECT_EQ(eps[0].at("connects"), 10);
    EXPECT_EQ(eps[0].at("backing_off"), false);
    EXPECT_EQ(eps[0].at("last_error"), "");
    EXPECT_EQ(eps[1].at("endpoint"), "[::1]:7001");
    EXPECT_EQ(eps[1].at("connect_failures"), 4);
    EXPECT_EQ(eps[1].at("consecutive_failures"), 4);
    EXPECT_EQ(eps[1].at("backing_off"), true);
    EXPECT_EQ(eps[1].at("last_error"), "connection refused");

    std::ostringstream os;
    os << s;
    EXPECT_EQ(os.str().find('\n'), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(os.str()), j);
}

TEST(ConfigStats, EmptyStatsHaveEmptyEndpointArray)
{
    const nlohmann::json j = tether::to_json(tether::pool_stats{});
    ASSERT_TRUE(j.at("endpoints").is_array());
    EXPECT_TRUE(j.at("endpoints").empty());
    EXPECT_EQ(j.at("total"), 0);
}

// ---------------------------------------------------------------------------------------------
// Every rule through build() itself, not only validate(): what a user calls.

/// Succeeds when b.build() throws a config_error naming `setting`.
testing::AssertionResult build_rejects(const tether::pool_builder& b, std::string_view setting)
{
    try {
        (void)b.build();
    } catch (const config_error& e) {
        if (e.setting() != setting)
            return testing::AssertionFailure()
                   << "setting() is \"" << e.setting() << "\", expected \"" << setting
                   << "\"; what(): " << e.what();
        return testing::AssertionSuccess() << e.what();
    } catch (const std::exception& e) {
        return testing::AssertionFailure()
               << "threw something else than config_error: " << e.what();
    }
    return testing::AssertionFailure() << "build() accepted the configuration";
}

TEST(ConfigBuild, BuildRejectsEveryRuleNamingTheSetting)
{
    using B = tether::pool_builder;
    const auto base = [] {
        B b;
        b.endpoint("127.0.0.1", 7000);
        return b;
    };
    const std::vector<std::pair<std::string_view, std::function<void(B&)>>> cases = {
        {"endpoint", [](B& b) { b = B{}; }},
        {"endpoint", [](B& b) { b.endpoint("", 1); }},
        {"endpoint", [](B& b) { b.endpoint("bad host", 1); }},
        {"endpoint", [](B& b) { b.endpoint("h", 0); }},
        {"max_connections", [](B& b) { b.max_connections(0); }},
        {"min_connections", [](B& b) { b.min_connections(5).max_connections(2); }},
        {"io_threads", [](B& b) { b.io_threads(0); }},
        {"acquire_timeout", [](B& b) { b.acquire_timeout(0ms); }},
        {"connect_timeout", [](B& b) { b.connect_timeout(-1ms); }},
        {"request_timeout", [](B& b) { b.request_timeout(0ms); }},
        {"ping_interval", [](B& b) { b.ping_interval(0ms); }},
        {"ping_timeout", [](B& b) { b.ping_timeout(0ms); }},
        {"backoff.initial", [](B& b) { b.backoff(0ms, 2.0, 1s, 0.2); }},
        {"backoff.max", [](B& b) { b.backoff(10ms, 2.0, 0ms, 0.2); }},
        {"backoff.initial", [](B& b) { b.backoff(2s, 2.0, 1s, 0.2); }},
        {"backoff.multiplier", [](B& b) { b.backoff(10ms, 0.5, 1s, 0.2); }},
        {"backoff.jitter", [](B& b) { b.backoff(10ms, 2.0, 1s, 1.0); }},
        {"tcp_keepalive.idle", [](B& b) { b.tcp_keepalive(0s, 10s, 3); }},
        {"tcp_keepalive.interval", [](B& b) { b.tcp_keepalive(30s, 40000s, 3); }},
        {"tcp_keepalive.count", [](B& b) { b.tcp_keepalive(30s, 10s, 0); }},
        {"tcp_user_timeout", [](B& b) { b.tcp_user_timeout(0ms); }},
        {"max_frame_size", [](B& b) { b.max_frame_size(63); }},
        {"max_json_depth", [](B& b) { b.max_json_depth(1); }},
        {"drain_timeout", [](B& b) { b.drain_timeout(0ms); }},
        {"max_concurrent_connects", [](B& b) { b.max_concurrent_connects(0); }},
        {"max_lifetime", [](B& b) { b.max_lifetime(0ms); }},
        {"idle_timeout", [](B& b) { b.idle_timeout(0ms); }},
        {"max_outstanding_per_link", [](B& b) { b.max_outstanding_per_link(0); }},
        {"max_queued_notifies", [](B& b) { b.max_queued_notifies(0); }},
        {"lease_warn_threshold", [](B& b) { b.lease_warn_threshold(0ms); }},
    };
    for (const auto& [setting, spoil] : cases) {
        B b = base();
        spoil(b);
        EXPECT_TRUE(build_rejects(b, setting)) << setting;
    }
}

} // namespace
