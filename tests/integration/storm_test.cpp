// A reconnect storm: many clients lose their one server at the same instant and it comes back
// on the same port. They must all come back, but spread over the jitter window rather than in
// lockstep (design.md §2 "Rebuild": the first reconnect after a lost link waits a uniform
// random time in [0, initial]). Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;

/// Records when each pool's links connect (on_connected runs on the pool's io thread).
class connect_recorder {
public:
    class observer : public tether::pool_observer {
    public:
        observer(connect_recorder& rec, int pool_index) : rec_(rec), pool_(pool_index) {}
        void on_connected(const tether::endpoint&, std::uint64_t link_id) override
        {
            rec_.record(pool_, link_id);
        }

    private:
        connect_recorder& rec_;
        int pool_;
    };

    struct event {
        int pool;
        std::uint64_t link_id;
        clock_type::time_point at;
    };

    void record(int pool, std::uint64_t link_id)
    {
        const auto now = clock_type::now();
        std::lock_guard lock(mutex_);
        events_.push_back({pool, link_id, now});
    }

    /// The first connect of each pool at or after `since`; nullopt for a pool with none.
    std::vector<std::optional<clock_type::time_point>> first_since(clock_type::time_point since,
                                                                   int pools) const
    {
        std::vector<std::optional<clock_type::time_point>> first(static_cast<std::size_t>(pools));
        std::lock_guard lock(mutex_);
        for (const auto& e : events_) {
            auto& f = first[static_cast<std::size_t>(e.pool)];
            if (e.at >= since && (!f || e.at < *f))
                f = e.at;
        }
        return first;
    }

private:
    mutable std::mutex mutex_;
    std::vector<event> events_;
};

TEST(Storm, TwentyPoolsReconnectSpreadOverTheJitterWindow)
{
    constexpr int pools_n = 20;
    const auto initial = scaled(400ms);

    auto server = std::make_unique<tether::testing::echo_server>(
        tether::testing::echo_server_options{.threads = 2});
    server->start();
    const auto port = server->port();

    // The recorder outlives the pools: observers hold a reference to it.
    connect_recorder rec;
    std::vector<tether::pool> pools;
    for (int i = 0; i < pools_n; ++i)
        pools.push_back(tether::pool_builder{}
                            .endpoint("127.0.0.1", port)
                            .io_threads(1)
                            .min_connections(1)
                            .max_connections(2)
                            .connect_timeout(scaled(2s))
                            .backoff(initial, 2.0, 5s, 0.2)
                            .observer(std::make_shared<connect_recorder::observer>(rec, i))
                            .build());
    for (auto& p : pools)
        ASSERT_TRUE(p.wait_ready(scaled(5s))) << p.diagnostics();
    for (auto& p : pools)
        ASSERT_EQ(p.request(json{{"warm", true}}), (json{{"warm", true}}));

    // The server dies (every link breaks at once) and comes back on the same port ~100 ms later.
    const auto killed = clock_type::now();
    server.reset();
    std::this_thread::sleep_for(100ms);
    tether::testing::echo_server_options again_opts;
    again_opts.threads = 2;
    again_opts.port = port;
    server = std::make_unique<tether::testing::echo_server>(again_opts);
    server->start();
    const auto restarted = clock_type::now();

    // Worst case: a pool that tried before the restart was refused and backs off
    // initial * (1 + jitter) more: ~100 ms + 1.2 * initial. Bound: 2 * initial + slack.
    const auto bound = 2 * initial + scaled(500ms);
    const bool all_back = poll_until(
        [&] {
            const auto first = rec.first_since(killed, pools_n);
            return std::all_of(first.begin(), first.end(),
                               [](const auto& f) { return f.has_value(); });
        },
        bound + scaled(5s));
    const auto first = rec.first_since(killed, pools_n);

    std::vector<long long> ms; // reconnect times after the kill, sorted
    for (int i = 0; i < pools_n; ++i) {
        const auto& f = first[static_cast<std::size_t>(i)];
        if (f)
            ms.push_back(
                std::chrono::duration_cast<std::chrono::milliseconds>(*f - killed).count());
        else
            ADD_FAILURE() << "pool " << i << " never reconnected: "
                          << pools[static_cast<std::size_t>(i)].diagnostics();
    }
    ASSERT_TRUE(all_back);
    std::sort(ms.begin(), ms.end());

    // Densest 20 ms window (sliding, so no bucket boundary can split a clump).
    std::size_t densest = 0;
    long long densest_at = 0;
    for (std::size_t i = 0; i < ms.size(); ++i) {
        const auto end = std::lower_bound(ms.begin(), ms.end(), ms[i] + 20);
        const auto n =
            static_cast<std::size_t>(end - (ms.begin() + static_cast<std::ptrdiff_t>(i)));
        if (n > densest) {
            densest = n;
            densest_at = ms[i];
        }
    }
    const long long spread = ms.back() - ms.front();
    std::cout << "[ storm    ] server restarted "
              << std::chrono::duration_cast<std::chrono::milliseconds>(restarted - killed).count()
              << " ms after the kill; " << pools_n << " reconnects at (ms after the kill):";
    for (auto t : ms)
        std::cout << ' ' << t;
    std::cout << "\n[ storm    ] first " << ms.front() << " ms, last " << ms.back()
              << " ms, spread " << spread << " ms; densest 20 ms window holds " << densest
              << " (from " << densest_at << " ms); initial backoff " << initial.count()
              << " ms, bound " << bound.count() << " ms" << std::endl;

    EXPECT_LE(ms.back(), bound.count()) << "every pool must be back within 2 * initial + slack";
    EXPECT_GE(spread, initial.count() / 4) << "reconnects came in lockstep, not spread by jitter";
    EXPECT_LE(densest, static_cast<std::size_t>(pools_n / 2))
        << "more than half of the reconnects fell within one 20 ms window";

    // And they all serve again.
    for (auto& p : pools) {
        std::error_code ec;
        const auto reply = p.request(json{{"back", true}}, ec);
        EXPECT_FALSE(ec) << ec.message() << " " << p.diagnostics();
        EXPECT_EQ(reply, (json{{"back", true}}));
    }
    for (auto& p : pools)
        p.shutdown(scaled(500ms));
}

} // namespace
