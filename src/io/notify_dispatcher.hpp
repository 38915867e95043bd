#pragma once

// Delivers server notifies to the application's handler, one call at a time on a strand of
// their own, through a bounded queue: a flood is dropped and counted, never stalls a link.

#include "io/io_strand.hpp"
#include "io/pool_counters.hpp"
#include "io/pool_log.hpp"

#include <tether/config.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace tether::detail {

class notify_dispatcher {
public:
    notify_dispatcher(const io_runner& io, const pool_config& config, pool_counters& counters,
                      pool_log& log)
        : strand_(io), config_(config), counters_(counters), log_(log)
    {
    }

    /// `keep_alive` holds the owner of this dispatcher until the call ran.
    void deliver(nlohmann::json body, std::shared_ptr<void> keep_alive)
    {
        if (!config_.on_notify)
            return;
        if (queued_.fetch_add(1, std::memory_order_acq_rel) >= config_.max_queued_notifies) {
            queued_.fetch_sub(1, std::memory_order_acq_rel);
            counters_.notifies_dropped.fetch_add(1, std::memory_order_relaxed);
            log_.write(log_kind::notify_dropped, pool_log::no_endpoint, [&] {
                return "notify dropped: " + std::to_string(config_.max_queued_notifies) +
                       " already wait for on_notify (max_queued_notifies)";
            });
            return;
        }
        strand_.post([this, keep = std::move(keep_alive), body = std::move(body)] {
            log_.run_guarded("on_notify handler threw", [&] { config_.on_notify(body); });
            queued_.fetch_sub(1, std::memory_order_acq_rel);
        });
    }

private:
    io_strand strand_;
    const pool_config& config_;
    pool_counters& counters_;
    pool_log& log_;
    std::atomic<std::size_t> queued_{0};
};

} // namespace tether::detail
