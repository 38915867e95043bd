#pragma once

// The servers a pool connects to, each with its reconnect backoff and figures. Today one
// backend per configured endpoint, fixed at build(); the record already carries what the
// next features need (design.md §7-§8: several addresses per endpoint, backends added and
// removed at run time, a balancing weight, an ejected state), unused until they land.

#include "sansio/backoff.hpp"
#include "sansio/close_cause.hpp"
#include "sansio/pool_types.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tether::sansio {

/// Where a backend stands, one at a time (metrics: tether_endpoint_state{state}); the first
/// that applies, in this order.
enum class backend_state : std::uint8_t {
    draining,    ///< no longer configured: its links finish and close (design.md §7)
    ejected,     ///< taken out of service by outlier ejection (design.md §8)
    up,          ///< has proven links open
    probing,     ///< failing; its one probing connect is in flight
    backing_off, ///< failing (the last connect failed, nothing proven since): no connect
                 ///< before its backoff delay ends, then one probe at a time
    connecting,  ///< its first links are connecting
    idle,        ///< nothing open or in flight, nothing failed (no link was wanted of it)
};
inline constexpr std::size_t backend_state_count = 7;
/// "draining", "ejected", "up", "probing", "backing_off", "connecting", "idle".
const char* to_string(backend_state s) noexcept;

struct backend {
    backend(std::size_t endpoint_index_, backoff_schedule schedule)
        : endpoint_index(endpoint_index_), backoff(schedule)
    {
    }

    std::size_t endpoint_index; ///< which configured endpoint this backend stands for
    backoff_schedule backoff;
    pool_time retry_at{}; ///< no connect before this
    // figures: every per-backend counter lives here
    std::uint64_t connects = 0; ///< proven links opened
    std::uint64_t connect_failures = 0;
    std::array<std::uint64_t, close_cause_count>
        disconnections{};            ///< proven links closed, by cause
    std::uint64_t failure_epoch = 0; ///< failures of concurrent connects advance backoff once
    /// The failures a proven link reset the backoff from, until a link of it serves: an
    /// early goaway (pool_core::link_draining) resumes from there.
    unsigned failures_before_reset = 0;
    std::optional<pool_time> early_goaway_at; ///< the last goaway right after proving
    bool on_probation = false; ///< one of the two above is set (pool_core counts them)
    std::string last_error;
    double weight = 1.0;  ///< balancing weight (slow start ramps it; design.md §8)
    bool ejected = false; ///< outlier ejection (design.md §8)
    bool removed = false; ///< no longer configured: drains (design.md §7)

    /// Failing and not allowed to connect yet.
    bool backing_off(pool_time now) const noexcept
    {
        return backoff.failures() > 0 && retry_at > now;
    }
    /// Its state, `links` of it open (`connecting` of them not proven yet).
    backend_state state(std::size_t links, std::size_t connecting) const noexcept;
    /// A new link may be opened to it now, `connecting` links to it being in flight. A backend
    /// that failed gets one probing connect at a time until a link to it is proven (not a
    /// burst of them at a server that may still be down).
    bool accepts_connect(pool_time now, std::size_t connecting) const noexcept
    {
        return !removed && !ejected && retry_at <= now &&
               (backoff.failures() == 0 || connecting == 0);
    }
};

class backend_set {
public:
    /// Adds a backend for endpoint `endpoint_index`; ids are indexes and never reused.
    backend_id add(std::size_t endpoint_index, const backoff_params& params, std::uint64_t seed)
    {
        backends_.emplace_back(endpoint_index, backoff_schedule(params, seed));
        return backends_.size() - 1;
    }
    std::size_t size() const noexcept { return backends_.size(); }
    backend& operator[](backend_id b) { return backends_[b]; }
    const backend& operator[](backend_id b) const { return backends_[b]; }
    const std::vector<backend>& all() const noexcept { return backends_; }

    /// Round robin over the backends that accept a connect now (`connecting(b)`: links in
    /// flight to backend b); advances the cursor past the one chosen. nullopt when none does.
    template <class ConnectingCount>
    std::optional<backend_id> next_for_connect(pool_time now, ConnectingCount&& connecting)
    {
        const std::size_t n = backends_.size();
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t b = (cursor_ + k) % n;
            if (backends_[b].accepts_connect(now, connecting(b))) {
                cursor_ = (b + 1) % n;
                return b;
            }
        }
        return std::nullopt;
    }
    /// Where the round robin starts (a random place, so a fleet of clients does not all start
    /// on the first endpoint).
    void set_cursor(std::size_t cursor) noexcept { cursor_ = cursor; }
    /// When the first backend that is backing off may connect again; nullopt when none is.
    std::optional<pool_time> earliest_retry(pool_time now) const;
    /// Every backend in service is failing and waiting out its backoff.
    bool all_backing_off(pool_time now) const;

private:
    std::vector<backend> backends_;
    std::size_t cursor_ = 0;
};

} // namespace tether::sansio
