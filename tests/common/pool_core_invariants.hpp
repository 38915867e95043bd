#pragma once

// The invariants of a sans-io pool core that hold after every event, whoever drives it (the
// unit-test harness, the fleet simulation). Each returns a description of the first one that
// does not hold, or an empty string.

#include "sansio/pool_core.hpp"

#include <string>

namespace tether::test {

/// Cheap, after every event: live <= max_connections, connecting <= max_concurrent_connects,
/// waiters <= max_waiters, nobody waits while a link is idle, and (until shutdown) connects
/// are started whenever wanted unless the connect cap or every backend's backoff holds them
/// back, and then a wake-up is scheduled.
std::string core_limits_violation(const sansio::pool_core& core, sansio::pool_time now);

/// Thorough: every gauge and per-backend count equals a recount of the records, and the idle
/// stack holds exactly the idle records, once each.
std::string core_records_violation(const sansio::pool_core& core);

} // namespace tether::test
