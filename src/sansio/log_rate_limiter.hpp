#pragma once

// Keeps a flapping backend from flooding a log: messages sharing a key (a kind of message and
// the endpoint it is about) get a budget per window; the ones over it are only counted, and the
// count is told once when the window is over. Sans-io: time is passed in.

#include "sansio/pool_types.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

namespace tether::sansio {

/// What messages share a budget: one kind of message about one endpoint.
struct log_key {
    static constexpr std::size_t no_endpoint = std::numeric_limits<std::size_t>::max();

    unsigned kind = 0;
    std::size_t endpoint = no_endpoint; ///< index of the configured endpoint, or no_endpoint

    friend auto operator<=>(const log_key&, const log_key&) = default;
};

class log_rate_limiter {
public:
    struct limits {
        unsigned per_window = 10;                        ///< messages let through per window
        pool_duration window = std::chrono::seconds(10); ///< starts at a key's first message
    };
    /// Messages of a key that were left out, and over how long.
    struct suppressed {
        log_key key;
        std::uint64_t count = 0;
        pool_duration span{};
    };
    struct verdict {
        bool write = false; ///< the message goes out
        /// Left out in the window that just ended (count 0: nothing to tell); told before the
        /// message.
        suppressed before;
    };

    log_rate_limiter() = default;
    explicit log_rate_limiter(limits l) : limits_(l) {}

    /// A message of `key` at `now`: out, or counted.
    verdict admit(const log_key& key, pool_time now);
    /// Whether some window has messages left out that nobody was told of yet.
    bool has_suppressed() const noexcept { return suppressing_ > 0; }
    /// Appends the keys whose window ended by `now` with messages left out (`all`: every key
    /// with messages left out, ended or not: the pool is finishing) and forgets those
    /// windows, so the next message of the key opens a new one.
    void take_suppressed(pool_time now, bool all, std::vector<suppressed>& out);
    const limits& params() const noexcept { return limits_; }

private:
    struct window {
        pool_time start;
        unsigned admitted = 0;
        std::uint64_t suppressed = 0;
    };

    limits limits_;
    std::map<log_key, window> windows_; // a few kinds per endpoint at most
    std::size_t suppressing_ = 0;       // windows with suppressed > 0
};

} // namespace tether::sansio
