// pool_builder::executor(): the pool runs on the application's executor (design.md §1a) — no
// threads of its own, handlers on that executor, blocking calls refused there, shutdown there
// starts the drain and returns, elsewhere waits for it — and every guarantee of the own-thread
// pool holds: exactly-once completions, drain, health, goaway. Each test runs on a
// single-threaded io_context and on a two-thread thread_pool.

#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <optional>
#include <sched.h>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

enum class executor_kind { io_context, thread_pool };

std::string kind_name(const ::testing::TestParamInfo<executor_kind>& info)
{
    return info.param == executor_kind::io_context ? "io_context" : "thread_pool";
}

/// The application's executor: an io_context run by one thread of the test, or a thread_pool
/// of two threads. Stopped and joined at the end of the test.
class app_executor {
public:
    explicit app_executor(executor_kind kind)
    {
        if (kind == executor_kind::io_context) {
            io_.emplace(1);
            work_.emplace(io_->get_executor());
            runner_ = std::thread([this] { io_->run(); });
        } else {
            threads_.emplace(2);
        }
    }
    ~app_executor() { stop(); }

    asio::any_io_executor get() const
    {
        if (io_)
            return io_->get_executor();
        return threads_->get_executor();
    }
    bool running_in_this_thread() const
    {
        return io_ ? io_->get_executor().running_in_this_thread()
                   : threads_->get_executor().running_in_this_thread();
    }
    void stop()
    {
        if (io_) {
            work_.reset();
            io_->stop();
            if (runner_.joinable())
                runner_.join();
        } else if (threads_) {
            threads_->stop();
            threads_->join();
        }
    }

private:
    mutable std::optional<asio::io_context> io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::thread runner_;
    mutable std::optional<asio::thread_pool> threads_;
};

/// Runs `fn` on `ex` and returns what it returned (the test's thread waits).
template <class Fn> auto run_on(const asio::any_io_executor& ex, Fn fn)
{
    std::promise<decltype(fn())> result;
    asio::post(ex, [&] { result.set_value(fn()); });
    return result.get_future().get();
}

class ExternalExecutor : public ::testing::TestWithParam<executor_kind> {
protected:
    std::unique_ptr<tether::testing::echo_server> server_ = tether::testing::start_echo_server();
    app_executor app_{GetParam()};

    tether::pool_builder builder() const
    {
        tether::pool_builder b;
        b.endpoint("127.0.0.1", server_->port())
            .executor(app_.get())
            .acquire_timeout(scaled(3s))
            .drain_timeout(scaled(3s));
        return b;
    }
};

TEST_P(ExternalExecutor, StartsNoThreadsAndCompletesOnTheApplicationsExecutor)
{
    const int threads_before = tether::test::thread_count();
    auto pool = builder().min_connections(2).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    EXPECT_EQ(tether::test::thread_count(), threads_before) << "the pool started threads";
    EXPECT_EQ(pool.config().executor.has_value(), true);

    // A plain callback has no executor of its own: it runs on the application's.
    auto lease = pool.acquire();
    std::promise<bool> ran_on_executor;
    lease.async_request(json{{"a", 1}}, [&](boost::system::error_code ec, json reply) {
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(reply, (json{{"a", 1}}));
        ran_on_executor.set_value(app_.running_in_this_thread());
    });
    EXPECT_TRUE(ran_on_executor.get_future().get());
    EXPECT_EQ(tether::test::thread_count(), threads_before);
}

TEST_P(ExternalExecutor, BlockingCallsOnTheExecutorAreRefused)
{
    auto pool = builder().build();
    const auto acquire_ec = run_on(app_.get(), [&] {
        std::error_code ec;
        auto l = pool.acquire(ec);
        return std::make_pair(ec, l.valid());
    });
    EXPECT_EQ(acquire_ec.first, tether::errc::would_block_io_thread);
    EXPECT_FALSE(acquire_ec.second);
    const auto request_ec = run_on(app_.get(), [&] {
        std::error_code ec;
        (void)pool.request(json{{"a", 1}}, ec);
        return ec;
    });
    EXPECT_EQ(request_ec, tether::errc::would_block_io_thread);
    // The same pool serves a caller from elsewhere.
    EXPECT_EQ(pool.request(json{{"b", 2}}), (json{{"b", 2}}));
}

TEST_P(ExternalExecutor, CoroutinesOnTheExecutorGetEveryCompletionExactlyOnce)
{
    auto pool = builder().max_connections(4).build();
    constexpr int coroutines = 8, per_coroutine = 100;
    std::atomic<int> answered{0}, wrong{0}, finished{0};
    for (int c = 0; c < coroutines; ++c) {
        asio::co_spawn(
            app_.get(),
            [&, c]() -> asio::awaitable<void> {
                for (int i = 0; i < per_coroutine; ++i) {
                    auto lease = co_await pool.async_acquire();
                    // Two in flight on one lease: pipelined, matched by id.
                    const json first{{"c", c}, {"i", i}}, second{{"c", c}, {"i", -i}};
                    auto [order, ec1, reply1, ec2, reply2] =
                        co_await asio::experimental::make_parallel_group(
                            lease.async_request(first, asio::deferred),
                            lease.async_request(second, asio::deferred))
                            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
                    (void)order;
                    answered += 2;
                    if (ec1 || ec2 || reply1 != first || reply2 != second)
                        ++wrong;
                }
            },
            [&](std::exception_ptr e) {
                if (e)
                    ++wrong;
                ++finished;
            });
    }
    ASSERT_TRUE(poll_until([&] { return finished.load() == coroutines; }, scaled(20s)));
    EXPECT_EQ(answered.load(), coroutines * per_coroutine * 2);
    EXPECT_EQ(wrong.load(), 0);
    const auto s = pool.stats();
    EXPECT_EQ(s.requests, static_cast<std::uint64_t>(coroutines * per_coroutine * 2));
    EXPECT_EQ(s.leased, 0u);
}

TEST_P(ExternalExecutor, CancellationReachesARequestOnTheExecutor)
{
    auto pool = builder().build();
    auto lease = pool.acquire();
    asio::cancellation_signal cancel;
    std::promise<boost::system::error_code> done;
    // Started and cancelled on one strand of the executor, as Asio's cancellation slots
    // require (they are not thread-safe; the thread_pool has two threads).
    const auto strand = asio::make_strand(app_.get());
    asio::post(strand, [&] {
        lease.async_request(
            json{{"$test", {{"sleep_ms", 5000}}}},
            asio::bind_cancellation_slot(
                cancel.slot(), [&](boost::system::error_code ec, json) { done.set_value(ec); }));
    });
    auto timer = std::make_shared<asio::steady_timer>(strand, scaled(50ms));
    timer->async_wait(
        [&, timer](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    auto fut = done.get_future();
    ASSERT_EQ(fut.wait_for(scaled(3s)), std::future_status::ready);
    EXPECT_EQ(fut.get(), asio::error::operation_aborted);
}

TEST_P(ExternalExecutor, ShutdownOnTheExecutorStartsTheDrainAndReturns)
{
    auto pool = builder().build();
    auto lease = pool.acquire();
    // Owed a reply for 200 ms: the drain waits for it.
    auto owed =
        lease.async_request(json{{"$test", {{"sleep_ms", 200}}}, {"k", 1}}, asio::use_future);
    lease.release();
    const bool closed_at_return = run_on(app_.get(), [&] {
        pool.shutdown(); // starts the shutdown; does not wait for the drain it cannot run
        return pool.stats().total == 0;
    });
    EXPECT_FALSE(closed_at_return) << "the shutdown on the executor waited for the drain";
    ASSERT_EQ(owed.wait_for(scaled(3s)), std::future_status::ready);
    EXPECT_EQ(owed.get(), (json{{"$test", {{"sleep_ms", 200}}}, {"k", 1}}));
    EXPECT_TRUE(poll_until([&] { return pool.stats().total == 0; }, scaled(3s)));
    std::error_code ec;
    (void)pool.acquire(ec);
    EXPECT_EQ(ec, tether::errc::pool_closed);
}

TEST_P(ExternalExecutor, ShutdownFromAnotherThreadWaitsForTheDrain)
{
    auto pool = builder().min_connections(2).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    auto lease = pool.acquire();
    auto owed = lease.async_request(json{{"$test", {{"sleep_ms", 200}}}}, asio::use_future);
    lease.release();
    pool.shutdown(scaled(3s));
    EXPECT_EQ(pool.stats().total, 0u) << "shutdown returned before the drain";
    ASSERT_EQ(owed.wait_for(scaled(2s)), std::future_status::ready);
    EXPECT_NO_THROW(owed.get());
}

TEST_P(ExternalExecutor, AHungServerIsDetectedByPings)
{
    const auto interval = scaled(200ms), timeout = scaled(200ms);
    auto pool = builder()
                    .ping_interval(interval)
                    .ping_timeout(timeout)
                    .request_timeout(scaled(10s))
                    .build();
    auto l = pool.acquire();
    ASSERT_EQ(l.request(json{{"a", 1}}), (json{{"a", 1}}));
    server_->set_unresponsive(true);
    std::error_code ec;
    (void)l.request(json{{"b", 2}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_lost);
    EXPECT_EQ(pool.stats().dead_links_detected, 1u);
}

TEST_P(ExternalExecutor, GoawayDrainsTheLinkAndThePoolReplacesIt)
{
    auto pool = builder().build();
    const json goaway_body{{"$test", {{"goaway", true}}}};
    {
        auto l = pool.acquire();
        ASSERT_EQ(l.request(goaway_body), goaway_body);
    }
    ASSERT_TRUE(poll_until([&] { return pool.stats().goaways == 1; }, scaled(2s)));
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(pool.request(json{{"i", i}}), (json{{"i", i}}));
    EXPECT_GE(pool.stats().connects, 2u);
}

INSTANTIATE_TEST_SUITE_P(Executors, ExternalExecutor,
                         ::testing::Values(executor_kind::io_context, executor_kind::thread_pool),
                         kind_name);

// The default io_threads is the CPUs of the thread that builds: a builder made on a thread
// that may use every CPU and built on one pinned to a single CPU is not mistaken for one with
// io_threads set next to an executor.
TEST(ExternalExecutorConfig, TheDefaultIsTakenOnTheThreadThatBuilds)
{
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    tether::pool_builder builder;
    builder.endpoint("127.0.0.1", 7000).min_connections(0).executor(io.get_executor());
    std::string error = "not built";
    unsigned io_threads = 0;
    std::thread pinned([&] {
        cpu_set_t allowed, one;
        CPU_ZERO(&allowed);
        CPU_ZERO(&one);
        if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
            error = "sched_getaffinity failed";
            return;
        }
        for (std::size_t cpu = 0; cpu < CPU_SETSIZE; ++cpu)
            if (CPU_ISSET(cpu, &allowed)) {
                CPU_SET(cpu, &one);
                break;
            }
        if (::sched_setaffinity(0, sizeof one, &one) != 0) {
            error = "sched_setaffinity failed";
            return;
        }
        try {
            auto pool = builder.build();
            io_threads = pool.config().io_threads;
            error.clear();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    pinned.join();
    EXPECT_EQ(error, "");
    EXPECT_EQ(io_threads, 1u);
    work.reset();
    runner.join();
}

TEST(ExternalExecutorConfig, IoThreadsTogetherWithAnExecutorIsAConfigError)
{
    asio::io_context io;
    try {
        (void)tether::pool_builder{}
            .endpoint("127.0.0.1", 7000)
            .executor(io.get_executor())
            .io_threads(tether::default_io_threads()) // even the default, when set
            .build();
        FAIL() << "expected config_error";
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "io_threads");
    }
    tether::pool_config c;
    c.endpoints.push_back({"127.0.0.1", 7000});
    c.executor = io.get_executor();
    c.io_threads = tether::default_io_threads() + 1;
    try {
        tether::validate(c);
        FAIL() << "expected config_error";
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "io_threads");
    }
    c.io_threads = tether::default_io_threads();
    c.executor = asio::any_io_executor();
    try {
        tether::validate(c);
        FAIL() << "expected config_error";
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "executor");
    }
}

// An application that stopped its io_context under a live pool: shutdown() does not wait for
// a drain nobody runs, and the drain happens (every link closed, nothing leaked) once the
// io_context runs again. (A stopped thread_pool cannot run again: its pool's links and memory
// stay until the process ends, as the README says.)
TEST(ExternalExecutorRun, ShutdownOnAStoppedIoContextReturnsAndDrainsWhenItRunsAgain)
{
    auto server = tether::testing::start_echo_server();
    asio::io_context io(1);
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    auto pool = tether::pool_builder{}
                    .endpoint("127.0.0.1", server->port())
                    .executor(io.get_executor())
                    .min_connections(2)
                    .drain_timeout(scaled(300ms))
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    io.stop(); // nobody runs the pool's handlers any more
    runner.join();
    const auto start = std::chrono::steady_clock::now();
    pool.shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - start, scaled(2s)) << "waited for the drain";
    work.reset();
    io.restart();
    io.run_for(scaled(10s)); // the drain runs; returns once the pool has finished (bounded)
    EXPECT_EQ(pool.stats().total, 0u);
    EXPECT_TRUE(io.stopped()) << "the pool left work behind after its drain";
}

// The single-threaded application: its own thread runs the io_context, the pool lives inside
// it, and run() returns once the pool was shut down from a handler: nothing of the pool's is
// left queued or armed on the application's context.
TEST(ExternalExecutorRun, RunReturnsOnceThePoolShutDownFromInside)
{
    auto server = tether::testing::start_echo_server();
    asio::io_context io(1);
    std::atomic<bool> stuck{false};
    std::thread watchdog([&] {
        if (!poll_until([&] { return io.stopped(); }, scaled(10s))) {
            stuck = true;
            io.stop();
        }
    });
    json reply;
    std::exception_ptr failure;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto pool = tether::pool_builder{}
                            .endpoint("127.0.0.1", server->port())
                            .executor(io.get_executor())
                            .min_connections(2)
                            .build();
            auto lease = co_await pool.async_acquire();
            const json body{{"x", 1}}; // g++ 12: no braced body inside co_await
            reply = co_await lease.async_request(body);
            lease.release();
            pool.shutdown(); // on the executor: starts the drain and returns
        },
        [&](std::exception_ptr e) { failure = e; });
    io.run();
    watchdog.join();
    EXPECT_FALSE(stuck) << "io.run() did not return after the pool's shutdown";
    EXPECT_FALSE(failure);
    EXPECT_EQ(reply, (json{{"x", 1}}));
}

} // namespace
