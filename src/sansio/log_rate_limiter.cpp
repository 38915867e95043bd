#include "sansio/log_rate_limiter.hpp"

#include <algorithm>

namespace tether::sansio {

log_rate_limiter::verdict log_rate_limiter::admit(const log_key& key, pool_time now)
{
    verdict v;
    const auto [it, opened] = windows_.try_emplace(key, window{now, 0, 0});
    window& w = it->second;
    if (!opened && now - w.start >= limits_.window) {
        // The window is over: what it left out is told now, and this message opens the next.
        if (w.suppressed > 0) {
            v.before = {key, w.suppressed, limits_.window};
            --suppressing_;
        }
        w = window{now, 0, 0};
    }
    if (w.admitted < limits_.per_window) {
        ++w.admitted;
        v.write = true;
    } else if (w.suppressed++ == 0) {
        ++suppressing_;
    }
    return v;
}

void log_rate_limiter::take_suppressed(pool_time now, bool all, std::vector<suppressed>& out)
{
    if (suppressing_ == 0)
        return;
    for (auto it = windows_.begin(); it != windows_.end();) {
        const window& w = it->second;
        const bool over = now - w.start >= limits_.window;
        if (w.suppressed > 0 && (all || over)) {
            out.push_back({it->first, w.suppressed,
                           std::clamp(now - w.start, pool_duration::zero(), limits_.window)});
            --suppressing_;
            it = windows_.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace tether::sansio
