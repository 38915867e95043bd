#pragma once

// The pool both phases use (links = min = max connections, ping every second; over TLS with
// --tls), waiting, with progress on stderr, until all its links are open, and giving up when
// they do not.

#include "options.hpp"
#include "server_process.hpp" // bench/common

#include <tether/tether.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tether_scale {

/// TLS of the pools (--tls): verifying the server's test certificate with its CA. Empty:
/// plaintext.
using pool_tls = std::optional<tether::tls_options>;

tether::pool build_pool(const options& o, std::uint16_t port, const pool_tls& tls,
                        std::size_t links, std::shared_ptr<tether::pool_observer> observer);

/// Waits until `links` links are proven, up to a generous bound (60 s, or 10 ms per link if
/// more). Returns the time it took, nothing on time-out.
std::optional<std::chrono::duration<double>> wait_all_open(tether::pool& pool, std::size_t links,
                                                           const char* phase);

/// Ends a phase whose links did not all open in time (wait_all_open gave nothing): records in
/// `failures` why (the pool's diagnostics, and how the server ended if it is gone), then shuts
/// the pool down.
void give_up_opening(tether::pool& pool, tether_bench::server_process& server,
                     std::vector<std::string>& failures);

} // namespace tether_scale
