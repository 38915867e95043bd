// A pool's logger (src/io/pool_log.hpp) on a manual clock: the pool's name on every message,
// the minimum level checked before anything is formatted, rate limiting with the count of what
// was left out, stderr (here the test sink) when no logger is set, and nothing thrown out.

#include "io/log.hpp"
#include "io/pool_log.hpp"
#include "manual_clock.hpp"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tether::log_level;
using tether::detail::log_kind;
using tether::detail::pool_log;

class PoolLog : public ::testing::Test {
protected:
    PoolLog()
    {
        config.name = "orders";
        config.endpoints = {{"127.0.0.1", 7000}, {"127.0.0.1", 7001}};
        config.logger = [this](log_level level, std::string_view message) {
            lines.emplace_back(level, std::string(message));
        };
    }

    tether::pool_config config;
    tether::test::manual_clock clock;
    std::vector<std::pair<log_level, std::string>> lines;
};

TEST_F(PoolLog, MessagesStartWithThePoolsNameAndKeepTheirKindsLevel)
{
    config.log_min = log_level::debug;
    pool_log log(config, clock);
    log.write(log_kind::link_connected, 0, [] { return std::string("link 1 connected"); });
    log.write(log_kind::goaway, 0, [] { return std::string("goaway"); });
    log.write(log_kind::connect_failed, 0, [] { return std::string("refused"); });
    log.report_throw("observer threw", "boom");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], std::make_pair(log_level::debug, std::string("orders: link 1 connected")));
    EXPECT_EQ(lines[1], std::make_pair(log_level::info, std::string("orders: goaway")));
    EXPECT_EQ(lines[2], std::make_pair(log_level::warn, std::string("orders: refused")));
    EXPECT_EQ(lines[3],
              std::make_pair(log_level::error, std::string("orders: observer threw: boom")));
}

TEST_F(PoolLog, BelowTheMinimumNothingIsFormatted)
{
    config.log_min = log_level::warn;
    pool_log log(config, clock);
    int formatted = 0;
    log.write(log_kind::link_connected, 0, [&] { return std::to_string(++formatted); });
    log.write(log_kind::backoff, 0, [&] { return std::to_string(++formatted); });
    EXPECT_EQ(formatted, 0);
    EXPECT_FALSE(log.enabled(log_kind::goaway));
    EXPECT_TRUE(log.enabled(log_kind::dead_link));
    EXPECT_TRUE(lines.empty());
}

TEST_F(PoolLog, AFloodIsCutToTheBudgetAndTheRestIsCounted)
{
    pool_log log(config, clock, {.per_window = 10, .window = 10s});
    for (int i = 0; i < 25; ++i) {
        log.write(log_kind::connect_failed, 0, [&] { return "refused " + std::to_string(i); });
        clock.advance(100ms);
    }
    log.write(log_kind::connect_failed, 1, [] { return std::string("other endpoint"); });
    ASSERT_EQ(lines.size(), 11u) << "ten of the flood, and the other endpoint's";
    EXPECT_EQ(lines[9].second, "orders: refused 9");
    EXPECT_EQ(lines[10].second, "orders: other endpoint");
    log.flush_suppressed(false);
    EXPECT_EQ(lines.size(), 11u) << "the window is not over";
    clock.advance(10s);
    log.flush_suppressed(false);
    ASSERT_EQ(lines.size(), 12u);
    EXPECT_EQ(lines[11].first, log_level::warn);
    EXPECT_EQ(lines[11].second,
              "orders: 127.0.0.1:7000: 15 more connect failure messages suppressed in the last "
              "10 s");
    log.flush_suppressed(false);
    EXPECT_EQ(lines.size(), 12u) << "told once";
    log.write(log_kind::connect_failed, 0, [] { return std::string("again"); });
    EXPECT_EQ(lines.back().second, "orders: again") << "a new window";
}

TEST_F(PoolLog, TheNextMessageAfterTheWindowTellsTheCountFirst)
{
    pool_log log(config, clock, {.per_window = 2, .window = 10s});
    for (int i = 0; i < 5; ++i)
        log.write(log_kind::dead_link, 1, [] { return std::string("dead"); });
    clock.advance(11s);
    log.write(log_kind::dead_link, 1, [] { return std::string("dead again"); });
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[2].second,
              "orders: 127.0.0.1:7001: 3 more dead link messages suppressed in the last 10 s");
    EXPECT_EQ(lines[3].second, "orders: dead again");
}

TEST_F(PoolLog, FlushingAllTellsOpenWindowsWithTheirSpan)
{
    pool_log log(config, clock, {.per_window = 1, .window = 10s});
    log.write(log_kind::notify_dropped, pool_log::no_endpoint, [] { return std::string("d"); });
    log.write(log_kind::notify_dropped, pool_log::no_endpoint, [] { return std::string("d"); });
    clock.advance(1500ms);
    log.flush_suppressed(true);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].second,
              "orders: 1 more dropped notify message suppressed in the last 1.5 s");
}

TEST_F(PoolLog, DebugMessagesAreNotLimited)
{
    config.log_min = log_level::debug;
    pool_log log(config, clock, {.per_window = 1, .window = 10s});
    for (int i = 0; i < 5; ++i)
        log.write(log_kind::link_closed, 0, [] { return std::string("closed"); });
    EXPECT_EQ(lines.size(), 5u);
}

TEST_F(PoolLog, ALoggerThatThrowsIsSwallowedAndSoIsAFormatterThatThrows)
{
    config.logger = [](log_level, std::string_view) { throw std::runtime_error("full disk"); };
    pool_log log(config, clock);
    EXPECT_NO_THROW(log.write(log_kind::dead_link, 0, [] { return std::string("x"); }));
    EXPECT_NO_THROW(
        log.write(log_kind::dead_link, 0, []() -> std::string { throw std::bad_alloc(); }));
    EXPECT_NO_THROW(log.run_guarded("observer threw", [] { throw 42; }));
}

TEST_F(PoolLog, RunGuardedLogsWhatApplicationCodeThrew)
{
    pool_log log(config, clock);
    log.run_guarded("observer threw", [] { throw std::runtime_error("boom"); });
    log.run_guarded("on_notify handler threw", [] { throw 42; });
    int ran = 0;
    log.run_guarded("never", [&] { ++ran; });
    EXPECT_EQ(ran, 1);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0],
              std::make_pair(log_level::error, std::string("orders: observer threw: boom")));
    EXPECT_EQ(lines[1].second, "orders: on_notify handler threw");
}

TEST_F(PoolLog, WithoutALoggerWarnAndErrorGoToStderrAsBefore)
{
    std::vector<std::string> written;
    tether::detail::set_log_sink_for_testing(
        [&](tether::detail::log_severity, std::string_view line) { written.emplace_back(line); });
    config.logger = nullptr;
    config.name = "tether";
    {
        pool_log log(config, clock);
        log.write(log_kind::goaway, 0, [] { return std::string("info is not written"); });
        log.write(log_kind::connect_failed, 0, [] { return std::string("refused"); });
    }
    config.log_min = log_level::info; // an empty logger keeps stderr, at its level
    {
        pool_log log(config, clock);
        log.write(log_kind::goaway, 0, [] { return std::string("goaway"); });
    }
    tether::detail::set_log_sink_for_testing({});
    ASSERT_EQ(written.size(), 2u);
    EXPECT_EQ(written[0], "tether: refused\n");
    EXPECT_EQ(written[1], "tether: goaway\n");
}

} // namespace
