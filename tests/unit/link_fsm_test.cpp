// Unit tests of the sans-io link lifecycle (design.md §2 "Health"): fake time, no sockets.
//
// Every event takes the current time, so the clock is a plain `time_point t0 = {}` plus
// offsets; timers are simulated by calling on_timer() at (or after) deadline().

#include "sansio/link_fsm.hpp"

#include <tether/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tether::errc;
using tether::sansio::duration;
using tether::sansio::jitter_rng;
using tether::sansio::link_action;
using tether::sansio::link_fsm;
using tether::sansio::link_state;
using tether::sansio::link_timing;
using tether::sansio::time_point;

const time_point t0{};

link_timing timing(double jitter = 0.1)
{
    link_timing t;
    t.connect_timeout = 5s;
    t.ping_interval = 10s;
    t.ping_timeout = 5s;
    t.ping_jitter = jitter;
    return t;
}

boost::system::error_code ec(errc e)
{
    return tether::make_error_code(e);
}

/// Lowest next-ping deadline allowed after receiving at `rx`: rx + interval * (1 - jitter).
time_point earliest_ping(const link_timing& tm, time_point rx)
{
    const auto shortest =
        std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
            static_cast<double>(tm.ping_interval.count()) * (1.0 - tm.ping_jitter)));
    return rx + shortest;
}

/// A link proven at t_pong (connected at t_conn).
link_fsm make_ready(const link_timing& tm, std::uint64_t seed, time_point t_conn = t0 + 100ms,
                    time_point t_pong = t0 + 150ms)
{
    link_fsm f(tm, t0, seed);
    EXPECT_EQ(f.on_connected(t_conn), link_action::send_ping);
    bool matched = false;
    EXPECT_EQ(f.on_pong(f.ping_id(), t_pong, matched), link_action::ready);
    EXPECT_TRUE(matched);
    EXPECT_EQ(f.state(), link_state::ready);
    return f;
}

/// Drives the ready link to its next ping; returns when it was sent.
time_point advance_to_ping(link_fsm& f)
{
    const time_point at = f.deadline();
    EXPECT_EQ(f.on_timer(at), link_action::send_ping);
    return at;
}

// =============================================================================================
// connecting / proving

TEST(LinkFsm, InitialStateIsConnecting)
{
    link_fsm f(timing(), t0, 1);
    EXPECT_EQ(f.state(), link_state::connecting);
    EXPECT_EQ(f.deadline(), t0 + 5s);
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_FALSE(f.reason());
    EXPECT_FALSE(f.last_rtt().has_value());
    EXPECT_FALSE(f.died_silently());
    EXPECT_EQ(f.last_received(), t0);
}

TEST(LinkFsm, ConnectDeadlineIsRelativeToConstructionTime)
{
    link_fsm f(timing(), t0 + 42s, 1);
    EXPECT_EQ(f.deadline(), t0 + 47s);
}

TEST(LinkFsm, TimerBeforeConnectDeadlineDoesNothing)
{
    link_fsm f(timing(), t0, 1);
    for (auto at : {t0, t0 + 1s, t0 + 4999ms, t0 + 5s - 1ns}) {
        EXPECT_EQ(f.on_timer(at), link_action::none);
        EXPECT_EQ(f.state(), link_state::connecting);
        EXPECT_EQ(f.deadline(), t0 + 5s);
    }
}

TEST(LinkFsm, TimerAtConnectDeadlineClosesWithConnectFailed)
{
    link_fsm f(timing(), t0, 1);
    EXPECT_EQ(f.on_timer(t0 + 5s), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::connect_failed);
    EXPECT_FALSE(f.died_silently());
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_EQ(f.deadline(), time_point::max());
}

TEST(LinkFsm, LateTimerAfterConnectDeadlineCloses)
{
    link_fsm f(timing(), t0, 1);
    EXPECT_EQ(f.on_timer(t0 + 1h), link_action::close);
    EXPECT_EQ(f.reason(), errc::connect_failed);
}

TEST(LinkFsm, ConnectedSendsProvingPing)
{
    link_fsm f(timing(), t0, 1);
    EXPECT_EQ(f.on_connected(t0 + 1s), link_action::send_ping);
    EXPECT_EQ(f.state(), link_state::proving);
    EXPECT_NE(f.ping_id(), 0u);
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_EQ(f.last_received(), t0 + 1s);
    // connect_timeout covers connecting + proving: the deadline does not move.
    EXPECT_EQ(f.deadline(), t0 + 5s);
}

TEST(LinkFsm, ConnectedTwiceIsIgnored)
{
    link_fsm f(timing(), t0, 1);
    ASSERT_EQ(f.on_connected(t0 + 1s), link_action::send_ping);
    const auto id = f.ping_id();
    EXPECT_EQ(f.on_connected(t0 + 2s), link_action::none);
    EXPECT_EQ(f.ping_id(), id);
    EXPECT_EQ(f.state(), link_state::proving);
}

TEST(LinkFsm, MatchingPongMakesReadyWithRtt)
{
    link_fsm f(timing(), t0, 1);
    ASSERT_EQ(f.on_connected(t0 + 1s), link_action::send_ping);
    bool matched = false;
    EXPECT_EQ(f.on_pong(f.ping_id(), t0 + 1s + 37ms, matched), link_action::ready);
    EXPECT_TRUE(matched);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_TRUE(f.accepts_requests());
    ASSERT_TRUE(f.last_rtt().has_value());
    EXPECT_EQ(*f.last_rtt(), 37ms);
    EXPECT_FALSE(f.reason());
    EXPECT_EQ(f.last_received(), t0 + 1s + 37ms);
    // No longer bound by the connect deadline: the next event is a ping ~interval later.
    EXPECT_GT(f.deadline(), t0 + 5s);
    EXPECT_EQ(f.on_timer(t0 + 5s), link_action::none);
    EXPECT_EQ(f.state(), link_state::ready);
}

TEST(LinkFsm, NonMatchingPongWhileProvingIsNotAProof)
{
    link_fsm f(timing(), t0, 1);
    ASSERT_EQ(f.on_connected(t0 + 1s), link_action::send_ping);
    const auto id = f.ping_id();
    bool matched = true;
    EXPECT_EQ(f.on_pong(id + 1, t0 + 2s, matched), link_action::none);
    EXPECT_FALSE(matched);
    EXPECT_EQ(f.state(), link_state::proving);
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_FALSE(f.last_rtt().has_value());
    EXPECT_EQ(f.deadline(), t0 + 5s);

    matched = true;
    EXPECT_EQ(f.on_pong(0, t0 + 2s, matched), link_action::none);
    EXPECT_FALSE(matched);

    // The right one still proves it.
    matched = false;
    EXPECT_EQ(f.on_pong(id, t0 + 3s, matched), link_action::ready);
    EXPECT_TRUE(matched);
    EXPECT_EQ(*f.last_rtt(), 2s);
}

TEST(LinkFsm, PongWhileConnectingIsUnmatched)
{
    link_fsm f(timing(), t0, 1);
    bool matched = true;
    EXPECT_EQ(f.on_pong(f.ping_id(), t0 + 1s, matched), link_action::none);
    EXPECT_FALSE(matched);
    EXPECT_EQ(f.state(), link_state::connecting);
}

TEST(LinkFsm, BytesWhileProvingDoNotExtendConnectDeadline)
{
    link_fsm f(timing(), t0, 1);
    ASSERT_EQ(f.on_connected(t0 + 1s), link_action::send_ping);
    f.on_received(t0 + 4s);
    EXPECT_EQ(f.deadline(), t0 + 5s);
    EXPECT_EQ(f.on_timer(t0 + 5s), link_action::close);
    EXPECT_EQ(f.reason(), errc::connect_failed);
}

TEST(LinkFsm, ProvingTimeoutClosesWithConnectFailed)
{
    link_fsm f(timing(), t0, 1);
    ASSERT_EQ(f.on_connected(t0 + 3s), link_action::send_ping);
    EXPECT_EQ(f.on_timer(t0 + 5s - 1ns), link_action::none);
    EXPECT_EQ(f.state(), link_state::proving);
    // The budget is shared with connecting: t0 + 5 s, not connected + 5 s.
    EXPECT_EQ(f.on_timer(t0 + 5s), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::connect_failed);
    EXPECT_FALSE(f.died_silently());
    EXPECT_EQ(f.deadline(), time_point::max());
}

// =============================================================================================
// ready: ping scheduling

TEST(LinkFsmHealth, ReadyDeadlineWithinJitterBandOverManySeeds)
{
    const auto tm = timing(0.1);
    const time_point ready_at = t0 + 150ms;
    std::set<time_point> seen;
    duration lowest = duration::max(), highest = duration::min();
    for (std::uint64_t seed = 0; seed < 2000; ++seed) {
        auto f = make_ready(tm, seed, t0 + 100ms, ready_at);
        const auto d = f.deadline();
        ASSERT_GE(d, earliest_ping(tm, ready_at)) << "seed " << seed;
        ASSERT_LE(d, ready_at + tm.ping_interval) << "seed " << seed << ": jitter lengthened";
        seen.insert(d);
        lowest = std::min(lowest, d - ready_at);
        highest = std::max(highest, d - ready_at);
    }
    EXPECT_GT(seen.size(), 1000u) << "jitter > 0 must spread the pings";
    // The band is actually used: close to both 9 s and 10 s.
    EXPECT_LT(lowest, 9s + 20ms);
    EXPECT_GT(highest, 10s - 20ms);
}

TEST(LinkFsmHealth, ZeroJitterPingsExactlyAtInterval)
{
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        auto f = make_ready(timing(0.0), seed);
        EXPECT_EQ(f.deadline(), t0 + 150ms + 10s);
    }
}

TEST(LinkFsmHealth, DifferentSeedsPingAtDifferentTimes)
{
    auto a = make_ready(timing(), 1);
    auto b = make_ready(timing(), 2);
    auto c = make_ready(timing(), 1);
    EXPECT_NE(a.deadline(), b.deadline());
    EXPECT_EQ(a.deadline(), c.deadline());
}

TEST(LinkFsmHealth, ReceivedBytesPostponeThePingWithinBand)
{
    const auto tm = timing(0.1);
    std::set<time_point> seen;
    for (std::uint64_t seed = 0; seed < 500; ++seed) {
        auto f = make_ready(tm, seed);
        const time_point rx = t0 + 7s;
        f.on_received(rx);
        EXPECT_EQ(f.last_received(), rx);
        const auto d = f.deadline();
        ASSERT_GE(d, earliest_ping(tm, rx)) << "seed " << seed;
        ASSERT_LE(d, rx + tm.ping_interval) << "seed " << seed;
        seen.insert(d);
        // Nothing happens before it, less the early band (interval * jitter).
        EXPECT_EQ(f.on_timer(earliest_ping(tm, t0 + 150ms)), link_action::none);
        EXPECT_EQ(f.on_timer(d - 1s - 1ns), link_action::none);
        EXPECT_EQ(f.state(), link_state::ready);
    }
    EXPECT_GT(seen.size(), 250u);
}

TEST(LinkFsmHealth, OutOfOrderReceiveTimeDoesNotMoveLastReceivedBack)
{
    auto f = make_ready(timing(0.0), 1);
    f.on_received(t0 + 8s);
    f.on_received(t0 + 3s);
    EXPECT_EQ(f.last_received(), t0 + 8s);
    EXPECT_EQ(f.deadline(), t0 + 18s);
}

TEST(LinkFsmHealth, TimerWithinTheJitterBandSendsThePingAtOnce)
{
    // The timer often fires at the last pong's deadline, just before the next ping is due:
    // within interval * jitter of it the ping goes now instead of after a second wake-up.
    auto f = make_ready(timing(0.1), 3);
    const auto due = f.deadline();
    EXPECT_EQ(f.on_timer(due - 1s - 1ns), link_action::none);
    EXPECT_EQ(f.on_timer(due - 1s), link_action::send_ping);
    EXPECT_EQ(f.deadline(), due - 1s + 5s) << "the timeout runs from when it was sent";
}

TEST(LinkFsmHealth, PingSentAtDeadlineThenTimeoutDeadline)
{
    auto f = make_ready(timing(0.0), 3);
    const auto first_id = f.ping_id();
    const auto ping_at = f.deadline();
    EXPECT_EQ(f.on_timer(ping_at - 1ns), link_action::none);
    EXPECT_EQ(f.on_timer(ping_at), link_action::send_ping);
    EXPECT_EQ(f.ping_id(), first_id + 1);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_TRUE(f.accepts_requests()); // probing does not take the link out of service
    EXPECT_EQ(f.deadline(), ping_at + 5s);
    // The timer firing again before the timeout neither re-sends nor closes.
    EXPECT_EQ(f.on_timer(ping_at + 1s), link_action::none);
    EXPECT_EQ(f.ping_id(), first_id + 1);
}

TEST(LinkFsmHealth, LateTimerSendsPingAndTimesOutFromWhenItWasSent)
{
    auto f = make_ready(timing(), 3);
    const auto sent = f.deadline() + 700ms; // io thread was busy
    EXPECT_EQ(f.on_timer(sent), link_action::send_ping);
    EXPECT_EQ(f.deadline(), sent + 5s);
}

TEST(LinkFsmHealth, NoBytesAfterPingMeansDead)
{
    auto f = make_ready(timing(), 4);
    const auto ping_at = advance_to_ping(f);
    EXPECT_EQ(f.on_timer(ping_at + 5s - 1ns), link_action::none);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_FALSE(f.died_silently());
    EXPECT_EQ(f.on_timer(ping_at + 5s), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::connection_lost);
    EXPECT_TRUE(f.died_silently());
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_EQ(f.deadline(), time_point::max());
}

TEST(LinkFsmHealth, PingOverdueSaysWhenTheTimerWouldDeclareDeath)
{
    auto f = make_ready(timing(), 4);
    EXPECT_FALSE(f.ping_overdue(time_point::max() - 1h)) << "no ping outstanding";
    const auto ping_at = advance_to_ping(f);
    EXPECT_FALSE(f.ping_overdue(ping_at + 5s - 1ns));
    EXPECT_TRUE(f.ping_overdue(ping_at + 5s));
    f.on_received(ping_at + 5s); // the driver found bytes waiting: proof of life
    EXPECT_FALSE(f.ping_overdue(ping_at + 5s));
    EXPECT_EQ(f.on_timer(ping_at + 5s), link_action::none);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_TRUE(f.ping_overdue(ping_at + 10s));
    EXPECT_EQ(f.on_timer(ping_at + 10s), link_action::close);
    EXPECT_FALSE(f.ping_overdue(ping_at + 10s)) << "closed links are not overdue";
}

TEST(LinkFsmHealth, BytesAfterPingAreProofOfLife)
{
    // A large frame arriving slowly: a few bytes every 4 s for a minute, no pong yet.
    auto f = make_ready(timing(), 5);
    const auto ping_at = advance_to_ping(f);
    time_point now = ping_at;
    for (int i = 0; i < 15; ++i) {
        now += 4s;
        ASSERT_EQ(f.on_timer(now), link_action::none) << "closed although bytes arrive, i=" << i;
        f.on_received(now);
        EXPECT_EQ(f.deadline(), now + 5s) << "death deadline must follow the last byte";
    }
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_FALSE(f.died_silently());

    // The pong finally arrives behind the frame: the ping is answered, nothing is pending.
    bool matched = false;
    EXPECT_EQ(f.on_pong(f.ping_id(), now + 1s, matched), link_action::none);
    EXPECT_TRUE(matched);
    EXPECT_EQ(*f.last_rtt(), now + 1s - ping_at);
    EXPECT_GE(f.deadline(), earliest_ping(timing(), now + 1s));
    EXPECT_LE(f.deadline(), now + 1s + 10s);
}

TEST(LinkFsmHealth, BytesAfterPingThenSilenceIsDeadAfterTimeoutFromLastByte)
{
    auto f = make_ready(timing(), 6);
    const auto ping_at = advance_to_ping(f);
    f.on_received(ping_at + 3s);
    EXPECT_EQ(f.deadline(), ping_at + 8s);
    EXPECT_EQ(f.on_timer(ping_at + 5s), link_action::none); // the old deadline no longer kills
    EXPECT_EQ(f.on_timer(ping_at + 8s - 1ns), link_action::none);
    EXPECT_EQ(f.on_timer(ping_at + 8s), link_action::close);
    EXPECT_EQ(f.reason(), errc::connection_lost);
    EXPECT_TRUE(f.died_silently());
}

TEST(LinkFsmHealth, MatchedPongClearsProbeAndSchedulesNextPing)
{
    const auto tm = timing();
    auto f = make_ready(tm, 7);
    const auto ping_at = advance_to_ping(f);
    bool matched = false;
    EXPECT_EQ(f.on_pong(f.ping_id(), ping_at + 50ms, matched), link_action::none);
    EXPECT_TRUE(matched);
    ASSERT_TRUE(f.last_rtt().has_value());
    EXPECT_EQ(*f.last_rtt(), 50ms);
    EXPECT_EQ(f.state(), link_state::ready);
    const auto next = f.deadline();
    EXPECT_GE(next, earliest_ping(tm, ping_at + 50ms));
    EXPECT_LE(next, ping_at + 50ms + 10s);
    // The old death deadline is gone.
    EXPECT_EQ(f.on_timer(ping_at + 5s), link_action::none);
    EXPECT_EQ(f.on_timer(ping_at + 6s), link_action::none);
    EXPECT_EQ(f.state(), link_state::ready);
    // A second pong with the same id is now stray.
    matched = true;
    EXPECT_EQ(f.on_pong(f.ping_id(), ping_at + 60ms, matched), link_action::none);
    EXPECT_FALSE(matched);
    EXPECT_EQ(*f.last_rtt(), 50ms);
    // And the next ping comes on schedule, with a fresh id.
    const auto id = f.ping_id();
    EXPECT_EQ(f.on_timer(f.deadline()), link_action::send_ping);
    EXPECT_EQ(f.ping_id(), id + 1);
}

TEST(LinkFsmHealth, StalePongWhileProbingIsUnmatchedButProvesLife)
{
    auto f = make_ready(timing(), 8);
    const auto ping_at = advance_to_ping(f);
    bool matched = true;
    EXPECT_EQ(f.on_pong(f.ping_id() - 1, ping_at + 4s, matched), link_action::none);
    EXPECT_FALSE(matched);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_EQ(f.deadline(), ping_at + 9s); // still probing, but bytes arrived at +4 s
    EXPECT_EQ(f.on_timer(ping_at + 5s), link_action::none);
    EXPECT_EQ(f.on_timer(ping_at + 9s), link_action::close);
    EXPECT_TRUE(f.died_silently());
}

TEST(LinkFsmHealth, PongWithoutOutstandingPingIsUnmatched)
{
    auto f = make_ready(timing(0.0), 9);
    bool matched = true;
    EXPECT_EQ(f.on_pong(f.ping_id(), t0 + 2s, matched), link_action::none);
    EXPECT_FALSE(matched);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_EQ(f.deadline(), t0 + 12s); // still counted as received bytes
}

TEST(LinkFsmHealth, PingIdsAreUniqueAndIncreasing)
{
    auto f = make_ready(timing(), 10);
    std::uint64_t prev = f.ping_id();
    for (int i = 0; i < 20; ++i) {
        const auto at = advance_to_ping(f);
        EXPECT_GT(f.ping_id(), prev);
        prev = f.ping_id();
        bool matched = false;
        f.on_pong(f.ping_id(), at + 10ms, matched);
        ASSERT_TRUE(matched);
    }
}

TEST(LinkFsmHealth, DrainingLinkIsStillProbedAndCanDie)
{
    auto f = make_ready(timing(), 11);
    ASSERT_EQ(f.on_drain(2, ec(errc::connection_draining)), link_action::none);
    ASSERT_EQ(f.state(), link_state::draining);
    const auto ping_at = f.deadline();
    EXPECT_EQ(f.on_timer(ping_at), link_action::send_ping);
    EXPECT_EQ(f.on_timer(ping_at + 5s), link_action::close);
    EXPECT_EQ(f.reason(), errc::connection_lost);
    EXPECT_TRUE(f.died_silently());
}

TEST(LinkFsmHealth, DeadlineIsTightForAnIdlePeerWithoutJitter)
{
    // Peer silent right after the proving pong: ping at +10 s, dead at +15 s exactly.
    auto f = make_ready(timing(0.0), 12, t0 + 100ms, t0 + 150ms);
    const time_point silent_at = t0 + 150ms;
    EXPECT_EQ(f.on_timer(f.deadline()), link_action::send_ping);
    EXPECT_EQ(f.deadline(), silent_at + 15s);
    EXPECT_EQ(f.on_timer(f.deadline()), link_action::close);
    EXPECT_TRUE(f.died_silently());
}

// ---------------------------------------------------------------------------------------------
// Worst-case dead-peer detection: a peer that goes silent at T is found dead no later than
// T + ping_interval + ping_timeout, and never before T.

struct peer_model {
    duration rtt;                    ///< pong arrives this long after the ping
    std::optional<duration> app_gap; ///< application bytes this often while alive
};

struct detection {
    bool closed = false;
    time_point at;
    int pings = 0;
};

detection simulate(const link_timing& tm, std::uint64_t seed, time_point silent_at,
                   const peer_model& peer, duration step)
{
    auto f = make_ready(tm, seed, t0 + 100ms, t0 + 150ms);
    time_point now = t0 + 150ms;
    std::optional<std::pair<std::uint64_t, time_point>> pending_pong;
    time_point next_app = peer.app_gap ? now + *peer.app_gap : time_point::max();
    detection out;
    const time_point give_up = silent_at + tm.ping_interval + tm.ping_timeout + 1min;

    while (now < give_up) {
        if (pending_pong && pending_pong->second <= now) {
            bool matched = false;
            EXPECT_EQ(f.on_pong(pending_pong->first, now, matched), link_action::none);
            EXPECT_TRUE(matched);
            pending_pong.reset();
        }
        if (next_app <= now) {
            if (now < silent_at)
                f.on_received(now);
            next_app += *peer.app_gap;
        }
        if (now >= f.deadline()) {
            const time_point last_rx = f.last_received();
            const auto a = f.on_timer(now);
            if (a == link_action::send_ping) {
                ++out.pings;
                // A ping only goes out after at least interval*(1-jitter) of silence.
                EXPECT_GE(now, earliest_ping(tm, last_rx)) << "ping too early";
                // The peer answers only while it is alive.
                if (now + peer.rtt < silent_at)
                    pending_pong.emplace(f.ping_id(), now + peer.rtt);
            } else if (a == link_action::close) {
                out.closed = true;
                out.at = now;
                break;
            }
        }
        // Small steps, but never past a deadline or a peer event.
        time_point next = std::min(now + step, f.deadline());
        if (pending_pong)
            next = std::min(next, pending_pong->second);
        next = std::min(next, next_app);
        now = std::max(next, now + 1ns);
    }
    EXPECT_EQ(f.state(), out.closed ? link_state::closed : link_state::ready);
    if (out.closed) {
        EXPECT_EQ(f.reason(), errc::connection_lost);
        EXPECT_TRUE(f.died_silently());
    }
    return out;
}

TEST(LinkFsmHealth, WorstCaseDetectionBound)
{
    const auto tm = timing(0.1);
    const duration bound = tm.ping_interval + tm.ping_timeout;
    const std::vector<peer_model> peers = {
        {30ms, std::nullopt},   // idle: only pongs
        {30ms, 700ms},          // chatty
        {2s, 4s},               // slow pongs, slow trickle
        {30ms, 12s},            // application bytes rarer than the ping interval
        {4900ms, std::nullopt}, // pong just inside ping_timeout
    };
    jitter_rng pick(2024);
    int runs = 0;
    duration worst{0};
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
        for (std::size_t p = 0; p < peers.size(); ++p) {
            for (int k = 0; k < 4; ++k) {
                // The peer goes silent somewhere in the first 45 s after the link is ready.
                const auto offset = std::chrono::duration_cast<duration>(
                    std::chrono::duration<double>(45.0 * pick.unit()));
                const time_point silent_at = t0 + 150ms + offset;
                const auto r = simulate(tm, seed, silent_at, peers[p], 10ms);
                ASSERT_TRUE(r.closed) << "seed " << seed << " peer " << p << ": never detected";
                EXPECT_GT(r.at, silent_at)
                    << "closed while the peer was alive, seed " << seed << " peer " << p;
                EXPECT_LE(r.at, silent_at + bound)
                    << "seed " << seed << " peer " << p << ": detected "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(r.at - silent_at)
                           .count()
                    << " ms after silence";
                worst = std::max(worst, r.at - silent_at);
                ++runs;
            }
        }
    }
    EXPECT_EQ(runs, 40 * 5 * 4);
    // The bound is approached in practice (not vacuous), and never exceeded.
    EXPECT_GT(worst, bound - 2s);
    EXPECT_LE(worst, bound);
}

TEST(LinkFsmHealth, AlivePeerIsNeverDeclaredDead)
{
    // Peer never goes silent within the simulated hour: no close, pings go out regularly.
    const auto tm = timing(0.1);
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        auto f = make_ready(tm, seed);
        time_point now = t0 + 150ms;
        int pings = 0;
        while (now < t0 + 1h) {
            now = f.deadline();
            ASSERT_EQ(f.on_timer(now), link_action::send_ping) << "seed " << seed;
            ++pings;
            bool matched = false;
            f.on_pong(f.ping_id(), now + 4s, matched); // slow but within ping_timeout
            ASSERT_TRUE(matched);
            now += 4s;
        }
        EXPECT_EQ(f.state(), link_state::ready);
        EXPECT_GT(pings, 3600 / 14 - 5);
    }
}

// =============================================================================================
// draining

TEST(LinkFsmDrain, DrainWithOutstandingWaitsThenClosesWithDrainReason)
{
    auto f = make_ready(timing(), 20);
    EXPECT_EQ(f.on_drain(3, ec(errc::connection_draining)), link_action::none);
    EXPECT_EQ(f.state(), link_state::draining);
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_EQ(f.reason(), errc::connection_draining);

    EXPECT_EQ(f.on_outstanding(2), link_action::none);
    EXPECT_EQ(f.on_outstanding(1), link_action::none);
    EXPECT_EQ(f.state(), link_state::draining);
    EXPECT_EQ(f.reason(), errc::connection_draining);

    EXPECT_EQ(f.on_outstanding(0), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::connection_draining);
    EXPECT_FALSE(f.died_silently());
    EXPECT_EQ(f.deadline(), time_point::max());
    EXPECT_EQ(f.on_outstanding(0), link_action::none); // closes once
}

TEST(LinkFsmDrain, DrainReasonIsPreserved)
{
    auto f = make_ready(timing(), 21);
    ASSERT_EQ(f.on_drain(1, ec(errc::pool_closed)), link_action::none);
    // A later drain (e.g. goaway after shutdown started) does not change why.
    EXPECT_EQ(f.on_drain(1, ec(errc::connection_draining)), link_action::none);
    EXPECT_EQ(f.reason(), errc::pool_closed);
    EXPECT_EQ(f.on_drain(0, ec(errc::connection_draining)), link_action::close);
    EXPECT_EQ(f.reason(), errc::pool_closed);
}

TEST(LinkFsmDrain, DrainWithNothingOutstandingClosesAtOnce)
{
    auto f = make_ready(timing(), 22);
    EXPECT_EQ(f.on_drain(0, ec(errc::pool_closed)), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::pool_closed);
    EXPECT_FALSE(f.died_silently());
}

TEST(LinkFsmDrain, DrainWhileConnectingClosesAtOnce)
{
    link_fsm f(timing(), t0, 23);
    EXPECT_EQ(f.on_drain(0, ec(errc::pool_closed)), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::pool_closed);

    link_fsm g(timing(), t0, 23);
    EXPECT_EQ(g.on_drain(5, ec(errc::connection_draining)), link_action::close);
    EXPECT_EQ(g.reason(), errc::connection_draining);
}

TEST(LinkFsmDrain, DrainWhileProvingClosesAtOnce)
{
    link_fsm f(timing(), t0, 24);
    ASSERT_EQ(f.on_connected(t0 + 1s), link_action::send_ping);
    EXPECT_EQ(f.on_drain(0, ec(errc::pool_closed)), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::pool_closed);
    // The late pong does not resurrect it.
    bool matched = false;
    EXPECT_NE(f.on_pong(f.ping_id(), t0 + 2s, matched), link_action::ready);
    EXPECT_EQ(f.state(), link_state::closed);
}

TEST(LinkFsmDrain, OutstandingCountIgnoredWhenNotDraining)
{
    auto f = make_ready(timing(), 25);
    EXPECT_EQ(f.on_outstanding(0), link_action::none);
    EXPECT_EQ(f.state(), link_state::ready);
    link_fsm g(timing(), t0, 25);
    EXPECT_EQ(g.on_outstanding(0), link_action::none);
    EXPECT_EQ(g.state(), link_state::connecting);
}

TEST(LinkFsmDrain, FailureWhileDrainingClosesWithTheFailure)
{
    auto f = make_ready(timing(), 26);
    ASSERT_EQ(f.on_drain(2, ec(errc::connection_draining)), link_action::none);
    EXPECT_EQ(f.on_failure(ec(errc::protocol_error)), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::protocol_error);
    EXPECT_EQ(f.on_outstanding(0), link_action::none);
    EXPECT_EQ(f.reason(), errc::protocol_error);
}

TEST(LinkFsmDrain, EmptyDrainReasonStillClosesWithAnError)
{
    auto f = make_ready(timing(), 27);
    EXPECT_EQ(f.on_drain(0, {}), link_action::close);
    EXPECT_TRUE(f.reason()) << "a closed link must never report success";
}

// =============================================================================================
// failures

TEST(LinkFsmFailure, FailureClosesWithThatReasonAndFirstWins)
{
    auto f = make_ready(timing(), 30);
    EXPECT_EQ(f.on_failure(ec(errc::protocol_error)), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::protocol_error);
    EXPECT_FALSE(f.died_silently());
    EXPECT_EQ(f.on_failure(ec(errc::connection_lost)), link_action::none);
    EXPECT_EQ(f.reason(), errc::protocol_error);
}

TEST(LinkFsmFailure, FailureWhileConnectingOrProving)
{
    link_fsm f(timing(), t0, 31);
    EXPECT_EQ(f.on_failure(ec(errc::connect_failed)), link_action::close);
    EXPECT_EQ(f.reason(), errc::connect_failed);

    link_fsm g(timing(), t0, 31);
    ASSERT_EQ(g.on_connected(t0 + 1s), link_action::send_ping);
    EXPECT_EQ(g.on_failure(ec(errc::protocol_error)), link_action::close);
    EXPECT_EQ(g.reason(), errc::protocol_error);
}

TEST(LinkFsmFailure, EmptyFailureReasonBecomesConnectionLost)
{
    auto f = make_ready(timing(), 32);
    EXPECT_EQ(f.on_failure({}), link_action::close);
    EXPECT_EQ(f.reason(), errc::connection_lost);
}

TEST(LinkFsmFailure, FailureAfterTimeoutDoesNotReplaceReason)
{
    link_fsm f(timing(), t0, 33);
    ASSERT_EQ(f.on_timer(t0 + 5s), link_action::close);
    EXPECT_EQ(f.on_failure(ec(errc::connection_lost)), link_action::none);
    EXPECT_EQ(f.reason(), errc::connect_failed);

    auto g = make_ready(timing(), 33);
    const auto ping_at = advance_to_ping(g);
    ASSERT_EQ(g.on_timer(ping_at + 5s), link_action::close);
    EXPECT_EQ(g.on_failure(ec(errc::protocol_error)), link_action::none);
    EXPECT_EQ(g.reason(), errc::connection_lost);
    EXPECT_TRUE(g.died_silently());
}

// =============================================================================================
// closed

TEST(LinkFsmClosed, EventsAfterCloseAreNoOps)
{
    auto f = make_ready(timing(), 40);
    const auto ping_at = advance_to_ping(f);
    ASSERT_EQ(f.on_failure(ec(errc::protocol_error)), link_action::close);
    const auto id = f.ping_id();

    EXPECT_EQ(f.deadline(), time_point::max());
    EXPECT_EQ(f.on_connected(ping_at + 1s), link_action::none);
    EXPECT_EQ(f.on_timer(ping_at + 1s), link_action::none);
    EXPECT_EQ(f.on_timer(ping_at + 1h), link_action::none);
    f.on_received(ping_at + 2s);
    bool matched = false;
    EXPECT_EQ(f.on_pong(id, ping_at + 3s, matched), link_action::none);
    EXPECT_EQ(f.on_drain(0, ec(errc::pool_closed)), link_action::none);
    EXPECT_EQ(f.on_drain(3, ec(errc::pool_closed)), link_action::none);
    EXPECT_EQ(f.on_outstanding(0), link_action::none);
    EXPECT_EQ(f.on_failure(ec(errc::connection_lost)), link_action::none);

    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::protocol_error);
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_FALSE(f.died_silently());
    EXPECT_EQ(f.ping_id(), id);
    EXPECT_EQ(f.deadline(), time_point::max());
}

TEST(LinkFsmClosed, ClosedByTimeoutStaysClosed)
{
    link_fsm f(timing(), t0, 41);
    ASSERT_EQ(f.on_timer(t0 + 5s), link_action::close);
    bool matched = true;
    EXPECT_EQ(f.on_connected(t0 + 6s), link_action::none);
    EXPECT_EQ(f.on_pong(f.ping_id(), t0 + 6s, matched), link_action::none);
    EXPECT_FALSE(matched);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::connect_failed);
    EXPECT_EQ(f.deadline(), time_point::max());
}

TEST(LinkFsmClosed, DiedSilentlyLinkStaysClosed)
{
    auto f = make_ready(timing(), 42);
    const auto ping_at = advance_to_ping(f);
    ASSERT_EQ(f.on_timer(ping_at + 5s), link_action::close);
    f.on_received(ping_at + 6s);
    EXPECT_EQ(f.on_timer(ping_at + 20s), link_action::none);
    EXPECT_EQ(f.on_drain(0, ec(errc::pool_closed)), link_action::none);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::connection_lost);
    EXPECT_TRUE(f.died_silently());
    EXPECT_EQ(f.deadline(), time_point::max());
}

} // namespace

// =============================================================================================
// initializing (init_request)

namespace {

link_fsm make_initializing(link_timing tm)
{
    tm.initialize = true;
    link_fsm f(tm, t0, 7);
    EXPECT_EQ(f.on_connected(t0 + 100ms), link_action::send_ping);
    bool matched = false;
    EXPECT_EQ(f.on_pong(f.ping_id(), t0 + 150ms, matched), link_action::send_init)
        << "proven, but not ready before its init request is answered";
    EXPECT_EQ(f.state(), link_state::initializing);
    EXPECT_FALSE(f.accepts_requests());
    EXPECT_TRUE(f.opening());
    return f;
}

} // namespace

TEST(LinkFsm, AnAnsweredInitRequestMakesTheLinkReady)
{
    auto f = make_initializing(timing());
    EXPECT_EQ(f.on_init_done(t0 + 200ms, {}), link_action::ready);
    EXPECT_EQ(f.state(), link_state::ready);
    EXPECT_TRUE(f.accepts_requests());
    EXPECT_GE(f.deadline(), earliest_ping(timing(), t0 + 200ms));
}

TEST(LinkFsm, ARefusedInitRequestClosesWithItsReason)
{
    auto f = make_initializing(timing());
    EXPECT_EQ(f.on_init_done(t0 + 200ms, ec(errc::server_error)), link_action::close);
    EXPECT_EQ(f.state(), link_state::closed);
    EXPECT_EQ(f.reason(), errc::server_error);
}

TEST(LinkFsm, TheConnectDeadlineCoversTheInitRequest)
{
    auto f = make_initializing(timing());
    EXPECT_EQ(f.deadline(), t0 + 5s);
    EXPECT_EQ(f.on_timer(t0 + 4s), link_action::none);
    EXPECT_EQ(f.on_timer(t0 + 5s), link_action::close);
    EXPECT_EQ(f.reason(), errc::connect_failed);
    EXPECT_EQ(f.on_init_done(t0 + 6s, {}), link_action::none) << "too late: closed already";
}

TEST(LinkFsm, ADrainWhileInitializingGivesUp)
{
    auto f = make_initializing(timing());
    EXPECT_EQ(f.on_drain(0, ec(errc::pool_closed)), link_action::close);
    EXPECT_EQ(f.reason(), errc::pool_closed);
}
