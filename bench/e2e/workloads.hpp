#pragma once

// What tether_e2e measures, and how to run one workload on each implementation.

#include "harness.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tether_bench {

struct workload {
    std::string name; ///< e.g. "closed 64x8 4KiB", "pipelined d16 64B", "closed 8x8 64B tls"
    bool pipelined = false;
    std::size_t callers = 1; ///< closed loop: caller threads
    std::size_t links = 1;   ///< connections (pipelined: 1)
    std::size_t depth = 0;   ///< pipelined: requests in flight
    std::size_t body_bytes = 64;
    bool tls = false; ///< against the TLS server, both clients over TLS
};

/// Closed loop 1x1, 8x8, 64x8 and pipelined depth 1, 16, 128, each with 64 B and 4 KiB bodies;
/// then over TLS: closed 8x8 64B, pipelined d128 64B, closed 8x8 4KiB (names ending in " tls").
std::vector<workload> standard_workloads();

/// The same requests on the same number of links and callers (TLS or not).
bool same_shape(const workload& a, const workload& b);

/// The name of the connect section (connect_cost.hpp) in --list and for --filter:
/// "connect x200 plain+tls".
std::string connect_section_name(std::size_t links);

/// {"p":"xxx..."} whose JSON text is exactly `bytes` long (or the shortest such object).
nlohmann::json body_of_size(std::size_t bytes);

struct run_settings {
    std::uint16_t port = 0;     ///< the plaintext server
    std::uint16_t tls_port = 0; ///< the TLS server (0: none)
    std::string ca_pem;         ///< the CA of the TLS server's certificate
    unsigned io_threads = 2;
    run_timing timing;
    pid_t server_pid = -1;     ///< the plaintext server's process (its CPU is measured)
    pid_t tls_server_pid = -1; ///< the TLS server's

    /// The process of the server `w` runs against.
    pid_t server_pid_of(const workload& w) const { return w.tls ? tls_server_pid : server_pid; }
};

/// One timed run through a fresh tether pool (min = max = links), over TLS for a TLS workload
/// (tls_options with the CA, verify full). Throws on set-up failure.
run_result run_tether(const workload& w, const run_settings& s);

/// The same on a fresh raw_client (the hand-written Asio baseline; over TLS it verifies the
/// server's certificate with the CA too).
run_result run_raw(const workload& w, const run_settings& s);

} // namespace tether_bench
