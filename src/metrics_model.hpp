#pragma once

// The pool's metric families (design.md §9), built from a stats snapshot, the configuration and
// the per-backend figures: the one place that names them, says what they mean and gives their
// values. pool::metrics() returns them; to_prometheus_text() and the prometheus-cpp adapter
// render them. Sans-io: tested without a pool.

#include "sansio/backend_set.hpp"
#include "sansio/close_cause.hpp"

#include <tether/config.hpp>
#include <tether/metrics.hpp>
#include <tether/stats.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tether::detail {

/// What the metrics say of one backend.
struct backend_metrics {
    std::string endpoint;       ///< label value: "host:port"
    std::uint64_t connects = 0; ///< proven links opened
    std::uint64_t connect_failures = 0;
    std::array<std::uint64_t, sansio::close_cause_count> disconnections{}; ///< by close_cause
    sansio::backend_state state = sansio::backend_state::idle;
};

/// Every family of the pool, each sample labelled pool="<config.name>".
std::vector<metric_family> metric_families(const pool_stats& stats, const pool_config& config,
                                           const std::vector<backend_metrics>& backends);

} // namespace tether::detail
