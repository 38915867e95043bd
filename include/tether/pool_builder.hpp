#pragma once

#include <tether/config.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace tether {

class pool;

/// Fluent builder of a pool. Every setter returns the builder; nothing is checked until
/// build(), which validates the whole configuration and throws tether::config_error naming the
/// first setting that breaks a rule. See the README's configuration table for defaults.
class pool_builder {
public:
    pool_builder() = default;
    /// Starts from an existing configuration (e.g. one loaded from a file).
    explicit pool_builder(pool_config config) : config_(std::move(config)) {}

    /// Names the pool in its logs and metrics (label `pool`); default "tether".
    pool_builder& name(std::string pool_name);
    /// Adds a server; repeatable. New links go round-robin over healthy endpoints.
    pool_builder& endpoint(std::string host, std::uint16_t port);
    pool_builder& min_connections(std::size_t n);
    pool_builder& max_connections(std::size_t n);
    /// Threads running the pool's own io_context; default: the hardware threads (at least 1).
    pool_builder& io_threads(unsigned n);
    /// Runs the pool on the application's executor (an io_context's, a thread_pool's, a
    /// strand's...): strands, timers and sockets are made on it and the pool starts no threads.
    /// Handlers without an associated executor of their own run there. Blocking calls (acquire,
    /// request) from a thread running an io_context or thread_pool executor fail with
    /// would_block_io_thread; shutdown() there starts the shutdown and returns, elsewhere it
    /// waits for the drain that executor runs (at most drain_timeout + 2 s). The pool's timers
    /// keep the executor's context busy until the pool is shut down. With io_threads() set:
    /// config_error at build().
    pool_builder& executor(boost::asio::any_io_executor ex);
    pool_builder& acquire_timeout(std::chrono::milliseconds d);
    pool_builder& max_waiters(std::size_t n);
    pool_builder& connect_timeout(std::chrono::milliseconds d);
    pool_builder& request_timeout(std::chrono::milliseconds d);
    pool_builder& ping_interval(std::chrono::milliseconds d);
    pool_builder& ping_timeout(std::chrono::milliseconds d);
    /// Reconnect backoff: initial delay, multiplier, cap, jitter fraction in [0, 1).
    pool_builder& backoff(std::chrono::milliseconds initial, double multiplier,
                          std::chrono::milliseconds max, double jitter);
    /// TCP keep-alive: idle time, probe interval (whole seconds), probe count.
    pool_builder& tcp_keepalive(std::chrono::seconds idle, std::chrono::seconds interval,
                                int count);
    pool_builder& tcp_user_timeout(std::chrono::milliseconds d);
    /// One knob for dead-peer detection: a peer that vanishes silently (or hangs) is found
    /// within `budget`. Sets ping_interval to 2/3 of it and ping_timeout to 1/3 (their sum is
    /// the worst case, see pool::config()), TCP_USER_TIMEOUT to `budget` (unacknowledged
    /// writes fail within it too) and TCP keep-alive as a backstop (idle half the budget,
    /// probes every sixth, 3 probes; whole seconds, at least 1 s). Setters called afterwards
    /// override single values. A budget under 3 ms leaves ping_timeout at 0, which build()
    /// rejects naming ping_timeout.
    pool_builder& dead_peer_budget(std::chrono::milliseconds budget);
    pool_builder& max_frame_size(std::uint32_t bytes);
    pool_builder& max_json_depth(std::size_t levels);
    pool_builder& drain_timeout(std::chrono::milliseconds d);
    pool_builder& max_concurrent_connects(std::size_t n);
    pool_builder& max_lifetime(std::chrono::milliseconds d);
    pool_builder& idle_timeout(std::chrono::milliseconds d);
    pool_builder& max_outstanding_per_link(std::size_t n);
    pool_builder& max_queued_notifies(std::size_t n);
    pool_builder& lease_warn_threshold(std::chrono::milliseconds d);
    /// A request sent on every new link once it is proven (and after TLS), inside
    /// connect_timeout: a login, a session setting. The link joins the pool only when it is
    /// answered without error; an error response is a connect failure (errc::server_error,
    /// the server's code and message in last_error and diagnostics) and backs off.
    pool_builder& init_request(nlohmann::json body);
    /// The same with a body made per endpoint (see init_request_function).
    pool_builder& init_request(init_request_function make_body);
    /// Default true: acquires fail at once with no_endpoint_available while every endpoint
    /// backs off; false: they wait out acquire_timeout for one to recover.
    pool_builder& fail_fast(bool on);
    /// Handler of server `notify` messages (io threads, one at a time, must not block).
    pool_builder& on_notify(notify_handler handler);
    /// Observer of pool events (io threads, must not block).
    pool_builder& observer(std::shared_ptr<pool_observer> observer);
    /// Sends every message of the pool at `min` or above to `fn` instead of stderr (see
    /// tether::log_function); nothing of the pool is then written to stdout or stderr. Without
    /// a logger, warn and error go to stderr. An empty `fn` keeps stderr, at `min`.
    /// Repeated warnings of one kind about one endpoint are rate-limited (10 per 10 s, then
    /// one line counting the ones left out).
    pool_builder& logger(log_level min, log_function fn);
    /// Replaces name resolution (service discovery, tests); see resolve_function.
    pool_builder& resolver(resolve_function resolve);
    /// TLS 1.2+ on every link, verified by default (see tls_options). Files are read and
    /// checked at build(): a bad one is a config_error naming the option.
    pool_builder& tls(tls_options options);

    /// The configuration as set so far (not yet validated).
    const pool_config& config() const noexcept { return config_; }

    /// Validates and starts the pool: min_connections begin opening in the background and
    /// build() returns at once (see pool::wait_ready). Throws tether::config_error.
    pool build() const;

private:
    pool_config config_;
    bool io_threads_set_ = false; // io_threads() called: refused together with executor()
};

} // namespace tether
