#pragma once

// Phase 2: a pool of many links under closed-loop request load: each caller thread leases a
// link, sends one 64-byte request, waits for the echo, releases the lease, and repeats.
// Measures throughput and latency, and checks that every link (most of them idle, kept by
// pings) is still alive at the end.

#include "health_window.hpp"
#include "options.hpp"
#include "pool_setup.hpp"
#include "server_probe.hpp"
#include "server_process.hpp" // bench/common

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tether_scale {

struct load_figures {
    std::size_t links = 0;
    unsigned threads = 0;
    bool opened = false;
    double open_seconds = 0;
    double seconds = 0;
    std::uint64_t requests = 0, errors = 0;
    std::string first_error;
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    double client_cpu_seconds =
        0; ///< callers + io threads (the bench's main and probe threads excluded)
    double server_cpu_seconds = 0;
    std::size_t total_end = 0, ready_end = 0;
    std::uint64_t connections_lost = 0, dead_links = 0, pings = 0;
    health_window during_load;
    std::vector<std::string> failures;

    double requests_per_second() const
    {
        return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
    }
    double client_us_per_request() const
    {
        return requests > 0 ? 1e6 * client_cpu_seconds / static_cast<double>(requests) : 0;
    }
};

load_figures run_load_phase(const options& o, tether_bench::server_process& server,
                            const pool_tls& tls, const server_probe& probe);

} // namespace tether_scale
