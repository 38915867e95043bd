#include "io/io_runner.hpp"

#include <exception>

namespace tether::detail {

io_runner::io_runner(unsigned threads)
    : ioc_(static_cast<int>(threads)), work_(boost::asio::make_work_guard(ioc_)),
      thread_count_(threads)
{
}

io_runner::~io_runner()
{
    join_threads();
}

void io_runner::start(const std::shared_ptr<void>& keep_alive, escape_reporter report)
{
    for (unsigned i = 0; i < thread_count_; ++i) {
        threads_.emplace_back([this, keep_alive, report] {
            for (;;) {
                try {
                    ioc_.run();
                    return;
                } catch (const std::exception& e) {
                    // A user handler threw: report and keep the io thread serving.
                    report(e.what());
                } catch (...) {
                    report(nullptr);
                }
            }
        });
    }
}

void io_runner::shutdown(const std::function<void()>& begin)
{
    const bool on_io_thread = running_in_io_thread();
    bool first = false, joiner = false;
    {
        std::lock_guard lock(mutex_);
        first = !started_;
        started_ = true;
        if (!on_io_thread && !joiner_claimed_)
            joiner = joiner_claimed_ = true;
    }
    if (first)
        begin();
    if (on_io_thread)
        return; // the threads end once the pool has drained
    if (joiner) {
        join_threads();
        run_stragglers();
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_all();
    } else {
        std::unique_lock lock(mutex_);
        done_cv_.wait(lock, [&] { return done_; });
    }
}

// A handler posted from outside just as the io threads ran out of work would otherwise stay
// queued for good, and with it the link or pool it holds: run it here, on the joining thread.
// Every handler of the pool tolerates running after the pool finished.
void io_runner::run_stragglers()
{
    ioc_.restart();
    while (ioc_.poll() > 0)
        ioc_.restart();
}

void io_runner::join_threads()
{
    for (auto& t : threads_) {
        if (!t.joinable())
            continue;
        if (t.get_id() == std::this_thread::get_id())
            t.detach(); // the last reference dropped on an io thread: it is about to exit
        else
            t.join();
    }
}

} // namespace tether::detail
