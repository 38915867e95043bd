#pragma once

#include <tether/config.hpp>
#include <tether/detail/erased.hpp>
#include <tether/detail/handler_memory.hpp>
#include <tether/error.hpp>
#include <tether/lease.hpp>
#include <tether/metrics.hpp>
#include <tether/stats.hpp>

#include <boost/asio/async_result.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <source_location>
#include <string>
#include <system_error>
#include <vector>

namespace tether {

/// A pool of persistent connections; made by pool_builder::build().
///
/// A cheap, copyable, thread-safe handle: copies share one pool. The pool shuts down (with
/// drain_timeout) when the last handle and the last lease are gone, and pending asynchronous
/// operations keep it alive until they complete. A default-constructed handle is empty: its
/// operations fail with errc::pool_closed. Every member function is const, like
/// shared_ptr's: a pool captured by copy in a lambda can be used as it is.
class pool {
public:
    pool() noexcept = default;
    pool(const pool& other) noexcept;
    pool(pool&& other) noexcept = default;
    pool& operator=(const pool& other) noexcept;
    pool& operator=(pool&& other) noexcept;
    /// The last handle gone with no lease left: the pool shuts down (see above).
    ~pool();

    /// Leases a healthy link: an idle one at once, else a new one below max_connections, else
    /// waits in FIFO order up to acquire_timeout.
    /// Throws tether::error: acquire_timeout, too_many_waiters, no_endpoint_available,
    /// pool_closed, would_block_io_thread (called on one of the pool's own io threads).
    /// what() explains a failure (links leased and the oldest lease, connecting, per endpoint
    /// its last connect error and its most telling recent event: the newest failed connect,
    /// dead or lost link, with its age). `site` records the caller for diagnostics and leak
    /// reports.
    lease acquire(std::source_location site = std::source_location::current()) const;

    /// As above without exceptions; pool.diagnostics() explains a failure.
    lease acquire(std::error_code& ec,
                  std::source_location site = std::source_location::current()) const;

    /// Asynchronous acquire.
    /// \par Handler signature `void(boost::system::error_code, tether::lease)`
    /// \par Executor The handler's associated executor, else the pool's io threads; never
    ///      inside this call.
    /// \par Per-operation cancellation terminal/partial/total while waiting: completes with
    ///      boost::asio::error::operation_aborted and gives its place in the queue back.
    /// \par Errors as acquire().
    /// \par Default token with_diagnostics(deferred): `co_await pool.async_acquire()` returns
    ///      the lease or throws what acquire() throws (diagnostics in what()).
    template <class CompletionToken = default_completion_token>
    auto async_acquire(CompletionToken&& token = {},
                       std::source_location site = std::source_location::current()) const
    {
        const auto start = [](auto handler, std::shared_ptr<detail::pool_anchor> anchor,
                              std::source_location where) {
            detail::async_acquire_erased(anchor, detail::with_handler_memory(std::move(handler)),
                                         where);
        };
        if constexpr (detail::is_with_diagnostics_v<CompletionToken>) {
            return boost::asio::async_initiate<decltype(token.token),
                                               void(std::exception_ptr, lease)>(
                [start](auto handler, std::shared_ptr<detail::pool_anchor> anchor,
                        std::source_location where) {
                    auto a = anchor;
                    start(detail::diagnosing(std::move(handler), std::move(a)), std::move(anchor),
                          where);
                },
                token.token, anchor_, site);
        } else {
            return boost::asio::async_initiate<CompletionToken,
                                               void(boost::system::error_code, lease)>(
                start, token, anchor_, site);
        }
    }

    /// Acquire, request, release in one call; errors as acquire() and lease::request().
    /// When the link answers connection_draining (a goaway crossed the acquire, so nothing was
    /// sent) the request is retried on another link, up to 3 attempts in all.
    nlohmann::json request(const nlohmann::json& body,
                           std::source_location site = std::source_location::current()) const;
    nlohmann::json request(const nlohmann::json& body, std::error_code& ec,
                           std::source_location site = std::source_location::current()) const;

    /// Asynchronous acquire + request + release; signature and errors of lease::async_request,
    /// with the same retry on connection_draining as request().
    /// \par Default token with_diagnostics(deferred), as for async_acquire.
    template <class CompletionToken = default_completion_token>
    auto async_request(const nlohmann::json& body, CompletionToken&& token = {},
                       std::source_location site = std::source_location::current()) const
    {
        const auto start = [](auto handler, std::shared_ptr<detail::pool_anchor> anchor,
                              const nlohmann::json& b, std::source_location where) {
            detail::async_pool_request_erased(
                anchor, b, detail::with_handler_memory(std::move(handler)), where);
        };
        if constexpr (detail::is_with_diagnostics_v<CompletionToken>) {
            return boost::asio::async_initiate<decltype(token.token),
                                               void(std::exception_ptr, nlohmann::json)>(
                [start](auto handler, std::shared_ptr<detail::pool_anchor> anchor,
                        const nlohmann::json& b, std::source_location where) {
                    auto a = anchor;
                    start(detail::diagnosing(std::move(handler), std::move(a)), std::move(anchor),
                          b, where);
                },
                token.token, anchor_, body, site);
        } else {
            return boost::asio::async_initiate<CompletionToken,
                                               void(boost::system::error_code, nlohmann::json)>(
                start, token, anchor_, body, site);
        }
    }

    /// Blocks until min_connections links are proven or `timeout` passes; true when ready.
    /// Returns false at once after shutdown. Must not be called on a pool io thread.
    bool wait_ready(std::chrono::milliseconds timeout) const;

    /// A snapshot of the pool's gauges and counters.
    pool_stats stats() const;

    /// The pool's metrics (design.md §9; every family in the README's "Monitoring"): gauges,
    /// counters and histograms (seconds), every sample labelled `pool="<config().name>"`, the
    /// per-endpoint ones `endpoint="host:port"` too. The values of stats() and the figures of
    /// each endpoint, as values, for a bridge to a monitoring system (the prometheus-cpp
    /// adapter, tether::prometheus_collector, is one).
    std::vector<metric_family> metrics() const;

    /// metrics() in the Prometheus text exposition format 0.0.4: the body of a /metrics
    /// endpoint (Content-Type: prometheus_text_content_type). Passes `promtool check metrics`.
    /// Cheap enough to scrape often: about 0.1 ms for a pool of 16 endpoints.
    std::string metrics_text() const;

    /// The effective configuration (validated; io_threads resolved).
    const pool_config& config() const;

    /// Replaces the TLS options: links opened from now on use `options`; with
    /// tls_reload::rotate_links the open links are replaced too, make-before-break within
    /// max_concurrent_connects, as for max_lifetime (a leased one when it comes back; no
    /// request is lost). Files are read and checked first: a bad one is a config_error naming
    /// the option, and the pool goes on as it was. config_error too for a pool built without
    /// TLS. config().tls keeps the options of build().
    void reload_tls(const tls_options& options, tls_reload mode = tls_reload::new_links) const;

    /// Human-readable state: links leased and the oldest lease's age and acquire site,
    /// connecting, waiters, last connect error per endpoint (first line); then, per endpoint,
    /// its last 16 link events newest first (the flight recorder: connected, proven with the
    /// ping RTT, connect failed, found dead, goaway, closed or lost with the reason, backoff,
    /// recovered), one per line: "-1.234 s  2026-12-05T07:01:02.345Z  link 3: ...", the time
    /// before the call and on the wall clock (UTC).
    std::string diagnostics() const;

    /// Shuts the pool down: new and waiting acquires, new requests and notifies fail with
    /// pool_closed; requests already sent get up to `drain` to complete, then fail with
    /// pool_closed; sockets close; io threads are joined. Blocks until done. Idempotent:
    /// concurrent and repeated calls return once the first completes. On one of the pool's own
    /// io threads it starts the shutdown and returns without waiting.
    void shutdown(std::chrono::milliseconds drain) const;
    /// shutdown(config().drain_timeout)
    void shutdown() const;

    /// True when both handles refer to the same pool.
    friend bool operator==(const pool& a, const pool& b) noexcept { return a.anchor_ == b.anchor_; }

private:
    friend class pool_builder;
    explicit pool(std::shared_ptr<detail::pool_anchor> anchor) noexcept;
    detail::pool_impl& impl() const;
    void drop_handle() noexcept;

    std::shared_ptr<detail::pool_anchor> anchor_;
};

} // namespace tether
