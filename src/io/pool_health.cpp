// The pool's health tick: which proven links are due for a ping (or a pong deadline) goes to
// their strands; parked links go back to the core. Idle links in the health loop are looked
// at by the loop itself (idle_watch.hpp).

#include "io/link.hpp"
#include "io/pool_deferred.hpp"
#include "io/pool_impl.hpp"

#include <algorithm>

namespace tether::detail {

// Period of the health tick: pings go out and dead links are found within one period of their
// due time. A sixteenth of the shorter of ping_interval and ping_timeout keeps that well inside
// the ping jitter band (a tenth of the interval), capped so an idle pool wakes rarely.
std::chrono::steady_clock::duration health_tick_period(const pool_config& c)
{
    return std::clamp<std::chrono::steady_clock::duration>(
        std::min(c.ping_interval, c.ping_timeout) / 16, std::chrono::milliseconds(1),
        std::chrono::milliseconds(250));
}

void pool_impl::arm_health_timer()
{
    if (finished_)
        return;
    health_timer_->arm(now() + health_tick_period(config_),
                       [self = shared_from_this()] { self->on_health_tick(); });
}

void pool_impl::on_health_tick()
{
    // Links due within half a period are looked at now: a ping goes a little early (well
    // within its jitter) rather than up to a whole period late.
    health_.collect_due(now() + health_tick_period(config_) / 2, health_due_);
    for (auto& l : health_due_)
        link::post_health_check(std::move(l));
    health_due_.clear();
    if (cache_.parked() > 0) {
        // Parked links back to the core every tick: idle_timeout and max_lifetime see them
        // as idle within a tick of their release.
        deferred out(*this);
        std::lock_guard lock(mutex_);
        reclaim_parked_locked(out);
    }
    log_.flush_suppressed(false); // rate-limit windows that are over tell what they left out
    arm_health_timer();
}

} // namespace tether::detail
