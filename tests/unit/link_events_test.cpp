// The flight recorder's ring (src/sansio/link_events.hpp): 16 events, newest first, wrapping;
// details capped; the most telling event; how events and times read.

#include "sansio/link_events.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using tether::sansio::link_event_kind;
using tether::sansio::link_event_note;
using tether::sansio::link_event_ring;
using tether::sansio::pool_time;

constexpr pool_time t0{std::chrono::hours(1)};
const std::chrono::system_clock::time_point wall0{std::chrono::seconds(1'796'454'062)};

link_event_note note(link_event_kind kind, std::uint64_t link_id, std::string_view detail = {})
{
    return link_event_note(kind, link_id, detail);
}

link_event_note note(link_event_kind kind, std::uint64_t link_id, std::chrono::microseconds value,
                     unsigned failures)
{
    link_event_note n(kind, link_id);
    n.value = value;
    n.failures = failures;
    return n;
}

TEST(LinkEventRing, KeepsTheLastSixteenNewestFirst)
{
    link_event_ring ring;
    EXPECT_EQ(ring.size(), 0u);
    for (std::uint64_t i = 1; i <= 20; ++i)
        ring.push(note(link_event_kind::connected, i), t0 + i * 1s, wall0);
    ASSERT_EQ(ring.size(), link_event_ring::capacity);
    EXPECT_EQ(ring.capacity, 16u);
    for (std::size_t i = 0; i < ring.size(); ++i) {
        EXPECT_EQ(ring.newest(i).link_id, 20 - i) << i;
        EXPECT_EQ(ring.newest(i).at, t0 + (20 - static_cast<int>(i)) * 1s) << i;
    }
}

TEST(LinkEventRing, WrapsWithoutMixingDetails)
{
    link_event_ring ring;
    for (std::uint64_t i = 1; i <= 40; ++i)
        ring.push(note(link_event_kind::goaway, i, i % 2 ? std::string_view("odd") : ""), t0,
                  wall0);
    for (std::size_t i = 0; i < ring.size(); ++i)
        EXPECT_EQ(ring.newest(i).detail, ring.newest(i).link_id % 2 ? "odd" : "") << i;
}

TEST(LinkEventRing, CapsTheDetailAtAUtf8Boundary)
{
    link_event_ring ring;
    const std::string long_ascii(1000, 'x');
    ring.push(note(link_event_kind::closed, 1, long_ascii), t0, wall0);
    const std::string& kept = ring.newest(0).detail;
    EXPECT_EQ(kept.size(), link_event_ring::max_detail);
    EXPECT_EQ(kept.substr(kept.size() - 3), "...");

    std::string accents;
    while (accents.size() < 400)
        accents += "\xC3\xA9"; // é, two bytes each
    ring.push(note(link_event_kind::closed, 2, accents), t0, wall0);
    const std::string& cut = ring.newest(0).detail;
    EXPECT_LE(cut.size(), link_event_ring::max_detail);
    const std::string body = cut.substr(0, cut.size() - 3);
    EXPECT_EQ(body.size() % 2, 0u) << "no half character";
    EXPECT_EQ(body, accents.substr(0, body.size()));

    const std::string exact(link_event_ring::max_detail, 'y');
    ring.push(note(link_event_kind::closed, 3, exact), t0, wall0);
    EXPECT_EQ(ring.newest(0).detail, exact) << "a detail that fits is kept whole";
}

TEST(LinkEventRing, MostTellingIsTheNewestFailure)
{
    link_event_ring ring;
    EXPECT_EQ(ring.most_telling(), nullptr);
    auto failed = note(link_event_kind::connect_failed, 1, "connect 127.0.0.1:7000: refused");
    failed.failure = true;
    ring.push(failed, t0, wall0);
    ring.push(note(link_event_kind::backoff, 0), t0 + 1s, wall0);
    ring.push(note(link_event_kind::connected, 2), t0 + 2s, wall0);
    ring.push(note(link_event_kind::closed, 2, "drained"), t0 + 3s, wall0);
    ASSERT_NE(ring.most_telling(), nullptr);
    EXPECT_EQ(ring.most_telling()->link_id, 1u);
    auto dead = note(link_event_kind::ping_timeout, 3, "nothing received");
    dead.failure = true;
    ring.push(dead, t0 + 4s, wall0);
    EXPECT_EQ(ring.most_telling()->kind, link_event_kind::ping_timeout);
}

TEST(LinkEvents, ReadAsWords)
{
    using tether::sansio::describe;
    link_event_ring ring;
    ring.push(note(link_event_kind::proven, 3, 1234us, 0), t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "link 3: proven, ping RTT 1.23 ms");
    ring.push(note(link_event_kind::backoff, 0, 250ms, 3), t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "backing off 250 ms after 3 failures");
    ring.push(note(link_event_kind::recovered, 4, 0us, 1), t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "link 4: recovered after 1 failure");
    ring.push(note(link_event_kind::connect_failed, 5, "TLS handshake with h:1: nope"), t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "link 5: connect failed: TLS handshake with h:1: nope");
    ring.push(note(link_event_kind::goaway, 6), t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "link 6: goaway");
    auto lost = note(link_event_kind::closed, 7, "reading from h:1: End of file");
    lost.failure = true;
    ring.push(lost, t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "link 7: lost: reading from h:1: End of file");
    ring.push(note(link_event_kind::closed, 8, "pool shut down"), t0, wall0);
    EXPECT_EQ(describe(ring.newest(0)), "link 8: closed: pool shut down");
}

TEST(LinkEvents, TimesReadRelativeAndOnTheWallClock)
{
    using tether::sansio::relative_time;
    EXPECT_EQ(relative_time(t0, t0 + 1234ms), "-1.234 s");
    EXPECT_EQ(relative_time(t0, t0 + 5ms), "-0.005 s");
    EXPECT_EQ(relative_time(t0, t0), "-0.000 s");
    EXPECT_EQ(relative_time(t0, t0 + 75s), "-75.000 s");
    EXPECT_EQ(relative_time(t0 + 3ms, t0), "-0.000 s") << "recorded just after the clock was read";
    EXPECT_EQ(tether::sansio::wall_time(wall0 + 345ms), "2026-12-05T07:01:02.345Z");
}

} // namespace
