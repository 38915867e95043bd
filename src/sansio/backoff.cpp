#include "sansio/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace tether::sansio {

std::chrono::milliseconds backoff_schedule::base_delay(const backoff_params& p,
                                                       unsigned failures) noexcept
{
    const double initial = static_cast<double>(p.initial.count());
    const double cap = static_cast<double>(p.max.count());
    const double exponent = failures > 0 ? static_cast<double>(failures - 1) : 0.0;
    // pow may overflow to inf for large exponents; min() with the cap handles it.
    const double raw = initial * std::pow(p.multiplier, exponent);
    return std::chrono::milliseconds(static_cast<long long>(std::min(raw, cap)));
}

std::chrono::milliseconds backoff_schedule::on_failure() noexcept
{
    if (failures_ < 1000)
        ++failures_;
    const double base = static_cast<double>(base_delay(params_, failures_).count());
    const double spread = 1.0 + params_.jitter * (2.0 * rng_.unit() - 1.0);
    return std::chrono::milliseconds(static_cast<long long>(std::llround(base * spread)));
}

std::chrono::milliseconds backoff_schedule::first_reconnect_delay() noexcept
{
    const double initial = static_cast<double>(params_.initial.count());
    return std::chrono::milliseconds(static_cast<long long>(std::llround(initial * rng_.unit())));
}

} // namespace tether::sansio
