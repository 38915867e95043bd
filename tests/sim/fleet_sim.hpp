#pragma once

// A deterministic discrete-event simulation of the sans-io pool core and link_fsm against a
// simulated fleet of backends with scripted faults, in virtual time. One seed gives one run:
// the same seed gives the same results, field for field (no wall clock, no unordered
// iteration deciding an order). tests/unit/fleet_sim_test.cpp runs it and asserts on the
// results.

#include "sansio/link_fsm.hpp"
#include "sansio/pool_types.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tether::sim {

using namespace std::chrono_literals;
using sim_duration = sansio::pool_duration;

enum class fault_kind : std::uint8_t {
    refused, ///< connects fail at once
    hung,    ///< connects never complete; established links stop answering
    reset,   ///< every established link closed at once (at the start)
    goaway,  ///< goaway on every proven link (and on links proven meanwhile); owed replies come
    restart, ///< reset, then connects refused until the end
    slow,    ///< request latency x50
};
inline constexpr std::size_t fault_kinds = 6;
const char* to_string(fault_kind k) noexcept;

/// One fault of one backend, from `start` to `end` (offsets from the start of the run).
struct fault {
    fault_kind kind;
    std::size_t backend;
    sim_duration start;
    sim_duration end;
};

struct fleet_config {
    std::uint64_t seed = 1;
    sim_duration duration = 60min;
    std::size_t backends = 10;
    sansio::pool_limits limits = default_limits();
    sansio::link_timing timing{}; ///< connect 5 s, ping every 10 s, ping timeout 5 s
    double requests_per_second = 2000;
    sim_duration connect_latency = 1ms; ///< mean; uniform over [0.5, 1.5] x
    sim_duration pong_latency = 300us;  ///< mean; uniform over [0.5, 1.5] x
    sim_duration request_min = 1ms, request_max = 5ms;
    double slow_factor = 50;
    std::vector<fault> faults; ///< empty: default_faults(duration)
    /// The whole-core check (gauges == recount, idle stack, every record against its link)
    /// runs every this many events; the cheap checks run after every core call.
    std::uint64_t full_check_every = 512;

    static sansio::pool_limits default_limits();
};

/// The scripted hour: every fault kind, several overlapping, one moment with all backends
/// down. Offsets are scaled to `duration` (the lengths of the faults are not).
std::vector<fault> default_faults(sim_duration duration, std::size_t backends);

/// min / median / max of a set of durations, in microseconds.
struct dist_stats {
    std::uint64_t n = 0;
    std::int64_t min_us = 0, p50_us = 0, max_us = 0;
    friend bool operator==(const dist_stats&, const dist_stats&) = default;
};
dist_stats summarize(std::vector<sim_duration> samples);

inline constexpr std::size_t errc_slots = 16; ///< indexed by tether::errc value
inline constexpr std::size_t spread_bins = 20;

/// Everything a run measured; equal for equal seeds.
struct fleet_results {
    std::uint64_t seed = 0;
    std::int64_t virtual_ms = 0;
    std::uint64_t events = 0;
    std::uint64_t requests = 0, served = 0;
    std::array<std::uint64_t, errc_slots> acquire_failed{}; ///< by errc
    std::array<std::uint64_t, errc_slots> request_failed{}; ///< by errc
    std::uint64_t acquired_at_once = 0, queued = 0;
    std::uint64_t connects = 0, proven = 0, connect_failures = 0, backoffs = 0;
    std::uint64_t goaways = 0, dead_links = 0, links_lost = 0, retired = 0, long_leases = 0;
    std::uint64_t pool_finished = 0;
    /// Fault start -> link closed, for links established when the fault began (hung: found
    /// dead by probing; reset and restart: closed at once; goaway: drained).
    std::array<dist_stats, fault_kinds> closed_after{};
    /// A fault's end with no other fault around -> at least min_connections proven links.
    dist_stats recovery{};
    std::uint64_t recovery_probes_unmet = 0;
    /// A backend accepting connects again -> the first connect the pool starts to it.
    dist_stats first_connect_after_up{};
    /// From the moment all backends were down: connect starts per 250 ms (retries while
    /// down, then the refill), and each backend's first connect (ms; -1: none).
    std::array<std::uint32_t, spread_bins> all_down_connects{};
    std::array<std::int64_t, 16> all_down_first_connect_ms{};
    std::int64_t all_down_refill_us = -1;            ///< first back -> min_connections proven again
    std::vector<std::uint32_t> links_after_all_down; ///< per backend, 10 s after the first is back
    std::vector<std::uint32_t> links_at_end;         ///< per backend, before shutdown
    dist_stats first_backoff{};                      ///< delays after a first failure
    std::uint64_t cheap_checks = 0, full_checks = 0;
    std::uint64_t violations = 0;
    std::vector<std::string> first_violations; ///< the first few, with the virtual time
    friend bool operator==(const fleet_results&, const fleet_results&) = default;
};

struct fleet_summary {
    fleet_results results;
    double wall_seconds = 0; ///< not part of the comparison: the only non-virtual figure
};

fleet_summary run_fleet_sim(const fleet_config& config);
void print_summary(const fleet_config& config, const fleet_summary& s);

} // namespace tether::sim
