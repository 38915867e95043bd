#pragma once

// A pool's logger (design.md §9): its name, minimum level and function (or stderr), and the
// rate limiter that keeps one flapping endpoint from flooding the log. Every message of the
// pool goes through here; nothing in it throws, and it is never called under the pool lock
// (code under the lock defers its messages: pool_impl::deferred::log).

#include "io/clock_service.hpp"
#include "sansio/log_rate_limiter.hpp"

#include <tether/config.hpp>
#include <tether/log.hpp>

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tether::detail {

/// What a message is about. Each kind has one level; messages of a kind above debug share a
/// rate limit per endpoint.
enum class log_kind : unsigned {
    link_connected,      ///< debug: a link was proven
    link_closed,         ///< debug: a link closed on purpose (retired, drained, shut down)
    link_lost,           ///< info: a working link broke (closed or reset by the peer, bad frame)
    goaway,              ///< info
    backoff,             ///< info: an endpoint backs off
    recovered,           ///< info: a link was proven after failures
    connect_failed,      ///< warn
    dead_link,           ///< warn: found dead by probing
    lease_held_too_long, ///< warn
    notify_dropped,      ///< warn
    drain_overrun,       ///< warn: shutdown force-closed what the drain deadline cut off
    exception,           ///< error: a handler or observer threw
};

log_level level_of(log_kind kind) noexcept;

class pool_log {
public:
    static constexpr std::size_t no_endpoint = sansio::log_key::no_endpoint;

    /// `config` and `clock` outlive this object.
    pool_log(const pool_config& config, clock_service& clock,
             sansio::log_rate_limiter::limits limits = {});

    /// Messages of `kind` are wanted (a cheap check before anything is formatted).
    bool enabled(log_kind kind) const noexcept { return level_of(kind) >= min_; }

    /// Writes the message `make_text()` (a std::string, formatted only when `kind` is enabled
    /// and within its rate limit) about `endpoint` (an index of config.endpoints, or
    /// no_endpoint). Never throws.
    template <class MakeText>
    void write(log_kind kind, std::size_t endpoint, MakeText&& make_text) noexcept
    {
        if (!enabled(kind))
            return;
        try {
            if (admit(kind, endpoint))
                deliver(level_of(kind), make_text());
        } catch (...) { // no memory to format: the message is lost, the pool goes on
        }
    }

    /// Runs `f`; what it throws is logged as an error ("<what_threw>: <what()>") and not let
    /// out (application code: observers, handlers).
    template <class F> void run_guarded(const char* what_threw, F&& f) noexcept
    {
        try {
            f();
        } catch (const std::exception& e) {
            report_throw(what_threw, e.what());
        } catch (...) {
            report_throw(what_threw, nullptr);
        }
    }
    /// Logs "<what_threw>: <what>" (`what` may be null: no ": <what>") as an error.
    void report_throw(const char* what_threw, const char* what) noexcept;

    /// Tells of the messages left out in rate-limit windows that are over (the pool's health
    /// tick calls this); `all`: of every window, over or not (the pool is finishing).
    void flush_suppressed(bool all) noexcept;

private:
    bool admit(log_kind kind, std::size_t endpoint);
    void deliver(log_level level, std::string_view text) noexcept;
    void tell_suppressed(const sansio::log_rate_limiter::suppressed& s) noexcept;

    const pool_config& config_;
    const log_level min_;
    clock_service& clock_;
    std::mutex mutex_;                     // the limiter; never held while delivering
    sansio::log_rate_limiter limiter_;     // guarded by mutex_
    std::atomic<bool> suppressing_{false}; // limiter_.has_suppressed(), readable without the lock
};

} // namespace tether::detail
