#include "io/io_runner.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>

#include <exception>

namespace tether::detail {

namespace asio = boost::asio;

io_runner::io_runner(unsigned threads)
    : own_(std::in_place, static_cast<int>(threads)), executor_(own_->get_executor()),
      scheduler_(&boost::asio::use_service<boost::asio::detail::scheduler>(*own_)),
      thread_count_(threads)
{
    work_.emplace(tracked_executor());
}

io_runner::io_runner(asio::any_io_executor external) : executor_(std::move(external))
{
    // io_context and thread_pool run on Asio's scheduler, which knows the threads running it:
    // blocking calls from them are refused (would_block_io_thread) and shutdown() there does
    // not wait. (has_service first: use_service would add a scheduler to another context.)
    asio::execution_context& context = asio::query(executor_, asio::execution::context);
    if (asio::has_service<asio::detail::scheduler>(context))
        scheduler_ = &asio::use_service<asio::detail::scheduler>(context);
}

io_runner::~io_runner()
{
    join_threads();
}

asio::any_io_executor io_runner::tracked_executor() const
{
    return asio::prefer(executor_, asio::execution::outstanding_work.tracked);
}

void io_runner::start(const std::shared_ptr<void>& keep_alive, escape_reporter report)
{
    for (unsigned i = 0; i < thread_count_; ++i) {
        threads_.emplace_back([this, keep_alive, report] {
            for (;;) {
                try {
                    own_->run();
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

void io_runner::release_work()
{
    {
        std::lock_guard lock(mutex_);
        drained_ = true;
        work_.reset();
    }
    if (!own_)
        done_cv_.notify_all();
}

void io_runner::shutdown(const std::function<void()>& begin,
                         std::chrono::milliseconds external_wait_limit)
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
        return; // the pool drains once this handler returns
    if (!own_) {
        // Nothing to join: wait for the drain the application's executor runs, bounded in
        // case it does not run it (stopped, or run by nobody any more).
        // Checked in slices: an io_context stopped meanwhile tells nobody.
        const auto give_up = std::chrono::steady_clock::now() + external_wait_limit;
        std::unique_lock lock(mutex_);
        while (!drained_ && !stopped() && std::chrono::steady_clock::now() < give_up)
            done_cv_.wait_for(lock, std::chrono::milliseconds(20));
        return;
    }
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
    own_->restart();
    while (own_->poll() > 0)
        own_->restart();
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
