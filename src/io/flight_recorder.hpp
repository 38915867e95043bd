#pragma once

// The pool's flight recorder (design.md §9): per endpoint, the last 16 link events with their
// times, for diagnostics() and a failed acquire's what(). Links record from their strands, the
// pool driver under its lock; a mutex of its own, held for one copy into a ring, keeps both
// short (it is taken under the pool lock, never the other way round).

#include "io/clock_service.hpp"
#include "sansio/link_events.hpp"

#include <cstddef>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace tether::detail {

class flight_recorder {
public:
    /// One ring per configured endpoint (one backend each, until design.md §7 lands).
    explicit flight_recorder(std::size_t endpoints) : rings_(endpoints) {}

    /// Records `note` about `endpoint` at `at` (the pool's clock). Never throws: an event that
    /// finds no memory for its detail is recorded without it.
    void record(std::size_t endpoint, const sansio::link_event_note& note, clock_time at) noexcept;

    /// Writes the events of `endpoint`, newest first, one per line, each line starting with
    /// `indent`: "-1.234 s  2026-12-05T07:01:02.345Z  link 3: connect failed: ...". Nothing
    /// when there is none.
    void write_recent(std::size_t endpoint, clock_time now, std::string_view indent,
                      std::ostream& os) const;
    /// "1.234 s ago: link 3: connect failed: ..." for the newest event of `endpoint` that says
    /// why things fail (sansio::link_event_ring::most_telling); empty when there is none.
    std::string most_telling(std::size_t endpoint, clock_time now) const;

private:
    mutable std::mutex mutex_;
    std::vector<sansio::link_event_ring> rings_;
};

} // namespace tether::detail
