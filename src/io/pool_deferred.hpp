#pragma once

// pool_impl::deferred: the work an event of the pool core asked for, gathered under the pool
// lock and performed when the object is destroyed, after the lock is released (declare it
// before the lock guard). So no handler, observer or link code ever runs under the pool lock,
// and a waiter's anchor (possibly the pool's last handle, whose destructor shuts the pool
// down and takes the lock) is dropped only after it.

#include "io/link.hpp"
#include "io/pool_impl.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <optional>
#include <vector>

namespace tether::detail {

class pool_impl::deferred {
public:
    explicit deferred(pool_impl& pool) noexcept : pool_(pool) {}
    deferred(const deferred&) = delete;
    deferred& operator=(const deferred&) = delete;
    ~deferred();

    void grant(waiting_acquire w, std::shared_ptr<link> l)
    {
        grants_.push_back({std::move(w), std::move(l)});
    }
    void complete(waiting_acquire w, boost::system::error_code ec)
    {
        failures_.push_back({std::move(w), ec});
    }
    void start(std::shared_ptr<link> l)
    {
        keep_running();
        starts_.push_back(std::move(l));
    }
    void drain(std::shared_ptr<link> l, errc reason)
    {
        keep_running();
        drains_.push_back({std::move(l), reason});
    }
    void observe(std::function<void(pool_observer&)> call)
    {
        observations_.push_back(std::move(call));
    }
    void finished() { finished_ = true; }
    /// A reference to let go of after the lock (never the last one of a link under it).
    void drop(std::shared_ptr<link> l)
    {
        if (l)
            dropped_.push_back(std::move(l));
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
    // The link may close and the pool finish before a start or drain below is queued: the io
    // threads must not run out of work (and exit) until it is.
    void keep_running()
    {
        if (!work_)
            work_.emplace(pool_.runner_.context().get_executor());
    }

    pool_impl& pool_;
    std::vector<granted> grants_;
    std::vector<failed> failures_;
    std::vector<std::shared_ptr<link>> starts_;
    std::vector<drained> drains_;
    std::vector<std::function<void(pool_observer&)>> observations_;
    std::vector<std::shared_ptr<link>> dropped_;
    std::optional<boost::asio::executor_work_guard<io_runner::executor_type>> work_;
    bool finished_ = false;
};

} // namespace tether::detail
