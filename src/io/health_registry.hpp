#pragma once

// Which proven links are due for a health check, for the pool's single health tick.
//
// One timer per pool instead of one per link: with thousands of links, a timer per link costs
// a timer-queue update, an epoll wake-up and a timerfd re-arm for every ping, and links due
// within the same tick share one wake-up here. Each link publishes when it next needs looking
// at (its next ping, or its pong deadline) into its own slot with a relaxed atomic store, from
// its strand and without a lock; the tick collects the owners whose time has come.
//
// A published time may be earlier than the truth (bytes received since only push the deadline
// later, and are not published): the link then finds nothing to do and publishes again. It
// must never be later, or a ping would be missed.

#include "io/due_times.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace tether::detail {

template <class Owner> class health_registry {
public:
    using clock = std::chrono::steady_clock;

    class slot {
    public:
        /// From the owner's strand: look at it again at `due` (time_point::max(): never).
        void publish(clock::time_point due) noexcept { due_times::publish(*due_, due); }

    private:
        friend class health_registry;
        std::shared_ptr<Owner> owner_;
        due_times::cell* due_ = nullptr; // in dues_, at the slot's index
    };

    /// Adds `owner`, due never until it publishes. The slot stays valid until withdrawn.
    slot* enroll(std::shared_ptr<Owner> owner)
    {
        std::lock_guard lock(mutex_);
        slot* s;
        if (!free_.empty()) {
            s = free_.back();
            free_.pop_back();
        } else {
            s = &slots_.emplace_back(); // a deque never moves its elements
            s->due_ = &dues_.add();
        }
        s->owner_ = std::move(owner);
        s->due_->store(due_times::never, std::memory_order_relaxed);
        ++enrolled_;
        return s;
    }

    /// Removes a slot's owner; the owner must not publish to it afterwards.
    void withdraw(slot* s) noexcept
    {
        std::lock_guard lock(mutex_);
        s->owner_.reset();
        s->due_->store(due_times::never, std::memory_order_relaxed);
        free_.push_back(s);
        --enrolled_;
    }

    /// Appends every owner due at or before `until` to `out` and marks it due never, so it is
    /// collected once until it publishes again. Returns the number enrolled.
    std::size_t collect_due(clock::time_point until, std::vector<std::shared_ptr<Owner>>& out)
    {
        std::lock_guard lock(mutex_);
        dues_.collect(until.time_since_epoch().count(), [&](std::size_t i) {
            if (slots_[i].owner_)
                out.push_back(slots_[i].owner_);
        });
        return enrolled_;
    }

    /// Drops every owner (the pool finished).
    void clear()
    {
        std::lock_guard lock(mutex_);
        slots_.clear();
        dues_.clear();
        free_.clear();
        enrolled_ = 0;
    }

    std::size_t size() const
    {
        std::lock_guard lock(mutex_);
        return enrolled_;
    }

private:
    mutable std::mutex mutex_;
    std::deque<slot> slots_;
    due_times dues_; // slots_[i]'s due time at index i
    std::vector<slot*> free_;
    std::size_t enrolled_ = 0;
};

} // namespace tether::detail
