// Unit tests of tether's error category, error codes and exception types.

#include <tether/error.hpp>

#include <boost/system/error_code.hpp>
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

namespace {

using tether::errc;

// Every value of tether::errc, in declaration order.
constexpr std::array all_errc = {
    errc::acquire_timeout,       errc::pool_closed,           errc::connect_failed,
    errc::no_endpoint_available, errc::connection_lost,       errc::connection_draining,
    errc::request_timeout,       errc::protocol_error,        errc::frame_too_large,
    errc::server_error,          errc::too_many_waiters,      errc::too_many_requests,
    errc::invalid_lease,         errc::would_block_io_thread, errc::invalid_argument,
};

TEST(ErrcValues, AreContiguousFromOneAndNeverZero)
{
    for (std::size_t i = 0; i < all_errc.size(); ++i)
        EXPECT_EQ(static_cast<int>(all_errc[i]), static_cast<int>(i) + 1);
    // The last enumerator is invalid_argument: nothing was left out of all_errc.
    EXPECT_EQ(static_cast<int>(errc::invalid_argument), static_cast<int>(all_errc.size()));
}

TEST(ErrorCategory, NameIsTether)
{
    EXPECT_STREQ(tether::error_category().name(), "tether");
    EXPECT_EQ(&tether::error_category(), &tether::error_category());
}

TEST(ErrorCategory, EveryValueHasANonEmptyDistinctMessage)
{
    std::set<std::string> messages;
    for (const errc e : all_errc) {
        const std::string m = tether::error_category().message(static_cast<int>(e));
        SCOPED_TRACE(static_cast<int>(e));
        EXPECT_FALSE(m.empty());
        EXPECT_EQ(m.find("unknown tether error"), std::string::npos) << m;
        messages.insert(m);
    }
    EXPECT_EQ(messages.size(), all_errc.size());
}

TEST(ErrorCategory, OutOfRangeValuesStillHaveAMessage)
{
    for (const int v : {0, 16, -1, 1000}) {
        const std::string m = tether::error_category().message(v);
        EXPECT_FALSE(m.empty());
        for (const errc e : all_errc)
            EXPECT_NE(m, tether::error_category().message(static_cast<int>(e)));
    }
}

TEST(ErrorCode, BoostCodeFromEnum)
{
    for (const errc e : all_errc) {
        SCOPED_TRACE(static_cast<int>(e));
        const boost::system::error_code ec = e;
        EXPECT_TRUE(ec);
        EXPECT_TRUE(ec == e);
        EXPECT_TRUE(e == ec);
        EXPECT_FALSE(ec != e);
        EXPECT_EQ(ec.value(), static_cast<int>(e));
        EXPECT_EQ(ec.category(), tether::error_category());
        EXPECT_STREQ(ec.category().name(), "tether");
        EXPECT_EQ(ec.message(), tether::error_category().message(static_cast<int>(e)));
        EXPECT_EQ(ec, tether::make_error_code(e));
        for (const errc other : all_errc) {
            if (other != e) {
                EXPECT_FALSE(ec == other);
                EXPECT_TRUE(ec != other);
            }
        }
        // Not confused with a system or generic code of the same value.
        EXPECT_NE(
            ec, boost::system::error_code(static_cast<int>(e), boost::system::generic_category()));
        EXPECT_NE(ec,
                  boost::system::error_code(static_cast<int>(e), boost::system::system_category()));
    }
}

TEST(ErrorCode, StdCodeFromEnum)
{
    for (const errc e : all_errc) {
        SCOPED_TRACE(static_cast<int>(e));
        const std::error_code ec = e;
        EXPECT_TRUE(ec);
        EXPECT_TRUE(ec == e);
        EXPECT_TRUE(e == ec);
        EXPECT_FALSE(ec != e);
        EXPECT_EQ(ec.value(), static_cast<int>(e));
        EXPECT_STREQ(ec.category().name(), "tether");
        EXPECT_EQ(ec.message(), tether::error_category().message(static_cast<int>(e)));
        for (const errc other : all_errc) {
            if (other != e) {
                EXPECT_FALSE(ec == other);
                EXPECT_TRUE(ec != other);
            }
        }
        EXPECT_NE(ec, std::error_code(static_cast<int>(e), std::generic_category()));
        EXPECT_NE(ec, std::error_code(static_cast<int>(e), std::system_category()));
    }
}

TEST(ErrorCode, StdCodesOfTheSameValueShareOneCategory)
{
    const std::error_code a = errc::protocol_error;
    const std::error_code b = errc::protocol_error;
    const std::error_code c = errc::frame_too_large;
    EXPECT_EQ(a, b);
    EXPECT_EQ(&a.category(), &c.category());
    EXPECT_NE(a, c);
}

TEST(ErrorCode, BoostCodeConvertedToStdStillComparesEqual)
{
    for (const errc e : all_errc) {
        SCOPED_TRACE(static_cast<int>(e));
        const boost::system::error_code b = tether::make_error_code(e);
        const std::error_code s = b;
        EXPECT_TRUE(s);
        EXPECT_TRUE(s == e);
        EXPECT_TRUE(e == s);
        EXPECT_EQ(s.value(), static_cast<int>(e));
        EXPECT_STREQ(s.category().name(), "tether");
        EXPECT_EQ(s.message(), b.message());
        EXPECT_EQ(s, std::error_code(e));
        for (const errc other : all_errc) {
            if (other != e) {
                EXPECT_FALSE(s == other);
            }
        }
        // Mixed comparisons.
        EXPECT_TRUE(s == b);
        EXPECT_TRUE(b == s);
    }
}

TEST(ErrorCode, StdCodeConvertedBackToBoostStillComparesEqual)
{
    const std::error_code s = errc::request_timeout;
    const boost::system::error_code b(s);
    EXPECT_TRUE(b == errc::request_timeout);
    EXPECT_FALSE(b == errc::connection_lost);
    EXPECT_EQ(b.value(), static_cast<int>(errc::request_timeout));
}

TEST(ErrorCode, DefaultCodesAreNotTetherErrors)
{
    const boost::system::error_code b;
    const std::error_code s;
    EXPECT_FALSE(b);
    EXPECT_FALSE(s);
    for (const errc e : all_errc) {
        EXPECT_FALSE(b == e);
        EXPECT_FALSE(s == e);
    }
}

// ---------------------------------------------------------------------------------------------
// Exceptions

TEST(ErrorException, CarriesTheCode)
{
    const tether::error e(std::error_code(errc::pool_closed));
    EXPECT_TRUE(e.code() == errc::pool_closed);
    EXPECT_FALSE(e.code() == errc::connection_lost);
    EXPECT_NE(std::string(e.what()).find(
                  tether::error_category().message(static_cast<int>(errc::pool_closed))),
              std::string::npos)
        << e.what();
}

TEST(ErrorException, WithContext)
{
    try {
        throw tether::error(errc::request_timeout, "lease::request id 5");
    } catch (const std::system_error& e) {
        EXPECT_TRUE(e.code() == errc::request_timeout);
        EXPECT_NE(std::string(e.what()).find("lease::request id 5"), std::string::npos) << e.what();
        return;
    }
    ADD_FAILURE() << "not caught as std::system_error";
}

TEST(ErrorException, FromBoostCode)
{
    const boost::system::error_code b = errc::connect_failed;
    const tether::error e(b);
    EXPECT_TRUE(e.code() == errc::connect_failed);
}

TEST(ServerError, CarriesServerCodeAndMessage)
{
    const tether::server_error e(404, "no such op");
    EXPECT_EQ(e.server_code(), 404);
    EXPECT_EQ(e.server_message(), "no such op");
    EXPECT_TRUE(e.code() == errc::server_error);
    const std::string what = e.what();
    EXPECT_NE(what.find("404"), std::string::npos) << what;
    EXPECT_NE(what.find("no such op"), std::string::npos) << what;
}

TEST(ServerError, NegativeAndExtremeCodes)
{
    const tether::server_error neg(-32601, "method not found");
    EXPECT_EQ(neg.server_code(), -32601);
    EXPECT_NE(std::string(neg.what()).find("-32601"), std::string::npos) << neg.what();
    EXPECT_NE(std::string(neg.what()).find("method not found"), std::string::npos);

    const tether::server_error big(9223372036854775807LL, "");
    EXPECT_EQ(big.server_code(), 9223372036854775807LL);
    EXPECT_EQ(big.server_message(), "");
    EXPECT_NE(std::string(big.what()).find("9223372036854775807"), std::string::npos);
}

TEST(ServerError, IsATetherErrorAndASystemError)
{
    try {
        throw tether::server_error(500, "internal");
    } catch (const tether::error& e) {
        EXPECT_TRUE(e.code() == errc::server_error);
        const auto* se = dynamic_cast<const tether::server_error*>(&e);
        ASSERT_NE(se, nullptr);
        EXPECT_EQ(se->server_code(), 500);
        EXPECT_EQ(se->server_message(), "internal");
        return;
    }
    ADD_FAILURE() << "not caught as tether::error";
}

TEST(ConfigError, NamesTheSetting)
{
    const tether::config_error e("max_waiters", "must be at least 1");
    EXPECT_EQ(e.setting(), "max_waiters");
    const std::string what = e.what();
    EXPECT_NE(what.find("max_waiters"), std::string::npos) << what;
    EXPECT_NE(what.find("must be at least 1"), std::string::npos) << what;
}

TEST(ConfigError, IsAnInvalidArgument)
{
    try {
        throw tether::config_error("request_timeout", "must be positive");
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("request_timeout"), std::string::npos);
        const auto* ce = dynamic_cast<const tether::config_error*>(&e);
        ASSERT_NE(ce, nullptr);
        EXPECT_EQ(ce->setting(), "request_timeout");
        return;
    }
    ADD_FAILURE() << "not caught as std::invalid_argument";
}

} // namespace
