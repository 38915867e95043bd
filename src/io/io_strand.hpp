#pragma once

// A strand on the pool's executor. On an io_context (the pool's own, or the application's) it
// is Asio's strand of the io_context's executor type, which fits in the small buffer of an
// any_io_executor: the sockets and timers made on it copy and re-prefer their executor on
// every operation without allocating. On any other executor it is a strand of the erased
// executor (a few allocations per operation more). Posts and dispatches go to whichever it is.

#include "io/io_runner.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <optional>
#include <utility>

namespace tether::detail {

class io_strand {
public:
    explicit io_strand(const io_runner& io)
    {
        if (const auto* typed = io.executor().target<boost::asio::io_context::executor_type>()) {
            typed_.emplace(boost::asio::make_strand(*typed));
            erased_ = *typed_;
        } else {
            generic_.emplace(boost::asio::make_strand(io.executor()));
            erased_ = *generic_;
        }
    }

    /// For the sockets and timers that complete on this strand.
    const boost::asio::any_io_executor& executor() const noexcept { return erased_; }

    template <class Handler> void post(Handler&& handler) const
    {
        if (typed_)
            boost::asio::post(*typed_, std::forward<Handler>(handler));
        else
            boost::asio::post(*generic_, std::forward<Handler>(handler));
    }
    /// Runs `handler` inline when already on this strand, else as post() does.
    template <class Handler> void dispatch(Handler&& handler) const
    {
        if (typed_)
            boost::asio::dispatch(*typed_, std::forward<Handler>(handler));
        else
            boost::asio::dispatch(*generic_, std::forward<Handler>(handler));
    }
    bool running_in_this_thread() const noexcept
    {
        return typed_ ? typed_->running_in_this_thread() : generic_->running_in_this_thread();
    }

private:
    std::optional<boost::asio::strand<boost::asio::io_context::executor_type>> typed_;
    std::optional<boost::asio::strand<boost::asio::any_io_executor>> generic_;
    boost::asio::any_io_executor erased_;
};

} // namespace tether::detail
