// The pool's name and logger in its configuration (design.md §9): builder setters, defaults,
// validation, and how pool_config's JSON shows them.

#include <tether/config.hpp>
#include <tether/error.hpp>
#include <tether/log.hpp>
#include <tether/pool_builder.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

tether::pool_config valid_config()
{
    tether::pool_config c;
    c.endpoints.push_back({"127.0.0.1", 7000});
    c.io_threads = 1;
    return c;
}

TEST(LoggerConfig, DefaultsAreTetherWarnAndStderr)
{
    const tether::pool_config c;
    EXPECT_EQ(c.name, "tether");
    EXPECT_EQ(c.log_min, tether::log_level::warn);
    EXPECT_FALSE(c.logger);
}

TEST(LoggerConfig, BuilderStoresNameLevelAndFunction)
{
    int calls = 0;
    tether::pool_builder b;
    b.name("orders").logger(tether::log_level::debug,
                            [&](tether::log_level, std::string_view) { ++calls; });
    EXPECT_EQ(b.config().name, "orders");
    EXPECT_EQ(b.config().log_min, tether::log_level::debug);
    ASSERT_TRUE(b.config().logger);
    b.config().logger(tether::log_level::info, "x");
    EXPECT_EQ(calls, 1);
}

TEST(LoggerConfig, AnEmptyNameIsRejected)
{
    auto c = valid_config();
    c.name.clear();
    try {
        tether::validate(c);
        FAIL() << "accepted an empty name";
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "name");
    }
    c.name = "any text: spaces, {braces} and \"quotes\" too";
    EXPECT_NO_THROW(tether::validate(c));
}

TEST(LoggerConfig, ALevelOutsideTheEnumIsRejected)
{
    auto c = valid_config();
    c.log_min = static_cast<tether::log_level>(7);
    try {
        tether::validate(c);
        FAIL() << "accepted level 7";
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "logger");
    }
}

TEST(LoggerConfig, JsonShowsTheNameTheLevelAndWhetherALoggerIsSet)
{
    auto c = valid_config();
    auto j = tether::to_json(c);
    EXPECT_EQ(j.at("name"), "tether");
    EXPECT_EQ(j.at("log_level"), "warn");
    EXPECT_EQ(j.at("has_logger"), false);
    c.name = "orders";
    c.log_min = tether::log_level::info;
    c.logger = [](tether::log_level, std::string_view) {};
    j = tether::to_json(c);
    EXPECT_EQ(j.at("name"), "orders");
    EXPECT_EQ(j.at("log_level"), "info");
    EXPECT_EQ(j.at("has_logger"), true);
}

TEST(LoggerConfig, LevelsHaveNames)
{
    EXPECT_STREQ(tether::to_string(tether::log_level::debug), "debug");
    EXPECT_STREQ(tether::to_string(tether::log_level::info), "info");
    EXPECT_STREQ(tether::to_string(tether::log_level::warn), "warn");
    EXPECT_STREQ(tether::to_string(tether::log_level::error), "error");
}

} // namespace
