#include "sansio/backend_set.hpp"

#include <algorithm>

namespace tether::sansio {

std::optional<pool_time> backend_set::earliest_retry(pool_time now) const
{
    std::optional<pool_time> earliest;
    for (const backend& b : backends_)
        if (!b.removed && !b.ejected && b.retry_at > now && (!earliest || b.retry_at < *earliest))
            earliest = b.retry_at;
    return earliest;
}

bool backend_set::all_backing_off(pool_time now) const
{
    return std::all_of(backends_.begin(), backends_.end(), [now](const backend& b) {
        return b.removed || b.ejected || b.backing_off(now);
    });
}

} // namespace tether::sansio
