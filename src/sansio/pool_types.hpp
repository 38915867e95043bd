#pragma once

// Vocabulary of the sans-io pool core: its settings, the status of a link record, and the
// actions the core asks its driver to perform. No Asio, no locks, no clock reads: time is
// always passed in.

#include "sansio/backoff.hpp"

#include <tether/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <source_location>
#include <variant>

namespace tether::sansio {

using pool_clock = std::chrono::steady_clock;
using pool_time = pool_clock::time_point;
using pool_duration = pool_clock::duration;

/// The settings the core decides with (a subset of pool_config).
struct pool_limits {
    std::size_t min_connections = 1;
    std::size_t max_connections = 16;
    std::size_t max_concurrent_connects = 16;
    std::size_t max_waiters = 1024;
    pool_duration acquire_timeout = std::chrono::seconds(30);
    pool_duration max_lifetime = std::chrono::minutes(30);
    pool_duration idle_timeout = std::chrono::minutes(10);
    pool_duration lease_warn_threshold = std::chrono::minutes(1);
    backoff_params backoff;
    /// Waiters fail with no_endpoint_available at once when nothing can serve them; false:
    /// they wait out acquire_timeout for a backend to recover.
    bool fail_fast = true;
};

/// Where a link stands, as far as the pool is concerned. Exactly one at a time.
enum class link_status : std::uint8_t {
    connecting, ///< resolving, connecting or proving
    idle,       ///< proven, in the idle stack
    leased,     ///< proven, held by a lease (or by requests its released lease left running)
    draining,   ///< takes no new lease (goaway, retirement, shutdown); closes when quiet
};

/// Index of a link record; the driver keeps its own per-slot data (the link object) under it.
using link_slot = std::uint32_t;
using waiter_id = std::uint64_t;
using backend_id = std::size_t;

// ---- actions: what the driver performs after the lock is released ------------------------------

/// Open a new link in `slot` to `backend` (the record exists already, status connecting).
struct open_link {
    link_slot slot;
    std::uint64_t link_id;
    backend_id backend;
};
/// Hand the link in `slot`, already marked leased, to waiter `waiter`.
struct grant_link {
    waiter_id waiter;
    link_slot slot;
};
/// Complete waiter `waiter` with `code`.
struct fail_waiter {
    waiter_id waiter;
    errc code;
};
/// Take the link in `slot` out of service: it finishes what it owes, then closes. Refused
/// requests are told `reason`.
struct retire_link {
    link_slot slot;
    errc reason;
};
/// Observer: a connect to `backend` failed (`detail` of the failure is the driver's).
struct connect_failed {
    backend_id backend;
    std::uint64_t link_id = 0; ///< the link whose connect failed
};
/// Observer: `backend` backs off for `delay` after `failures` consecutive failures.
struct backoff_started {
    backend_id backend;
    std::chrono::milliseconds delay;
    unsigned failures;
};
/// Observer: a lease has been held past lease_warn_threshold (told once per lease).
struct lease_held_too_long {
    std::uint64_t link_id;
    std::chrono::milliseconds held;
    std::source_location site;
};
/// Shut down and every link gone: the driver may stop its timers.
struct pool_finished {};

using pool_action = std::variant<open_link, grant_link, fail_waiter, retire_link, connect_failed,
                                 backoff_started, lease_held_too_long, pool_finished>;

} // namespace tether::sansio
