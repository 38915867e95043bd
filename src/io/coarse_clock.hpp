#pragma once

// steady_clock's time read from CLOCK_MONOTONIC_COARSE: the same clock (comparable with
// std::chrono::steady_clock::now()), at the kernel tick's resolution (1-4 ms), for a few
// nanoseconds instead of tens (on virtual machines, where the precise clock is slowest, it
// was a third of an acquire + release). Good enough for lease hold times and idle or lifetime
// checks; timeouts keep the precise clock.

#include <chrono>
#include <ctime>

namespace tether::detail {

inline std::chrono::steady_clock::time_point coarse_now() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

} // namespace tether::detail
