#include "sansio/backend_set.hpp"

#include <algorithm>

namespace tether::sansio {

const char* to_string(backend_state s) noexcept
{
    switch (s) {
    case backend_state::draining:
        return "draining";
    case backend_state::ejected:
        return "ejected";
    case backend_state::up:
        return "up";
    case backend_state::probing:
        return "probing";
    case backend_state::backing_off:
        return "backing_off";
    case backend_state::connecting:
        return "connecting";
    case backend_state::idle:
        return "idle";
    }
    return "idle";
}

backend_state backend::state(std::size_t links, std::size_t connecting) const noexcept
{
    if (removed)
        return backend_state::draining;
    if (ejected)
        return backend_state::ejected;
    if (links > connecting)
        return backend_state::up;
    if (backoff.failures() > 0)
        return connecting > 0 ? backend_state::probing : backend_state::backing_off;
    return connecting > 0 ? backend_state::connecting : backend_state::idle;
}

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
