#pragma once

// Callers waiting in acquire, first come first served, each with its deadline. The pool gives
// every waiter the same acquire_timeout, so the front always expires first.

#include "sansio/pool_types.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <source_location>

namespace tether::sansio {

struct waiter_entry {
    waiter_id id;
    pool_time deadline;
    std::source_location site;
};

class waiter_queue {
public:
    /// Appends a waiter and returns its id (ids are never reused).
    waiter_id push(pool_time deadline, const std::source_location& site)
    {
        const waiter_id id = next_id_++;
        queue_.push_back({id, deadline, site});
        return id;
    }
    bool empty() const noexcept { return queue_.empty(); }
    std::size_t size() const noexcept { return queue_.size(); }
    const waiter_entry& front() const { return queue_.front(); }
    waiter_entry pop_front()
    {
        waiter_entry w = queue_.front();
        queue_.pop_front();
        return w;
    }
    /// Removes waiter `id`; false when it is not waiting (served or failed already).
    bool erase(waiter_id id)
    {
        const auto it = std::find_if(queue_.begin(), queue_.end(),
                                     [id](const waiter_entry& w) { return w.id == id; });
        if (it == queue_.end())
            return false;
        queue_.erase(it);
        return true;
    }
    /// The earliest deadline; nullopt when nobody waits.
    std::optional<pool_time> next_deadline() const
    {
        if (queue_.empty())
            return std::nullopt;
        return queue_.front().deadline;
    }

private:
    std::deque<waiter_entry> queue_;
    waiter_id next_id_ = 1;
};

} // namespace tether::sansio
