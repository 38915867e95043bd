#pragma once

// Reconnect delays of one endpoint: exponential, capped, then spread by ±jitter. Pure: the
// randomness comes from a seedable generator owned by the schedule, no clock involved.

#include <chrono>
#include <cstdint>

namespace tether::sansio {

/// splitmix64: small, fast, good enough to spread timers; seedable for tests.
class jitter_rng {
public:
    explicit jitter_rng(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, 1).
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    std::uint64_t state_;
};

struct backoff_params {
    std::chrono::milliseconds initial{200};
    double multiplier = 1.6;
    std::chrono::milliseconds max{30'000};
    double jitter = 0.2;
};

class backoff_schedule {
public:
    backoff_schedule(backoff_params params, std::uint64_t seed) noexcept
        : params_(params), rng_(seed)
    {
    }

    /// The un-jittered delay after `failures` consecutive failures (failures >= 1):
    /// min(max, initial * multiplier^(failures-1)).
    static std::chrono::milliseconds base_delay(const backoff_params& p,
                                                unsigned failures) noexcept;

    /// Records one more failure and returns the delay before the next attempt: base_delay
    /// spread uniformly over [base·(1-jitter), base·(1+jitter)] (jitter applied after the cap).
    std::chrono::milliseconds on_failure() noexcept;

    /// Delay of the first reconnect after a working link was lost: uniform in [0, initial], so
    /// clients that lost their server together do not all come back at once.
    std::chrono::milliseconds first_reconnect_delay() noexcept;

    /// A proven link resets the schedule.
    void reset() noexcept { failures_ = 0; }
    /// Goes back to `failures` (undoing a reset that turned out premature).
    void resume(unsigned failures) noexcept { failures_ = failures; }

    unsigned failures() const noexcept { return failures_; }

private:
    backoff_params params_;
    jitter_rng rng_;
    unsigned failures_ = 0;
};

} // namespace tether::sansio
