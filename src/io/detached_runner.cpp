#include "io/detached_runner.hpp"

#include "io/log.hpp"

#include <boost/asio/dispatch.hpp>

#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace tether::detail {

namespace {

// Never throws: an exception out of drain() would end the process.
void report_escaped(const char* what) noexcept
{
    try {
        log_message(log_severity::error, std::string("exception escaped a handler: ") + what);
    } catch (...) { // no memory for the line
        log_message(log_severity::error, "exception escaped a handler");
    }
}

class detached_runner {
public:
    void post(detached_task task)
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(task));
        if (active_)
            return;
        active_ = true;
        std::thread([this] { drain(); }).detach();
    }

private:
    void drain()
    {
        for (;;) {
            std::optional<detached_task> task; // (Boost 1.81: never move-assign the handler)
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty()) {
                    active_ = false; // the next post starts a new thread
                    return;
                }
                task.emplace(std::move(queue_.front()));
                queue_.pop_front();
            }
            try {
                // To the task's associated executor: inline when it has none.
                boost::asio::dispatch(std::move(*task));
            } catch (const std::exception& e) {
                report_escaped(e.what());
            } catch (...) {
                log_message(log_severity::error, "exception escaped a handler");
            }
        }
    }

    std::mutex mutex_;
    std::deque<detached_task> queue_;
    bool active_ = false;
};

// Never destroyed: a detached thread may still be draining while the process exits.
detached_runner& runner()
{
    static auto* instance = new detached_runner;
    return *instance;
}

} // namespace

void run_detached(detached_task task)
{
    runner().post(std::move(task));
}

} // namespace tether::detail
