#pragma once

// Where the pool's handlers run. Either the pool's own io threads (an io_context, the threads
// running it and the work guard keeping them) or the application's executor
// (pool_builder::executor), which the pool never runs, stops or joins. Also the shutdown
// protocol: the first caller starts the shutdown; on a thread that runs the pool's handlers it
// returns at once (it cannot wait for itself); elsewhere it returns once the pool has drained
// (own threads: joined, every straggling handler run). Its own mutex guards only its own
// state.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tether::detail {

class io_runner {
public:
    /// The pool's own io_context run by `threads` threads (started by start()).
    explicit io_runner(unsigned threads);
    /// The application's executor: no threads of the pool's own.
    explicit io_runner(boost::asio::any_io_executor external);
    ~io_runner();
    io_runner(const io_runner&) = delete;
    io_runner& operator=(const io_runner&) = delete;

    /// The executor the pool's strands, timers and sockets are made on.
    const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
    /// The same, counting as outstanding work while a copy lives (a work guard).
    boost::asio::any_io_executor tracked_executor() const;
    /// The pool's own io_context; null on an external executor. (Driver tests run one with no
    /// threads themselves, with poll().)
    boost::asio::io_context* own_context() const noexcept { return own_ ? &*own_ : nullptr; }

    /// True on a thread that runs the pool's handlers: one of its io threads, or a thread
    /// running the application's io_context or thread_pool (or a strand of one). For another
    /// kind of external executor this cannot be known and is false.
    bool running_in_io_thread() const noexcept { return scheduler_ && scheduler_->can_dispatch(); }
    /// True once nothing will run the handlers posted from now on: the pool's own io_context,
    /// or the application's io_context or thread_pool, stopped.
    bool stopped() const noexcept { return scheduler_ && scheduler_->stopped(); }
    /// What stopped() asks, or null: the scheduler behind an io_context or a thread_pool.
    boost::asio::detail::scheduler* scheduler() const noexcept { return scheduler_; }

    /// Posts `handler` to run on the pool's executor (straight to the own io_context when
    /// there is one: no type erasure on that path).
    template <class Handler> void post(Handler&& handler) const
    {
        if (own_)
            boost::asio::post(*own_, std::forward<Handler>(handler));
        else
            boost::asio::post(executor_, std::forward<Handler>(handler));
    }

    /// Tells of an exception that escaped a handler: its what(), or null when it was not a
    /// std::exception. Must not throw.
    using escape_reporter = std::function<void(const char* what)>;

    /// Starts the own threads (none on an external executor); each keeps `keep_alive` (the
    /// pool) until it exits. A handler that throws is reported to `report` and its thread goes
    /// on serving.
    void start(const std::shared_ptr<void>& keep_alive, escape_reporter report);
    /// The pool has drained: the own threads may exit once the io_context runs out of work;
    /// callers waiting in shutdown() on an external executor return.
    void release_work();

    /// Runs `begin` once (first caller), then, on a thread that does not run the pool's
    /// handlers, returns only when the pool has drained: own threads joined and every
    /// straggling handler run; on an external executor, once release_work() was called or,
    /// should that executor not run the drain, after `external_wait_limit`.
    void shutdown(const std::function<void()>& begin,
                  std::chrono::milliseconds external_wait_limit);

private:
    void join_threads();
    void run_stragglers();

    mutable std::optional<boost::asio::io_context>
        own_; // mutable: posting changes no state of ours
    boost::asio::any_io_executor executor_;
    // The scheduler of own_, or of the application's io_context or thread_pool (Asio's own
    // engine behind both: it knows the threads running it and whether it stopped); null for
    // any other kind of executor.
    boost::asio::detail::scheduler* scheduler_ = nullptr;
    std::optional<boost::asio::any_io_executor> work_; // tracked: keeps the own threads running
    unsigned thread_count_ = 0;
    std::vector<std::thread> threads_;

    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool started_ = false;
    bool joiner_claimed_ = false;
    bool drained_ = false; // release_work() called
    bool done_ = false;    // own threads joined
};

} // namespace tether::detail
