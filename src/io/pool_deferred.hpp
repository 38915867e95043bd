#pragma once

// pool_impl::deferred: the work an event of the pool core asked for, gathered under the pool
// lock and performed when the object is destroyed, after the lock is released (declare it
// before the lock guard). So no handler, observer or link code ever runs under the pool lock,
// and a waiter's anchor (possibly the pool's last handle, whose destructor shuts the pool
// down and takes the lock) is dropped only after it.

#include "io/link.hpp"
#include "io/pool_impl.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tether::detail {

class pool_impl::deferred {
public:
    explicit deferred(pool_impl& pool) noexcept : pool_(pool) {}
    deferred(const deferred&) = delete;
    deferred& operator=(const deferred&) = delete;
    ~deferred()
    {
        if (work_)
            perform(); // not the common case: a lease taken or returned needs nothing here
    }

    void grant(waiting_acquire w, std::shared_ptr<link> l)
    {
        work().grants.push_back({std::move(w), std::move(l)});
    }
    void complete(waiting_acquire w, boost::system::error_code ec)
    {
        work().failures.push_back({std::move(w), ec});
    }
    void start(std::shared_ptr<link> l) { work(true).starts.push_back(std::move(l)); }
    void drain(std::shared_ptr<link> l, errc reason)
    {
        work(true).drains.push_back({std::move(l), reason});
    }
    void observe(std::function<void(pool_observer&)> call)
    {
        work().observations.push_back(std::move(call));
    }
    /// A message for the pool's log, formatted after the lock by `make_text` (dropped at once
    /// when `kind` is below the pool's level).
    void log(log_kind kind, std::size_t endpoint, std::function<std::string()> make_text)
    {
        if (pool_.log_.enabled(kind))
            work().logs.push_back({kind, endpoint, std::move(make_text)});
    }
    void finished() { work().finished = true; }
    /// A reference to let go of after the lock (never the last one of a link under it).
    void drop(std::shared_ptr<link> l)
    {
        if (l)
            work().dropped.push_back(std::move(l));
    }

private:
    struct granted {
        waiting_acquire w;
        std::shared_ptr<link> l;
    };
    struct failed {
        waiting_acquire w;
        boost::system::error_code ec;
    };
    struct drained {
        std::shared_ptr<link> l;
        errc reason;
    };
    struct message {
        log_kind kind;
        std::size_t endpoint;
        std::function<std::string()> make_text;
    };
    // Allocated on first use, so the fast paths (an idle link leased or returned) construct
    // and destroy one pointer.
    struct pending {
        std::vector<granted> grants;
        std::vector<failed> failures;
        std::vector<std::shared_ptr<link>> starts;
        std::vector<drained> drains;
        std::vector<std::function<void(pool_observer&)>> observations;
        std::vector<message> logs;
        std::vector<std::shared_ptr<link>> dropped;
        // The link may close and the pool finish before a start or drain is queued: the io
        // threads must not run out of work (and exit) until it is.
        std::optional<boost::asio::any_io_executor> keep_running; // tracked
        bool finished = false;
    };
    pending& work(bool keep_running = false)
    {
        if (!work_)
            work_ = std::make_unique<pending>();
        if (keep_running && !work_->keep_running)
            work_->keep_running.emplace(pool_.runner_.tracked_executor());
        return *work_;
    }
    void perform();

    pool_impl& pool_;
    std::unique_ptr<pending> work_;
};

} // namespace tether::detail
