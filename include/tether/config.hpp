#pragma once

#include <tether/log.hpp>
#include <tether/observer.hpp>
#include <tether/tls.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace tether {

/// One server: a host name or numeric address, and a TCP port (never 0).
struct endpoint {
    std::string host;
    std::uint16_t port = 0;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// "host:port" ("[::1]:7000" for IPv6 literals).
std::string to_string(const endpoint& e);

/// Reconnect delays per endpoint: `min(max, initial * multiplier^n)` after the n-th consecutive
/// failure, then spread uniformly by ±`jitter` (a fraction). Reset by a proven link.
struct backoff_policy {
    std::chrono::milliseconds initial{200}; ///< > 0 and <= max
    double multiplier = 1.6;                ///< >= 1
    std::chrono::milliseconds max{30'000};  ///< > 0
    double jitter = 0.2;                    ///< in [0, 1)
};

/// TCP keep-alive (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT). Whole seconds,
/// each in 1..32767; count in 1..127.
struct tcp_keepalive_policy {
    std::chrono::seconds idle{30};
    std::chrono::seconds interval{10};
    int count = 3;
};

/// Resolves an endpoint's host to addresses, replacing Asio's resolver: the seam for service
/// discovery and for tests of resolution failures. Called on an io thread for each new link to
/// a host that is not a numeric address; it must not block for long. Return an error (e.g.
/// boost::asio::error::host_not_found) to fail the connect: it counts as a connect failure and
/// backs the endpoint off.
using resolve_function =
    std::function<std::error_code(const endpoint& ep, std::vector<std::string>& addresses)>;

/// Makes the body of the request sent on every new link to `ep` once it is proven (and after
/// TLS), before it joins the pool: a login, a session setting. Runs on an io thread; must not
/// block. Throwing fails that connect.
using init_request_function = std::function<nlohmann::json(const endpoint& ep)>;

/// Called with the body of every `notify` the server sends; runs on the pool's io threads, one
/// call at a time, and must not block.
using notify_handler = std::function<void(const nlohmann::json& body)>;

/// The default number of io threads: the hardware threads this process may run on, at least
/// 1. That is the CPUs of the calling thread's affinity mask (as `nproc` counts them: all of
/// the machine's unless `taskset`, a cpuset or a container pins the process), lowered to the
/// CPU limit of its cgroup (v2 `cpu.max`, rounded up) when one is set. More io threads than
/// CPUs to run them would only wake each other up.
unsigned default_io_threads() noexcept;

/// Every setting of a pool; `pool_builder` fills it in and `build()` validates it. Durations are
/// all > 0: nothing is switched off by zero. Defaults are those of the README's table.
struct pool_config {
    /// Labels the pool's logs (each message starts with "<name>: ") and metrics (label
    /// `pool`, escaped); 1..64 characters, no control characters. Default "tether".
    std::string name = "tether";
    std::vector<endpoint> endpoints;            ///< one or more; connects go round-robin
    std::size_t min_connections = 1;            ///< opened at build() and kept open
    std::size_t max_connections = 16;           ///< >= 1 and >= min_connections
    unsigned io_threads = default_io_threads(); ///< threads running the pool's io_context; >= 1
    /// Run on the application's executor instead (strands, timers and sockets made on it; the
    /// pool starts no threads). io_threads must then be left at its default.
    std::optional<boost::asio::any_io_executor> executor;
    std::chrono::milliseconds acquire_timeout{30'000};
    std::size_t max_waiters = 1024; ///< callers allowed to wait in acquire at once
    std::chrono::milliseconds connect_timeout{5'000}; ///< resolve + TCP + TLS + proving ping/pong
    std::chrono::milliseconds request_timeout{30'000};
    std::chrono::milliseconds ping_interval{
        10'000}; ///< probe a link that received nothing this long
    std::chrono::milliseconds ping_timeout{
        5'000}; ///< nothing received this long after a probe: dead
    backoff_policy backoff;
    tcp_keepalive_policy tcp_keepalive;
    /// TCP_USER_TIMEOUT; unset means ping_interval + ping_timeout.
    std::optional<std::chrono::milliseconds> tcp_user_timeout;
    std::uint32_t max_frame_size = 4u << 20;             ///< in 64 .. 2^32-1 bytes, both directions
    std::size_t max_json_depth = 64;                     ///< nesting limit of received JSON, >= 2
    std::chrono::milliseconds drain_timeout{5'000};      ///< drain of the implicit shutdown
    std::size_t max_concurrent_connects = 16;            ///< connects in flight at once, pool-wide
    std::chrono::milliseconds max_lifetime{30 * 60'000}; ///< idle links older than this are retired
    std::chrono::milliseconds idle_timeout{10 *
                                           60'000}; ///< surplus links idle this long are closed
    std::size_t max_outstanding_per_link = 1024;    ///< requests in flight on one link
    std::size_t max_queued_notifies = 1024; ///< notifies waiting for the handler; excess dropped
    std::chrono::milliseconds lease_warn_threshold{60'000}; ///< lease held longer: observer is told
    /// true (as gRPC's default): when nothing is idle, leased or connecting and every endpoint
    /// backs off, acquires fail at once with no_endpoint_available. false: they wait out
    /// acquire_timeout and are served as soon as an endpoint recovers (an application that
    /// starts before its server).
    bool fail_fast = true;
    notify_handler on_notify;                ///< optional
    std::shared_ptr<pool_observer> observer; ///< optional
    resolve_function resolver;               ///< optional; default: Asio's resolver
    /// Optional: a request sent on every new link after proving, inside connect_timeout; the
    /// link joins the pool only on a response without error (an error response is a connect
    /// failure with errc::server_error, the server's code and message in last_error).
    init_request_function init_request;
    /// Messages below this level are dropped before they are formatted.
    log_level log_min = log_level::warn;
    /// Where the pool's messages go (see log_function). Unset: stderr, one line each.
    log_function logger;
    /// TLS on every link (design.md §6); unset: plaintext TCP. pool::reload_tls replaces the
    /// options in force, not this copy of the ones the pool was built with.
    std::optional<tls_options> tls;

    /// The TCP_USER_TIMEOUT actually applied.
    std::chrono::milliseconds effective_tcp_user_timeout() const
    {
        return tcp_user_timeout ? *tcp_user_timeout : ping_interval + ping_timeout;
    }
    /// Worst case between a peer vanishing silently and the pool noticing it.
    std::chrono::milliseconds dead_peer_detection_bound() const
    {
        return ping_interval + ping_timeout;
    }
};

/// Throws tether::config_error naming the first setting that breaks a rule.
void validate(const pool_config& config);

/// The effective configuration as JSON (handlers shown as present or absent).
nlohmann::json to_json(const pool_config& config);

/// Throws tether::config_error naming the first TLS option that breaks a rule that needs no
/// file (pairs set together, ALPN names 1..255 bytes); validate() calls it.
void validate_tls(const tls_options& tls);

/// The TLS options as JSON: verification mode, name, where trust and the client certificate
/// come from (file names, never key material).
nlohmann::json to_json(const tls_options& tls);

/// Prints to_json(config) on one line.
std::ostream& operator<<(std::ostream& os, const pool_config& config);

} // namespace tether
