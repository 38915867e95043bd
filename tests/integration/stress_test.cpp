// Exactly-once under chaos: many threads mix acquire, cancelled async acquires, pipelined
// requests, lease moves and early release, request timeouts, while the fault proxy cuts and
// blackholes links at random; then the pool is shut down mid-flight. Every operation must
// complete exactly once. Seedable: TETHER_STRESS_SEED=<n>; the seed is printed on failure.

#include "fault_proxy.hpp"
#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

// Completion counts of every operation started, in a fixed array so handlers never race a
// reallocation.
class ledger {
public:
    explicit ledger(std::size_t capacity) : counts_(capacity) {}
    // Index of a new operation, or -1 when the ledger is full (the worker then stops).
    long start()
    {
        const auto i = next_.fetch_add(1);
        return i < counts_.size() ? static_cast<long>(i) : -1;
    }
    void complete(long i) { counts_[static_cast<std::size_t>(i)].fetch_add(1); }
    std::size_t started() const { return std::min(next_.load(), counts_.size()); }
    std::size_t with_count(int n) const
    {
        std::size_t k = 0;
        for (std::size_t i = 0; i < started(); ++i)
            k += counts_[i].load() == n ? 1u : 0u;
        return k;
    }

private:
    std::vector<std::atomic<int>> counts_;
    std::atomic<std::size_t> next_{0};
};

std::uint64_t stress_seed()
{
    if (const char* s = std::getenv("TETHER_STRESS_SEED"))
        return std::strtoull(s, nullptr, 10);
    return std::random_device{}();
}

TEST(Stress, EveryOperationCompletesExactlyOnceUnderChaosAndShutdown)
{
    const std::uint64_t seed = stress_seed();
    SCOPED_TRACE("TETHER_STRESS_SEED=" + std::to_string(seed));
    const int fds_before = tether::test::open_fd_count();
    // A first thread lets sanitizer runtimes start their own helper thread (TSan starts its
    // background thread with the process's first pthread_create) before the baseline.
    std::thread([] {}).join();
    const int threads_before = tether::test::thread_count();

    tether::testing::echo_server_options so;
    so.threads = 2;
    auto server = std::make_unique<tether::testing::echo_server>(so);
    server->start();
    auto proxy = std::make_unique<tether::test::fault_proxy>("127.0.0.1", server->port());

    ledger book(200'000);
    std::atomic<std::uint64_t> ok{0}, failed{0};
    {
        auto pool = tether::pool_builder{}
                        .endpoint("127.0.0.1", proxy->port())
                        .io_threads(2)
                        .min_connections(2)
                        .max_connections(6)
                        .max_waiters(64)
                        .acquire_timeout(scaled(300ms))
                        .connect_timeout(scaled(500ms))
                        .request_timeout(scaled(150ms))
                        .ping_interval(scaled(200ms))
                        .ping_timeout(scaled(200ms))
                        .backoff(5ms, 2.0, 80ms, 0.5)
                        .drain_timeout(scaled(200ms))
                        .build();

        auto done = [&](long id, boost::system::error_code ec) {
            book.complete(id);
            (ec ? failed : ok).fetch_add(1);
        };

        std::atomic<bool> stop{false};
        std::vector<std::thread> workers;
        for (int t = 0; t < 6; ++t) {
            workers.emplace_back([&, t] {
                std::mt19937_64 rng(seed + static_cast<std::uint64_t>(t));
                auto pick = [&](int n) {
                    return static_cast<int>(rng() % static_cast<unsigned>(n));
                };
                while (!stop.load()) {
                    switch (pick(4)) {
                    case 0: { // acquire, pipeline, maybe move, release early or late
                        std::error_code ec;
                        tether::lease l = pool.acquire(ec);
                        if (ec)
                            break;
                        const int depth = 1 + pick(8);
                        for (int k = 0; k < depth; ++k) {
                            const long id = book.start();
                            if (id < 0)
                                return;
                            json body{{"k", k}};
                            if (pick(4) == 0)
                                body["$test"] = {{"sleep_ms", pick(250)}}; // some time out
                            l.async_request(
                                body, [&, id](boost::system::error_code e, json) { done(id, e); });
                        }
                        tether::lease moved = std::move(l);
                        if (pick(2) == 0)
                            moved.release(); // early: requests still complete
                        else
                            std::this_thread::sleep_for(std::chrono::milliseconds(pick(20)));
                        break;
                    }
                    case 1: { // async acquire, cancelled at a random moment
                        const long id = book.start();
                        if (id < 0)
                            return;
                        auto signal = std::make_shared<boost::asio::cancellation_signal>();
                        pool.async_acquire(boost::asio::bind_cancellation_slot(
                            signal->slot(), [&, id, signal](boost::system::error_code e,
                                                            tether::lease) { done(id, e); }));
                        std::this_thread::sleep_for(std::chrono::microseconds(pick(3000)));
                        if (pick(2) == 0)
                            signal->emit(boost::asio::cancellation_type::terminal);
                        break;
                    }
                    case 2: { // one-shot request
                        const long id = book.start();
                        if (id < 0)
                            return;
                        pool.async_request(
                            json{{"one", "shot"}},
                            [&, id](boost::system::error_code e, json) { done(id, e); });
                        break;
                    }
                    default: { // a cancelled request on a held lease
                        std::error_code ec;
                        tether::lease l = pool.acquire(ec);
                        if (ec)
                            break;
                        const long id = book.start();
                        if (id < 0)
                            return;
                        auto signal = std::make_shared<boost::asio::cancellation_signal>();
                        l.async_request(
                            json{{"$test", {{"sleep_ms", 50}}}},
                            boost::asio::bind_cancellation_slot(
                                signal->slot(), [&, id, signal](boost::system::error_code e, json) {
                                    done(id, e);
                                }));
                        std::this_thread::sleep_for(std::chrono::milliseconds(pick(5)));
                        signal->emit(boost::asio::cancellation_type::terminal);
                        break;
                    }
                    }
                }
            });
        }
        std::thread chaos([&] {
            std::mt19937_64 rng(seed ^ 0x5eedULL);
            while (!stop.load()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(40 + rng() % 80));
                switch (rng() % 3) {
                case 0:
                    proxy->cut_all(true);
                    break;
                case 1:
                    proxy->cut_all(false);
                    break;
                default:
                    proxy->set_mode(tether::test::fault_proxy::mode::blackhole);
                    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 120));
                    proxy->set_mode(tether::test::fault_proxy::mode::pass);
                    break;
                }
            }
        });

        std::this_thread::sleep_for(scaled(3s));
        // Shut down mid-flight: workers are still issuing operations while it happens.
        std::thread closer([&] { pool.shutdown(scaled(200ms)); });
        std::this_thread::sleep_for(20ms);
        stop = true;
        closer.join();
        chaos.join();
        for (auto& w : workers)
            w.join();

        const bool all_done = poll_until([&] { return book.with_count(0) == 0; }, scaled(10s));
        EXPECT_TRUE(all_done) << book.with_count(0) << " operations never completed";
        std::this_thread::sleep_for(50ms); // a second completion would show up here
        EXPECT_EQ(book.with_count(0), 0u);
        EXPECT_EQ(book.with_count(1), book.started()) << "each operation exactly once";
        EXPECT_GT(ok.load(), 100u) << "the stress must do real work, not only fail";
        EXPECT_GT(failed.load(), 0u) << "the chaos must bite";
        std::printf("[ stress   ] seed %llu: %zu operations, %llu ok, %llu failed\n",
                    static_cast<unsigned long long>(seed), book.started(),
                    static_cast<unsigned long long>(ok.load()),
                    static_cast<unsigned long long>(failed.load()));
    }
    proxy.reset();
    server.reset();
    EXPECT_TRUE(poll_until([&] { return tether::test::open_fd_count() == fds_before; }, scaled(3s)))
        << "descriptors leaked: " << tether::test::open_fd_count() << " vs " << fds_before;
    // Completions after shutdown run on a short-lived tether thread that exits when idle.
    EXPECT_TRUE(
        poll_until([&] { return tether::test::thread_count() <= threads_before; }, scaled(3s)))
        << "threads left behind: " << tether::test::thread_count() << " vs " << threads_before;
}

} // namespace
