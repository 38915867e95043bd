#pragma once

// The flight recorder's record of one backend: its last 16 link events with their times, in a
// fixed ring (design.md §9), and how they read. Sans-io: times are passed in.

#include "sansio/pool_types.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::sansio {

enum class link_event_kind : std::uint8_t {
    connected,      ///< TCP (and TLS) up; the proving ping goes out next
    proven,         ///< the proving pong came back: in service (`value`: the ping's RTT)
    connect_failed, ///< resolve, connect, TLS or proving failed (`detail`: why)
    ping_timeout,   ///< nothing received within ping_timeout after a ping: found dead
    goaway,         ///< the server sent goaway (`detail`: its reason)
    closed,         ///< closed (`detail`: why; `failure`: lost rather than retired)
    backoff,        ///< the backend backs off (`value`: the delay; `failures`)
    recovered,      ///< a link was proven after `failures` failed connects
    ejected,        ///< reserved for outlier ejection (design.md §8)
    readmitted,     ///< reserved for outlier ejection (design.md §8)
};

/// What happened, as the recorder is told it.
struct link_event_note {
    explicit link_event_note(link_event_kind kind_, std::uint64_t link_id_ = 0,
                             std::string_view detail_ = {}) noexcept
        : kind(kind_), link_id(link_id_), detail(detail_)
    {
    }

    link_event_kind kind;
    std::uint64_t link_id; ///< 0: about the backend, not one link
    std::string_view detail;
    std::chrono::microseconds value{0}; ///< a ping RTT, a backoff delay
    unsigned failures = 0;
    bool failure = false; ///< a connect failure, a dead link, or a link lost: tells why
};

/// A recorded event.
struct link_event {
    link_event_kind kind = link_event_kind::closed;
    pool_time at{};                               ///< steady time (the pool's clock)
    std::chrono::system_clock::time_point wall{}; ///< the same moment on the wall clock
    std::uint64_t link_id = 0;
    std::chrono::microseconds value{0};
    unsigned failures = 0;
    bool failure = false;
    std::string detail; ///< at most link_event_ring::max_detail bytes
};

class link_event_ring {
public:
    static constexpr std::size_t capacity = 16;
    /// Longer details are cut (at a UTF-8 boundary) and end with "...".
    static constexpr std::size_t max_detail = 200;

    /// Records `note`; the oldest event goes when the ring is full. Only the detail's string
    /// may allocate, and only until the slot's string has grown to it.
    void push(const link_event_note& note, pool_time at,
              std::chrono::system_clock::time_point wall);
    std::size_t size() const noexcept { return size_; }
    /// The `i`-th newest event (0: the newest), i < size().
    const link_event& newest(std::size_t i) const noexcept
    {
        return events_[(head_ + capacity - 1 - i) % capacity];
    }
    /// The newest event that says why things fail (a connect failure, a dead link, a link
    /// lost); null when none is recorded.
    const link_event* most_telling() const noexcept;

private:
    std::array<link_event, capacity> events_{};
    std::size_t head_ = 0; // where the next event goes
    std::size_t size_ = 0;
};

/// What happened, in words: "link 3: connect failed: connect 127.0.0.1:7000: Connection
/// refused", "backing off 200 ms after 3 failures".
std::string describe(const link_event& e);
/// "-1.234 s" for an event 1.234 s before `now` ("-0.000 s" for one after it).
std::string relative_time(pool_time at, pool_time now);
/// "2026-12-05T07:01:02.345Z".
std::string wall_time(std::chrono::system_clock::time_point t);

} // namespace tether::sansio
