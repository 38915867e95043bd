#pragma once

// The figures of a run: a summary table on stdout and, optionally, a JSON file (for docs).

#include "idle_phase.hpp"
#include "load_phase.hpp"
#include "options.hpp"
#include "raw_baseline.hpp"

#include <optional>
#include <string>

namespace tether_scale {

struct run_context {
    unsigned cpus = 0;
    std::string load_average_start, load_average_end;
    std::uint64_t nofile_limit = 0;
    long server_pid = 0;
    int server_pinned_cpu = -1;
};

/// Targets of design.md §5 ("Scale").
inline constexpr double target_bytes_per_link = 8 * 1024;
inline constexpr double target_percent_of_core = 10.0;

struct run_figures {
    std::optional<baseline_figures> baseline;       ///< the pinger before the pool
    std::optional<baseline_figures> baseline_after; ///< and again after it (the same length)
    std::optional<idle_figures> idle;
    std::optional<load_figures> load;
};

void print_summary(const options& o, const run_context& ctx, const run_figures& figures);

/// Throws std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const options& o, const run_context& ctx,
                const run_figures& figures);

} // namespace tether_scale
