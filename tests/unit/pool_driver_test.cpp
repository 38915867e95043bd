// The pool driver (src/io/pool_impl*) in virtual time: fake transports, a manual clock, and no
// io threads (io_threads 0: the test thread runs the io_context with poll()). The test plays
// every server; minutes of pool life take milliseconds, with no socket and no sleep.

#include "fake_transport.hpp"
#include "io/lease_access.hpp"
#include "io/link.hpp"
#include "io/pool_impl.hpp"
#include "manual_clock.hpp"
#include "sansio/message.hpp"

#include <tether/error.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace {

using namespace std::chrono_literals;
using boost::system::error_code;
using tether::errc;
using tether::test::fake_wire;
namespace wire = tether::wire;
namespace detail = tether::detail;

class PoolDriver : public ::testing::Test {
protected:
    PoolDriver()
    {
        config.endpoints = {{"127.0.0.1", 7000}};
        config.min_connections = 2;
        config.max_connections = 4;
        config.io_threads = 0; // the test thread runs the io_context
        config.acquire_timeout = 2s;
        config.connect_timeout = 5s;
        config.ping_interval = 60s;
        config.ping_timeout = 30s;
        config.backoff = {100ms, 2.0, 1000ms, 0.2};
        config.max_lifetime = 2min;
        config.idle_timeout = 10min;
        config.drain_timeout = 1s;
    }
    ~PoolDriver() override
    {
        if (anchor)
            anchor->impl->shutdown(0ms);
        run();
    }

    void start()
    {
        auto impl = std::make_shared<detail::pool_impl>(
            config, detail::pool_seams{&clock, tether::test::fake_transport_factory(wires, made)});
        anchor = std::make_shared<detail::pool_anchor>(); // (a copied anchor would shut down)
        anchor->impl = impl;
        impl->start();
        run();
    }
    detail::pool_impl& pool() { return *anchor->impl; }
    void run()
    {
        if (!anchor)
            return;
        auto& io = *pool().own_io_context();
        io.restart();
        io.poll();
    }
    // A healthy server on every open wire: pongs for pings, echoes for requests.
    void serve()
    {
        for (int round = 0; round < 8; ++round) {
            bool answered = false;
            for (auto& w : *made) {
                if (w->closed || silent.count(w.get()) > 0)
                    continue;
                for (const auto& f : w->take_frames()) {
                    auto parsed = wire::parse(f, {wire::sender::client});
                    if (auto* p = std::get_if<wire::ping>(&parsed.msg))
                        w->deliver(tether::test::encode_frame(wire::pong{p->id}));
                    else if (auto* r = std::get_if<wire::request>(&parsed.msg); r && !hold_replies)
                        w->deliver(tether::test::encode_frame(
                            wire::response{r->id, r->body, std::nullopt}));
                    answered = true;
                }
            }
            run();
            if (!answered)
                return;
        }
    }
    // Moves virtual time in steps (timers fire as they come due), serving in between.
    void advance(std::chrono::milliseconds total, std::chrono::milliseconds step = 250ms)
    {
        for (auto done = 0ms; done < total; done += step) {
            clock.advance(std::min(step, total - done));
            run();
            serve();
        }
    }
    std::size_t open_wires() const
    {
        std::size_t n = 0;
        for (auto& w : *made)
            n += w->closed ? 0u : 1u;
        return n;
    }
    struct acquire_result {
        int calls = 0;
        error_code ec;
        std::optional<tether::lease> lease;
    };
    std::shared_ptr<acquire_result> acquire()
    {
        auto r = std::make_shared<acquire_result>();
        detail::pool_impl::acquire_op op(
            [r](error_code ec, tether::lease l) {
                ++r->calls;
                r->ec = ec;
                r->lease.emplace(std::move(l));
            },
            pool().io());
        pool().async_acquire(anchor, std::move(op), std::source_location::current());
        run();
        return r;
    }

    tether::pool_config config;
    tether::test::manual_clock clock;
    std::shared_ptr<std::deque<std::shared_ptr<fake_wire>>> wires =
        std::make_shared<std::deque<std::shared_ptr<fake_wire>>>();
    std::shared_ptr<std::vector<std::shared_ptr<fake_wire>>> made =
        std::make_shared<std::vector<std::shared_ptr<fake_wire>>>();
    std::set<const fake_wire*> silent; ///< wires whose server stopped answering
    bool hold_replies = false;
    std::shared_ptr<detail::pool_anchor> anchor;
};

TEST_F(PoolDriver, OpensMinConnectionsProvesThemAndLeasesTheMostRecentlyUsed)
{
    start();
    EXPECT_EQ(made->size(), 2u);
    EXPECT_EQ(pool().stats().connecting, 2u);
    serve();
    const auto s = pool().stats();
    EXPECT_EQ(s.idle, 2u);
    EXPECT_EQ(s.connects, 2u);
    auto r = acquire();
    ASSERT_EQ(r->calls, 1);
    EXPECT_FALSE(r->ec);
    EXPECT_EQ(pool().stats().leased, 1u);
    r->lease->release();
    run();
    EXPECT_EQ(pool().stats().idle, 2u);
    EXPECT_EQ(pool().stats().leases_returned, 1u);
}

TEST_F(PoolDriver, AnExpiredIdleLinkIsReplacedBeforeItIsRetired)
{
    start();
    serve();
    advance(1min + 47s); // before the earliest jittered lifetime (2 min - 10 %)
    EXPECT_EQ(made->size(), 2u);
    advance(14s);
    EXPECT_EQ(made->size(), 4u) << "both links replaced";
    EXPECT_TRUE((*made)[0]->closed);
    EXPECT_TRUE((*made)[1]->closed);
    const auto s = pool().stats();
    EXPECT_EQ(s.total, 2u);
    EXPECT_EQ(s.idle, 2u) << "capacity never dipped below the proven replacements";
}

TEST_F(PoolDriver, AWaitingAcquireTimesOutInVirtualTime)
{
    config.min_connections = 1;
    config.max_connections = 1;
    start();
    serve();
    auto held = acquire();
    ASSERT_FALSE(held->ec);
    auto waiting = acquire();
    EXPECT_EQ(waiting->calls, 0);
    clock.advance(1999ms);
    run();
    EXPECT_EQ(waiting->calls, 0);
    clock.advance(1ms);
    run();
    ASSERT_EQ(waiting->calls, 1);
    EXPECT_EQ(waiting->ec, errc::acquire_timeout);
    EXPECT_EQ(pool().stats().acquire_timeouts, 1u);
}

TEST_F(PoolDriver, RefusedConnectsBackOffThenRecover)
{
    config.min_connections = 1;
    for (int i = 0; i < 2; ++i) {
        auto w = std::make_shared<fake_wire>();
        w->connect_result = boost::asio::error::connection_refused;
        wires->push_back(w);
    }
    start();
    EXPECT_EQ(made->size(), 1u);
    EXPECT_EQ(pool().stats().connect_failures, 1u);
    EXPECT_TRUE(pool().stats().endpoints.at(0).backing_off);
    clock.advance(79ms); // the first delay is 100 ms +-20 %
    run();
    EXPECT_EQ(made->size(), 1u) << "no connect during the backoff";
    advance(41ms, 1ms);
    EXPECT_EQ(made->size(), 2u);
    EXPECT_EQ(pool().stats().endpoints.at(0).consecutive_failures, 2u);
    advance(240ms, 1ms); // 200 ms +-20 %
    ASSERT_EQ(made->size(), 3u);
    serve();
    const auto s = pool().stats();
    EXPECT_EQ(s.idle, 1u);
    EXPECT_EQ(s.endpoints.at(0).consecutive_failures, 0u) << "a proven link resets the backoff";
    EXPECT_NE(pool().diagnostics().find("refused"), std::string::npos) << pool().diagnostics();
}

TEST_F(PoolDriver, ASilentServerIsFoundDeadWithinTheBudgetAndTheLinkReplaced)
{
    config.min_connections = 1;
    start();
    serve();
    silent.insert((*made)[0].get());
    advance(config.ping_interval + config.ping_timeout + 1s);
    const auto s = pool().stats();
    EXPECT_EQ(s.dead_links_detected, 1u);
    EXPECT_TRUE((*made)[0]->closed);
    EXPECT_EQ(made->size(), 2u) << "replaced after the first-reconnect delay";
    EXPECT_EQ(s.idle, 1u);
}

TEST_F(PoolDriver, ShutdownForceClosesWhatDidNotDrainByTheDeadline)
{
    config.min_connections = 1;
    start();
    serve();
    auto r = acquire();
    ASSERT_FALSE(r->ec);
    hold_replies = true;
    int calls = 0;
    error_code request_ec;
    std::shared_ptr<detail::link> l = detail::lease_access::take_link_and_hold(*r->lease);
    const auto id = l->allocate_id();
    std::string frame;
    ASSERT_FALSE(
        wire::serialize_request(id, nlohmann::json{{"n", 1}}, frame, config.max_frame_size));
    l->hold_add();
    l->submit_request(id, frame,
                      detail::link::request_op(
                          [&](error_code ec, nlohmann::json) {
                              ++calls;
                              request_ec = ec;
                          },
                          pool().io()));
    l->hold_release(); // the lease's hold: the request keeps the link
    l.reset();
    serve();
    pool().shutdown(1s);
    run();
    EXPECT_EQ(calls, 0) << "a request already sent gets the drain time";
    clock.advance(999ms);
    run();
    EXPECT_EQ(calls, 0);
    clock.advance(1ms);
    run();
    ASSERT_EQ(calls, 1);
    EXPECT_EQ(request_ec, errc::pool_closed);
    EXPECT_EQ(open_wires(), 0u);
    EXPECT_EQ(pool().stats().total, 0u);
}

} // namespace
