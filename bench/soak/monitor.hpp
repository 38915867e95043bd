#pragma once

// The watcher thread: every 5 s (and once more at the end) prints a line of figures, and
// between lines checks for a hang and for growth of descriptors and threads during the run.
//
//   time requests ok failed inflight req/s p99ms rssMiB fds thr faults
//        failures: <outcome>=<count> ...   (cumulative)
//
// The descriptor ceiling applies to what the proxy's connection pairs do not hold (a pair whose
// upstream is a suspended server lingers until it resumes; that is the fixture, not the pool).
// A hang is no completion for 10 s while operations are open, or one operation open for more
// than 30 s (the slowest legitimate one, a one-shot retried three times, needs about 6 s).
// RSS growth is judged from the end of the warm-up (the first 20 % of the run) on.

#include "ledger.hpp"
#include "process_stats.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace soak {

struct monitor_limits {
    std::chrono::milliseconds warmup{0}; ///< RSS growth is measured after this
    int fd_ceiling = 0;                  ///< most descriptors outside proxy pairs, during the run
    int thread_ceiling = 0;              ///< most threads allowed during the run
};

class monitor {
public:
    /// `faults` returns the number of faults injected so far, `proxy_fds` the descriptors held
    /// by the proxy's connection pairs (both called from the monitor thread).
    monitor(ledger& book, monitor_limits limits, std::function<unsigned()> faults,
            std::function<int()> proxy_fds);
    ~monitor();
    monitor(const monitor&) = delete;
    monitor& operator=(const monitor&) = delete;

    /// Prints the last line and stops the thread.
    void stop();

    /// Empty while all is well, else why the run must fail (the first reason found).
    std::string failure() const;

    struct growth {
        long rss_at_warmup_kib = -1; ///< -1: the run ended inside the warm-up
        long rss_max_after_kib = -1;
        int fds_max = 0;     ///< all descriptors
        int own_fds_max = 0; ///< outside the proxy's pairs
        int threads_max = 0;
    };
    growth figures() const;

    static void print_header();

private:
    void run();
    void report(clock::time_point now);
    void check(clock::time_point now, const process_sample& s);
    void fail(std::string why);

    ledger& book_;
    const monitor_limits limits_;
    std::function<unsigned()> faults_;
    std::function<int()> proxy_fds_;
    const clock::time_point start_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::string failure_;
    growth growth_;

    // monitor thread only
    clock::time_point last_report_;
    std::uint64_t issued_at_last_report_ = 0;

    std::thread thread_;
};

} // namespace soak
