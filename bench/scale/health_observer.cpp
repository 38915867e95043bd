#include "health_observer.hpp"

namespace tether_scale {

health_observer::window health_observer::take() noexcept
{
    window w;
    w.pongs = pongs_.exchange(0, std::memory_order_relaxed);
    w.slow_pongs = slow_pongs_.exchange(0, std::memory_order_relaxed);
    w.disconnects = disconnects_.exchange(0, std::memory_order_relaxed);
    w.max_rtt = std::chrono::microseconds(max_rtt_us_.exchange(0, std::memory_order_relaxed));
    return w;
}

void health_observer::on_ping_rtt(const tether::endpoint&, std::uint64_t,
                                  std::chrono::microseconds rtt)
{
    pongs_.fetch_add(1, std::memory_order_relaxed);
    if (rtt >= slow_rtt)
        slow_pongs_.fetch_add(1, std::memory_order_relaxed);
    const auto us = static_cast<std::int64_t>(rtt.count());
    auto seen = max_rtt_us_.load(std::memory_order_relaxed);
    while (us > seen && !max_rtt_us_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
    }
}

void health_observer::on_disconnected(const tether::endpoint&, std::uint64_t, std::error_code)
{
    disconnects_.fetch_add(1, std::memory_order_relaxed);
}

} // namespace tether_scale
