#pragma once

// The demo's /metrics endpoint (--metrics-port): the pool's metrics_text() over HTTP, for
// Prometheus or curl.

#include <tether/pool.hpp>

#include <cstdint>
#include <memory>

namespace demo {

/// Serves `GET /metrics` (HEAD too) with pool.metrics_text() over HTTP/1.1 on 127.0.0.1:`port`
/// (0: an ephemeral port; port() tells which) from a thread of its own, keep-alive included;
/// any other path is 404. Stops when destroyed.
class metrics_server {
public:
    metrics_server(tether::pool pool, std::uint16_t port);
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    /// The port it listens on.
    std::uint16_t port() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace demo
