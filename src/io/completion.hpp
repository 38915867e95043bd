#pragma once

// A type-erased completion handler waiting for its result. It tracks work on the handler's
// associated executor while pending (so a caller's io_context does not run out of work under a
// suspended coroutine) and completes by posting there, or to the pool's executor when the
// handler has none: never inline, and never inside a link strand. It also holds work on the
// pool's io_context, so the pool's io threads never run out of work (and exit) while an
// operation is still owed its completion.
//
// Boost 1.81: any_completion_handler may only be move-constructed (its move-assignment recurses
// until the stack overflows), so this type is move-constructible only.

#include "io/detached_runner.hpp"
#include "io/io_runner.hpp"

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/system/error_code.hpp>

#include <utility>

namespace tether::detail {

/// Completes `handler` with (ec, value) where no pool can run it: dispatched to the handler's
/// associated executor from the detached runner, or run on the runner's thread.
template <class Handler, class T>
void complete_without_pool(Handler&& handler, boost::system::error_code ec, T value)
{
    // Tracked: the handler's io_context must not run out of work before the result arrives.
    auto ex = boost::asio::prefer(
        boost::asio::get_associated_executor(handler, boost::asio::system_executor()),
        boost::asio::execution::outstanding_work.tracked);
    run_detached(boost::asio::bind_executor(
        std::move(ex), [h = std::forward<Handler>(handler), ec, v = std::move(value)]() mutable {
            std::move(h)(ec, std::move(v));
        }));
}

/// How an operation's result reaches its handler.
enum class completion_mode {
    posted, ///< through the pool's executor, never inline: any user handler
    /// called on the thread that produced the result: only for the blocking API's own handler
    /// (it stores the result and wakes the waiting caller), saving a hop onto another io thread
    inline_for_blocking_caller,
};

template <class T> class pending_op {
public:
    using handler_type = boost::asio::any_completion_handler<void(boost::system::error_code, T)>;

    /// `io` runs handlers that have no associated executor of their own.
    pending_op(handler_type handler, const io_runner& io,
               completion_mode mode = completion_mode::posted)
        : mode_(mode), slot_(handler.get_cancellation_slot()),
          work_(tracked_executor_of(handler, io)), stoppable_(io.scheduler()),
          own_(io.own_context()), io_work_(io.tracked_executor()), handler_(std::move(handler))
    {
    }
    pending_op(pending_op&&) = default;
    pending_op& operator=(pending_op&&) = delete;
    pending_op(const pending_op&) = delete;
    pending_op& operator=(const pending_op&) = delete;

    /// True for the blocking API's own handler: complete() runs it on this thread.
    bool completes_inline() const noexcept
    {
        return mode_ == completion_mode::inline_for_blocking_caller;
    }

    /// The caller's per-operation cancellation slot (may be unconnected).
    boost::asio::cancellation_slot cancellation_slot() const noexcept { return slot_; }

    /// Posts the handler with its result. Call exactly once.
    void complete(boost::system::error_code ec, T value) &&
    {
        if (mode_ == completion_mode::inline_for_blocking_caller) {
            std::move(handler_)(ec, std::move(value));
            return;
        }
        if (stoppable_ && stoppable_->stopped()) {
            // Created after the pool's io threads were gone: nobody would run the post.
            std::move(*this).complete_detached(ec, std::move(value));
            return;
        }
        // Through the pool's executor, then dispatched to the handler's own one. Deferred: on
        // an io thread it runs on this same thread once the current handler returns (a
        // continuation), instead of waking another io thread for it. The queued operation's
        // memory comes from the handler's associated allocator (taken before the handler
        // moves; it stays valid while the handler lives) when the pool runs its own
        // io_context; an application's executor is type-erased and allocates as it likes.
        auto alloc = handler_.get_allocator();
        auto queued = boost::asio::bind_executor(
            std::move(work_), boost::asio::bind_allocator(alloc, [h = std::move(handler_), ec,
                                                                  v = std::move(value)]() mutable {
                std::move(h)(ec, std::move(v));
            }));
        if (own_)
            boost::asio::defer(own_->get_executor(), std::move(queued));
        else
            boost::asio::defer(io_work_, std::move(queued));
    }

    /// For completions after the pool's io threads are gone: dispatched to the handler's own
    /// executor from a short-lived tether thread, or run there when it has none.
    void complete_detached(boost::system::error_code ec, T value) &&
    {
        complete_without_pool(std::move(handler_), ec, std::move(value));
    }

private:
    // The handler's own executor, or the pool's, counting work. The pool's is passed typed
    // when it is an io_context's (the usual case): erased, it would not fit in the small
    // buffer of any_completion_executor and cost an allocation per operation.
    static boost::asio::any_completion_executor tracked_executor_of(const handler_type& handler,
                                                                    const io_runner& io)
    {
        using boost::asio::execution::outstanding_work;
        if (const auto* typed = io.executor().target<boost::asio::io_context::executor_type>())
            return boost::asio::prefer(boost::asio::get_associated_executor(handler, *typed),
                                       outstanding_work.tracked);
        return boost::asio::prefer(boost::asio::get_associated_executor(handler, io.executor()),
                                   outstanding_work.tracked);
    }

    completion_mode mode_;
    boost::asio::cancellation_slot slot_;
    boost::asio::any_completion_executor work_;
    // The scheduler of the pool's own io_context (kept alive by io_work_: the io threads own
    // the pool) or of the application's; null for an executor that cannot be asked.
    boost::asio::detail::scheduler* stoppable_;
    boost::asio::io_context* own_;         // the pool's own io_context, alive as long as io_work_
    boost::asio::any_io_executor io_work_; // tracked: the pool's io threads keep running
    handler_type handler_;
};

} // namespace tether::detail
