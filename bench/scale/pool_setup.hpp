#pragma once

// The pool both phases use (links = min = max connections, ping every second) and waiting,
// with progress on stderr, until all its links are open.

#include "options.hpp"

#include <tether/tether.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace tether_scale {

tether::pool build_pool(const options& o, std::uint16_t port, std::size_t links,
                        std::shared_ptr<tether::pool_observer> observer);

/// Waits until `links` links are proven, up to a generous bound (60 s, or 10 ms per link if
/// more). Returns the time it took, nothing on time-out.
std::optional<std::chrono::duration<double>> wait_all_open(tether::pool& pool, std::size_t links,
                                                           const char* phase);

} // namespace tether_scale
