// The per-backend figures of the pool's metrics, read from the core under the pool lock.

#include "io/pool_deferred.hpp"
#include "io/pool_impl.hpp"

namespace tether::detail {

std::vector<backend_metrics> pool_impl::backend_metrics()
{
    std::vector<detail::backend_metrics> out;
    deferred work(*this);
    std::lock_guard lock(mutex_);
    settle_cache_locked(work);
    out.reserve(core_.backends().size());
    for (std::size_t b = 0; b < core_.backends().size(); ++b) {
        const auto& backend = core_.backends()[b];
        out.push_back({to_string(config_.endpoints[backend.endpoint_index]), backend.connects,
                       backend.connect_failures, backend.disconnections,
                       core_.backend_state_of(b)});
    }
    return out;
}

} // namespace tether::detail
