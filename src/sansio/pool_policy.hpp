#pragma once

// The pool core's decisions that need no state of their own: pure functions of the gauges,
// the settings and the time, tested one by one.

#include "sansio/link_records.hpp"
#include "sansio/pool_types.hpp"

#include <cstddef>
#include <optional>

namespace tether::sansio {

/// How many connects to start now: enough to get back to min_connections, and one per waiter
/// not already covered by a connect in flight, never past max_connections (draining links do
/// not count: they are on their way out).
std::size_t connects_wanted(const link_gauges& g, std::size_t waiters,
                            const pool_limits& l) noexcept;

/// No idle link, nothing connecting, nothing leased that could come back, and every backend
/// is backing off: waiting in acquire could only end in a timeout.
bool nothing_can_serve(const link_gauges& g, bool all_backends_backing_off) noexcept;

/// What to do with an idle link at a maintenance tick.
enum class idle_verdict {
    keep,
    retire,            ///< surplus and idle too long, or expired and its replacement is proven
    replace,           ///< expired, room for one more: open a replacement first (make-before-break)
    retire_and_refill, ///< expired at max_connections: retire it, then refill
};
idle_verdict recycle_idle(const link_record& r, const link_gauges& g, const pool_limits& l,
                          pool_time now) noexcept;

/// What to do with a usable link whose last hold was just dropped.
enum class return_verdict {
    reuse,
    reuse_and_replace, ///< expired, room for one more: reuse it while a replacement is opened
    retire,            ///< expired and surplus, and replaced already or no room to replace it
};
return_verdict recycle_returned(const link_record& r, const link_gauges& g, const pool_limits& l,
                                pool_time now) noexcept;

/// Which idle link marked `replacing` goes once a replacement is proven: the one that expired
/// first. nullopt when none is idle.
std::optional<link_slot> pick_replaced(const link_records& records) noexcept;

/// Period of the maintenance tick: within a fortieth of the shorter of idle_timeout,
/// max_lifetime and lease_warn_threshold (a quarter of their 10 % jitter band, so the jitter is
/// not rounded away), between 10 ms and 1 s.
pool_duration maintenance_period(const pool_limits& l) noexcept;

} // namespace tether::sansio
