#pragma once

// Frames and their operations on their way from any thread to a link's strand. Callers append
// under a short lock (a copy of the serialized frame and a move of the operation into buffers
// that keep their capacity); the strand takes everything queued at once. Only the push that
// finds the inbox unscheduled has to schedule a drain, so a burst of requests costs one
// hand-off and none of them allocates in steady state (a dispatch per request allocated its
// handler on the caller's thread, where Asio cannot recycle the memory).

#include "io/adaptive_mutex.hpp"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether::detail {

template <class Op> class request_inbox {
public:
    struct entry {
        std::uint64_t id = 0;
        std::optional<Op> op; ///< empty for a notify
        std::size_t frame_size = 0;
    };

    /// Queues `frame` (and `op`, unless a notify). True when the caller must schedule a drain:
    /// none is pending that would still see this entry.
    bool push(std::string_view frame, std::uint64_t id, std::optional<Op>&& op)
    {
        std::lock_guard lock(mutex_);
        frames_.append(frame);
        entries_.push_back(entry{id, std::move(op), frame.size()});
        const bool schedule = !scheduled_;
        scheduled_ = true;
        return schedule;
    }

    /// Moves everything queued into `frames` and `entries` (both empty; their capacity is
    /// swapped in for the next callers). The next push schedules a drain again.
    void take(std::string& frames, std::vector<entry>& entries)
    {
        std::lock_guard lock(mutex_);
        frames.swap(frames_);
        entries.swap(entries_);
        scheduled_ = false;
    }

private:
    adaptive_mutex mutex_;
    std::string frames_;         // guarded by mutex_: the frames back to back
    std::vector<entry> entries_; // guarded by mutex_
    bool scheduled_ = false;     // guarded by mutex_: a drain will run after the last push
};

} // namespace tether::detail
