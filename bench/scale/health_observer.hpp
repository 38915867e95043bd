#pragma once

// A pool observer that watches the health checks from inside the pool: the slowest pong and
// the links that went down, per time window (open, hold). Lock-free and cheap: it runs on the
// pool's io threads for every pong.

#include <tether/observer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tether_scale {

class health_observer final : public tether::pool_observer {
public:
    struct window {
        std::uint64_t pongs = 0;
        std::uint64_t slow_pongs = 0; ///< round trip >= slow_rtt
        std::chrono::microseconds max_rtt{0};
        std::uint64_t disconnects = 0;
    };
    static constexpr std::chrono::milliseconds slow_rtt{500};

    /// The figures since the previous take(), which starts a new window.
    window take() noexcept;

    void on_ping_rtt(const tether::endpoint& ep, std::uint64_t link_id,
                     std::chrono::microseconds rtt) override;
    void on_disconnected(const tether::endpoint& ep, std::uint64_t link_id,
                         std::error_code reason) override;

private:
    std::atomic<std::uint64_t> pongs_{0}, slow_pongs_{0}, disconnects_{0};
    std::atomic<std::int64_t> max_rtt_us_{0};
};

} // namespace tether_scale
