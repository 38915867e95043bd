#pragma once

// Blocks the calling (non-io) thread until an asynchronous operation completes: the bridge of
// the blocking API onto the asynchronous one.

#include <boost/system/error_code.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>

namespace tether::detail {

template <class T>
class sync_wait {
public:
    /// A handler to pass to the operation; must be invoked exactly once.
    auto handler()
    {
        return [this](boost::system::error_code ec, T value) {
            std::lock_guard lock(mutex_);
            ec_ = ec;
            value_.emplace(std::move(value));
            cv_.notify_one();
        };
    }

    T get(boost::system::error_code& ec)
    {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return value_.has_value(); });
        ec = ec_;
        return std::move(*value_);
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    boost::system::error_code ec_;
    std::optional<T> value_;
};

} // namespace tether::detail
