// with_diagnostics(token) and the default token against the reference server: coroutines get
// exactly what the blocking calls throw (server_error with code and message, error with the
// pool's diagnostics); plain tokens keep their error_code signatures.

#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <future>
#include <string>

using namespace std::chrono_literals;
using tether::test::scaled;
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

json error_body(int code, const std::string& message)
{
    return json{{"$test", {{"error", {{"code", code}, {"message", message}}}}}};
}

/// Runs `coro` to completion on its own io_context; rethrows what escaped it.
template <class Coro> void run_coroutine(Coro coro)
{
    asio::io_context io;
    std::exception_ptr escaped;
    asio::co_spawn(io, std::move(coro), [&](std::exception_ptr e) { escaped = e; });
    io.run();
    if (escaped)
        std::rethrow_exception(escaped);
}

class WithDiagnostics : public ::testing::Test {
protected:
    std::unique_ptr<tether::testing::echo_server> server_ = tether::testing::start_echo_server();
    tether::pool pool_ = tether::pool_builder{}
                             .endpoint("127.0.0.1", server_->port())
                             .io_threads(1)
                             .acquire_timeout(scaled(2s))
                             .build();
};

TEST_F(WithDiagnostics, TheDefaultTokenReturnsValuesAndThrowsWhatTheBlockingCallThrows)
{
    run_coroutine([this]() -> asio::awaitable<void> {
        auto lease = co_await pool_.async_acquire(); // no token: with_diagnostics(deferred)
        const json body{{"a", 1}};
        EXPECT_EQ(co_await lease.async_request(body), body);
        const json refused = error_body(7, "no such op");
        try {
            co_await lease.async_request(refused);
            ADD_FAILURE() << "expected server_error";
        } catch (const tether::server_error& e) {
            EXPECT_EQ(e.server_code(), 7);
            EXPECT_EQ(e.server_message(), "no such op");
            EXPECT_EQ(e.code(), tether::errc::server_error);
        }
        const json via_pool{{"b", 2}};
        EXPECT_EQ(co_await pool_.async_request(via_pool), via_pool);
    });
}

TEST_F(WithDiagnostics, AFailedAcquireCarriesTheDiagnostics)
{
    auto dead = tether::pool_builder{}
                    .endpoint("127.0.0.1", 1) // nothing listens: connects are refused
                    .io_threads(1)
                    .build();
    run_coroutine([&]() -> asio::awaitable<void> {
        try {
            co_await dead.async_acquire(tether::with_diagnostics(asio::use_awaitable));
            ADD_FAILURE() << "expected an error";
        } catch (const tether::error& e) {
            EXPECT_EQ(e.code(), tether::errc::no_endpoint_available);
            const std::string what = e.what();
            EXPECT_NE(what.find("connect failed: connect 127.0.0.1:1"), std::string::npos) << what;
        }
        try {
            const json body{{"x", 1}};
            co_await dead.async_request(body);
            ADD_FAILURE() << "expected an error";
        } catch (const tether::error& e) {
            EXPECT_NE(std::string(e.what()).find("connect failed"), std::string::npos) << e.what();
        }
    });
}

TEST_F(WithDiagnostics, PlainTokensKeepTheirErrorCodeSignatures)
{
    run_coroutine([this]() -> asio::awaitable<void> {
        auto lease = co_await pool_.async_acquire(asio::use_awaitable);
        const json refused = error_body(9, "nope");
        auto [ec, value] =
            co_await lease.async_request(refused, asio::as_tuple(asio::use_awaitable));
        EXPECT_EQ(ec, tether::errc::server_error);
        EXPECT_EQ(value["code"], 9);
        try {
            co_await lease.async_request(refused, asio::use_awaitable);
            ADD_FAILURE() << "expected system_error";
        } catch (const tether::server_error&) {
            ADD_FAILURE() << "a plain token gives system_error, not server_error";
        } catch (const boost::system::system_error& e) {
            EXPECT_EQ(e.code(), tether::errc::server_error);
        }
    });
}

TEST_F(WithDiagnostics, FuturesAndCallbacks)
{
    auto lease = pool_.acquire();
    auto fut =
        lease.async_request(error_body(5, "future"), tether::with_diagnostics(asio::use_future));
    try {
        fut.get();
        ADD_FAILURE() << "expected server_error";
    } catch (const tether::server_error& e) {
        EXPECT_EQ(e.server_code(), 5);
    }
    std::promise<std::pair<std::exception_ptr, json>> done;
    lease.async_request(json{{"cb", 1}},
                        tether::with_diagnostics([&](std::exception_ptr e, json value) {
                            done.set_value({e, std::move(value)});
                        }));
    auto [failure, value] = done.get_future().get();
    EXPECT_FALSE(failure);
    EXPECT_EQ(value, (json{{"cb", 1}}));
}

TEST_F(WithDiagnostics, CancellationStillReachesTheOperation)
{
    auto lease = pool_.acquire();
    asio::cancellation_signal cancel;
    auto fut = lease.async_request(
        json{{"$test", {{"sleep_ms", 5000}}}},
        tether::with_diagnostics(asio::bind_cancellation_slot(cancel.slot(), asio::use_future)));
    std::this_thread::sleep_for(20ms);
    cancel.emit(asio::cancellation_type::terminal);
    try {
        fut.get();
        ADD_FAILURE() << "expected operation_aborted";
    } catch (const tether::error& e) {
        EXPECT_EQ(e.code(),
                  std::error_code(boost::system::error_code(asio::error::operation_aborted)))
            << e.what();
    }
}

} // namespace
