#pragma once

// The pool's io threads: an io_context, the threads running it, the work guard that keeps
// them running, and the shutdown protocol (the first caller starts the shutdown; the first
// caller that is not an io thread joins the threads; the others wait for it; io threads never
// wait for themselves). Its own mutex guards only its own state.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

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
    using executor_type = boost::asio::io_context::executor_type;

    explicit io_runner(unsigned threads);
    ~io_runner();
    io_runner(const io_runner&) = delete;
    io_runner& operator=(const io_runner&) = delete;

    boost::asio::io_context& context() noexcept { return ioc_; }
    bool running_in_io_thread() const noexcept
    {
        return ioc_.get_executor().running_in_this_thread();
    }

    /// Tells of an exception that escaped a handler: its what(), or null when it was not a
    /// std::exception. Must not throw.
    using escape_reporter = std::function<void(const char* what)>;

    /// Starts the threads; each keeps `keep_alive` (the pool) until it exits. A handler that
    /// throws is reported to `report` and its thread goes on serving.
    void start(const std::shared_ptr<void>& keep_alive, escape_reporter report);
    /// Lets the threads exit once the io_context runs out of work.
    void release_work() { work_.reset(); }

    /// Runs `begin` once (first caller), then, on a thread that is not an io thread, returns
    /// only when the threads are joined and every straggling handler has run. On an io thread
    /// it returns at once (it cannot join itself).
    void shutdown(const std::function<void()>& begin);

private:
    void join_threads();
    void run_stragglers();

    mutable boost::asio::io_context ioc_;
    std::optional<boost::asio::executor_work_guard<executor_type>> work_;
    unsigned thread_count_;
    std::vector<std::thread> threads_;

    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool started_ = false;
    bool joiner_claimed_ = false;
    bool done_ = false;
};

} // namespace tether::detail
