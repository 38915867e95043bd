#pragma once

// When each entry of a table next needs looking at, kept apart from the entries and densely (8
// bytes each), so that a look for what is due reads little memory: with 10,000 links, looking
// through a table of owner pointers and times every health tick cost a cache miss per few
// entries. Owners publish from their own threads with a relaxed store, without a lock; the
// table's owner collects under its own lock.

#include "io/clock_service.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>

namespace tether::detail {

class due_times {
public:
    using rep = clock_time::rep;
    using cell = std::atomic<rep>;
    static constexpr rep never = clock_time::max().time_since_epoch().count();

    static void publish(cell& c, clock_time due) noexcept
    {
        c.store(due.time_since_epoch().count(), std::memory_order_relaxed);
    }

    /// A new entry, due never, at index size() - 1; the cell never moves.
    cell& add() { return dues_.emplace_back(never); }
    std::size_t size() const noexcept { return dues_.size(); }
    void clear() { dues_.clear(); }

    /// Calls on_due(index) for every entry due at or before `limit` and marks it due never,
    /// so that it is collected once until it publishes again (a publish racing with this
    /// keeps its newer time: collected later, never lost). Returns the earliest due time of
    /// the others (never when none).
    template <class OnDue> rep collect(rep limit, OnDue&& on_due)
    {
        rep earliest = never;
        std::size_t index = 0;
        for (cell& c : dues_) {
            rep due = c.load(std::memory_order_relaxed);
            if (due > limit)
                earliest = std::min(earliest, due);
            else if (c.compare_exchange_strong(due, never, std::memory_order_relaxed))
                on_due(index);
            ++index;
        }
        return earliest;
    }

private:
    std::deque<cell> dues_; // a deque never moves its elements
};

} // namespace tether::detail
