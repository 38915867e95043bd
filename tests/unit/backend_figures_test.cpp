// What the pool core counts and says of each backend for the metrics: proven links closed, by
// cause, and the backend's state.

#include "pool_core_harness.hpp"
#include "sansio/backend_set.hpp"
#include "sansio/close_cause.hpp"

#include <tether/error.hpp>

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

#include <set>

namespace {

using namespace std::chrono_literals;
using tether::errc;
using tether::test::pool_core_harness;
namespace sansio = tether::sansio;
using sansio::backend_state;
using sansio::cause_of_close;
using sansio::close_cause;

sansio::pool_limits limits(std::size_t min)
{
    sansio::pool_limits l;
    l.min_connections = min;
    l.max_connections = 8;
    l.backoff = {100ms, 2.0, 1000ms, 0.2};
    return l;
}

std::uint64_t closed_by(const pool_core_harness& h, close_cause c)
{
    return h.core.backends()[0].disconnections[static_cast<std::size_t>(c)];
}

TEST(CloseCause, TheLinksCloseReasonSaysWhy)
{
    const auto ec = [](errc e) { return make_error_code(e); };
    EXPECT_EQ(cause_of_close(ec(errc::pool_closed), true, true), close_cause::pool_closed);
    EXPECT_EQ(cause_of_close(ec(errc::connection_draining), false, true), close_cause::goaway);
    EXPECT_EQ(cause_of_close(ec(errc::connection_draining), false, false), close_cause::retired);
    EXPECT_EQ(cause_of_close(ec(errc::connection_lost), true, false), close_cause::dead);
    EXPECT_EQ(cause_of_close(ec(errc::protocol_error), false, false), close_cause::protocol_error);
    EXPECT_EQ(cause_of_close(ec(errc::frame_too_large), false, true), close_cause::protocol_error);
    EXPECT_EQ(cause_of_close(ec(errc::connection_lost), false, true), close_cause::connection_lost);
    EXPECT_EQ(cause_of_close(boost::asio::error::connection_reset, false, false),
              close_cause::connection_lost);
    // Losses, and only they, make the backend's next connect wait.
    EXPECT_TRUE(is_loss(close_cause::connection_lost));
    EXPECT_TRUE(is_loss(close_cause::dead));
    EXPECT_TRUE(is_loss(close_cause::protocol_error));
    EXPECT_FALSE(is_loss(close_cause::goaway));
    EXPECT_FALSE(is_loss(close_cause::retired));
    EXPECT_FALSE(is_loss(close_cause::pool_closed));
}

TEST(BackendFigures, ProvenLinksClosedAreCountedByCause)
{
    pool_core_harness h(limits(3));
    h.start();
    ASSERT_EQ(h.pending().size(), 3u);
    const auto slots = h.pending();
    for (const auto s : slots)
        h.ready(s);
    h.closed(slots[0], close_cause::dead);
    h.goaway(slots[1]);
    h.closed(slots[1], close_cause::goaway);
    h.closed(slots[2], close_cause::connection_lost);
    EXPECT_EQ(closed_by(h, close_cause::dead), 1u);
    EXPECT_EQ(closed_by(h, close_cause::goaway), 1u);
    EXPECT_EQ(closed_by(h, close_cause::connection_lost), 1u);

    // A failed connect is an attempt that failed, not a disconnection.
    h.advance(1s);
    ASSERT_FALSE(h.pending().empty());
    h.connect_fails(h.pending().front());
    EXPECT_EQ(h.core.backends()[0].connect_failures, 1u);
    std::uint64_t total = 0;
    for (const auto n : h.core.backends()[0].disconnections)
        total += n;
    EXPECT_EQ(total, 3u);

    // Shutdown: the proven links still open close as pool_closed.
    for (const auto s : h.pending())
        h.ready(s);
    const auto open = h.g().ready;
    ASSERT_GT(open, 0u);
    h.shutdown();
    for (const auto s : std::set<sansio::link_slot>(h.retiring))
        h.closed(s, close_cause::pool_closed);
    EXPECT_EQ(closed_by(h, close_cause::pool_closed), open);
}

TEST(BackendFigures, StateFollowsLinksAndFailures)
{
    pool_core_harness h(limits(1));
    EXPECT_EQ(h.core.backend_state_of(0), backend_state::idle);
    h.start();
    EXPECT_EQ(h.core.backend_state_of(0), backend_state::connecting);
    h.connect_fails(h.pending().front());
    EXPECT_EQ(h.core.backend_state_of(0), backend_state::backing_off);
    h.advance(200ms); // past the first backoff delay: one probing connect
    ASSERT_EQ(h.pending().size(), 1u);
    EXPECT_EQ(h.core.backend_state_of(0), backend_state::probing);
    h.ready(h.pending().front());
    EXPECT_EQ(h.core.backend_state_of(0), backend_state::up);
}

TEST(BackendFigures, RemovedAndEjectedComeFirst)
{
    sansio::backend b(0, sansio::backoff_schedule({100ms, 2.0, 1s, 0.2}, 1));
    EXPECT_EQ(b.state(0, 0), backend_state::idle);
    EXPECT_EQ(b.state(2, 2), backend_state::connecting);
    EXPECT_EQ(b.state(3, 1), backend_state::up);
    (void)b.backoff.on_failure();
    EXPECT_EQ(b.state(0, 0), backend_state::backing_off);
    EXPECT_EQ(b.state(1, 1), backend_state::probing);
    EXPECT_EQ(b.state(2, 1), backend_state::up) << "an older proven link still serves";
    b.ejected = true;
    EXPECT_EQ(b.state(2, 1), backend_state::ejected);
    b.removed = true;
    EXPECT_EQ(b.state(2, 1), backend_state::draining);
}

} // namespace
