#pragma once

// What the shutdown's drain deadline cut off: each link still open when it passed counts
// itself and its outstanding requests as it is force-closed; the last one to let go of this
// object has the pool log one warning for all of them.

#include "io/pool_log.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace tether::detail {

class drain_overrun {
public:
    /// `keep_alive` holds the owner of `log` until the warning is written.
    drain_overrun(pool_log& log, std::chrono::milliseconds drain, std::shared_ptr<void> keep_alive)
        : log_(log), drain_(drain), keep_alive_(std::move(keep_alive))
    {
    }
    drain_overrun(const drain_overrun&) = delete;
    drain_overrun& operator=(const drain_overrun&) = delete;
    ~drain_overrun()
    {
        const auto links = links_.load(), requests = requests_.load();
        if (links == 0)
            return;
        log_.write(log_kind::drain_overrun, pool_log::no_endpoint, [&] {
            return "shutdown: the drain deadline (" + std::to_string(drain_.count()) +
                   " ms) passed with " + std::to_string(links) + (links == 1 ? " link" : " links") +
                   " still open; force-closed, failing " + std::to_string(requests) +
                   (requests == 1 ? " request" : " requests") + " with pool_closed";
        });
    }

    /// A link still open at the deadline, with `requests` outstanding.
    void count(std::size_t requests) noexcept
    {
        links_.fetch_add(1, std::memory_order_relaxed);
        requests_.fetch_add(requests, std::memory_order_relaxed);
    }

private:
    pool_log& log_;
    const std::chrono::milliseconds drain_;
    std::shared_ptr<void> keep_alive_;
    std::atomic<std::size_t> links_{0}, requests_{0};
};

} // namespace tether::detail
