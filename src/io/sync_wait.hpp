#pragma once

// Blocks the calling (non-io) thread until an asynchronous operation completes: the bridge of
// the blocking API onto the asynchronous one. Its handler only stores the result and wakes the
// caller, so operations may call it inline (completion_mode::inline_for_blocking_caller).

#include "io/completion.hpp"

#include <tether/detail/erased.hpp>
#include <tether/detail/handler_memory.hpp>
#include <tether/error.hpp>
#include <tether/with_diagnostics.hpp>

#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

namespace tether::detail {

template <class T> class sync_wait {
public:
    /// A handler to pass to the operation; must be invoked exactly once. Its erased form is
    /// allocated here and freed on the io thread that completes it: shared handler memory.
    auto handler()
    {
        return with_handler_memory([this](boost::system::error_code ec, T value) {
            std::lock_guard lock(mutex_);
            ec_ = ec;
            value_.emplace(std::move(value));
            cv_.notify_one();
        });
    }

    /// Blocks until the handler ran; its error goes to `ec` (std::error_code, the blocking
    /// API's type), its value is returned.
    T get(std::error_code& ec)
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

// The erased entry points with a completion mode (the public ones post).
void start_acquire(const std::shared_ptr<pool_anchor>& anchor, acquire_handler handler,
                   const std::source_location& site, completion_mode mode);
/// `holds_lease`: the caller gave up its lease on `l` without dropping the lease's hold
/// (lease_access::take_link_and_hold); the request takes that hold over.
void start_request(const std::shared_ptr<pool_anchor>& anchor, const std::shared_ptr<link>& l,
                   const nlohmann::json& body, request_handler handler, completion_mode mode,
                   bool holds_lease = false);
void start_pool_request(const std::shared_ptr<pool_anchor>& anchor, const nlohmann::json& body,
                        request_handler handler, const std::source_location& site,
                        completion_mode mode);

/// The throwing form of a blocking request: what with_diagnostics hands an async caller.
inline void throw_if_request_failed(const std::error_code& ec, const nlohmann::json& reply,
                                    const std::shared_ptr<pool_anchor>& anchor = nullptr)
{
    if (ec)
        std::rethrow_exception(request_exception(anchor, ec, reply));
}

} // namespace tether::detail
