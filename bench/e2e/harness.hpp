#pragma once

// The measuring loops shared by both in-process implementations, so tether and the raw baseline
// are timed by exactly the same code (the Netty peer, another process, mirrors them). Each run: a
// warm-up (unrecorded), then `seconds` of recorded requests, then a stop that lets requests in
// flight finish (counted, inside the window). The CPU time of this process and of the server is
// sampled where the window starts and ends.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace tether_bench {

using bench_clock = std::chrono::steady_clock;

struct run_timing {
    double warmup_seconds = 0.3;
    double seconds = 2;
};

struct run_result {
    std::uint64_t requests = 0; ///< completed successfully in the measured window
    std::uint64_t errors = 0;
    double seconds = 0; ///< measured window, until the last request finished
    double rps = 0;
    double p50_us = 0, p99_us = 0, p999_us = 0;
    double cpu_us_per_req = 0;        ///< process user+sys CPU over the window / requests
    double server_cpu_us_per_req = 0; ///< the server's user+sys CPU over the window / requests
};

/// Per-request latencies in ns, in memory allocated and touched before the run (growing past
/// the estimate is allowed but not expected).
class latency_log {
public:
    explicit latency_log(std::size_t capacity) : ns_(capacity) {}
    void add(bench_clock::duration d)
    {
        const auto ns = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
        if (count_ < ns_.size())
            ns_[count_] = ns;
        else
            ns_.push_back(ns);
        ++count_;
    }
    std::size_t size() const noexcept { return count_; }
    const std::uint64_t* data() const noexcept { return ns_.data(); }

private:
    std::vector<std::uint64_t> ns_;
    std::size_t count_ = 0;
};

/// User + system CPU time of the whole process so far, in µs.
double process_cpu_us();

/// The same for process `pid` (the reference server: a child of ours), at ns resolution; 0 when
/// pid <= 0 or its clock cannot be read.
double process_cpu_us(pid_t pid);

/// CPU time of this process (the client) and of the server: samples, or their difference.
struct cpu_usage {
    double client_us = 0;
    double server_us = 0;
};

/// Both clocks now.
cpu_usage sample_cpu(pid_t server_pid);
cpu_usage operator-(const cpu_usage& end, const cpu_usage& start);

/// total / requests, 0 without requests.
double per_request(double total, std::uint64_t requests);

/// Fills requests, rates, percentiles and CPU per request from the merged logs.
run_result summarize(const std::vector<const latency_log*>& logs, std::uint64_t errors,
                     bench_clock::duration window, const cpu_usage& cpu);

void sleep_seconds(double s);

namespace detail {
enum phase : int { warming = 0, measuring = 1, stopping = 2 };
} // namespace detail

/// `callers` threads, each looping `request(caller_index)` (blocking; throws on failure).
/// `server_pid`: the server whose CPU is measured too (-1: none).
template <class Request>
run_result closed_loop(std::size_t callers, const run_timing& timing, pid_t server_pid,
                       Request request)
{
    // Sized for ~200k requests/s over the run, spread across callers.
    const auto capacity =
        static_cast<std::size_t>(timing.seconds * 200'000 / static_cast<double>(callers)) + 1024;
    std::vector<latency_log> logs(callers, latency_log(capacity));
    std::vector<std::uint64_t> errors(callers, 0);
    std::atomic<int> phase{detail::warming};
    std::vector<std::thread> threads;
    threads.reserve(callers);
    for (std::size_t i = 0; i < callers; ++i)
        threads.emplace_back([&, i] {
            latency_log& log = logs[i];
            std::uint64_t failed = 0;
            for (;;) {
                const int p = phase.load(std::memory_order_acquire);
                if (p == detail::stopping)
                    break;
                const auto t0 = bench_clock::now();
                bool ok = true;
                try {
                    request(i);
                } catch (const std::exception&) {
                    ok = false;
                }
                const auto t1 = bench_clock::now();
                if (p == detail::measuring) {
                    if (ok)
                        log.add(t1 - t0);
                    else
                        ++failed;
                }
                if (!ok) // a broken server fails fast: do not spin on it
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            errors[i] = failed;
        });
    sleep_seconds(timing.warmup_seconds);
    const cpu_usage cpu0 = sample_cpu(server_pid);
    const auto t0 = bench_clock::now();
    phase.store(detail::measuring, std::memory_order_release);
    sleep_seconds(timing.seconds);
    phase.store(detail::stopping, std::memory_order_release);
    for (auto& t : threads)
        t.join();
    const auto window = bench_clock::now() - t0;
    const cpu_usage cpu = sample_cpu(server_pid) - cpu0;

    std::vector<const latency_log*> merged;
    std::uint64_t failed = 0;
    for (std::size_t i = 0; i < callers; ++i) {
        merged.push_back(&logs[i]);
        failed += errors[i];
    }
    return summarize(merged, failed, window, cpu);
}

namespace detail {

struct pipeline_state {
    struct slot {
        bench_clock::time_point sent;
        bool measured = false;
    };
    explicit pipeline_state(std::size_t depth, std::size_t capacity) : slots(depth), log(capacity)
    {
    }

    std::mutex
        m; // serializes completions: the lease (or connection) is used by one thread at a time
    std::condition_variable cv;
    std::vector<slot> slots;
    latency_log log;
    std::uint64_t errors = 0;
    std::size_t in_flight = 0;
    std::atomic<int> phase{warming};
};

// The completion of one slot's request: records it, then sends the slot's next request.
template <class Issue> struct slot_done {
    pipeline_state* state;
    Issue* issue;
    std::size_t index;

    void operator()(bool ok) const
    {
        const auto now = bench_clock::now();
        std::lock_guard lock(state->m);
        auto& s = state->slots[index];
        if (s.measured) {
            if (ok)
                state->log.add(now - s.sent);
            else
                ++state->errors;
        }
        const int p = state->phase.load(std::memory_order_acquire);
        if (!ok || p == stopping) { // a failed slot stays idle: the connection is probably gone
            if (--state->in_flight == 0)
                state->cv.notify_all();
            return;
        }
        send_locked(p);
    }

    void send_locked(int p) const
    {
        auto& s = state->slots[index];
        s.sent = bench_clock::now();
        s.measured = p == measuring;
        (*issue)(*this);
    }
};

} // namespace detail

/// `depth` requests kept in flight: `issue(done)` sends one request and arranges for
/// `done(bool ok)` to be called on completion (never inside `issue`). If requests are still in
/// flight `drain_timeout` after the stop, `abort()` must make them all complete (with errors).
/// `server_pid`: the server whose CPU is measured too (-1: none).
template <class Issue, class Abort>
run_result pipelined(std::size_t depth, const run_timing& timing, pid_t server_pid, Issue issue,
                     Abort abort, std::chrono::seconds drain_timeout = std::chrono::seconds(15))
{
    const auto capacity = static_cast<std::size_t>(timing.seconds * 1'000'000) + 1024;
    detail::pipeline_state state(depth, capacity);
    {
        std::lock_guard lock(state.m);
        state.in_flight = depth;
        for (std::size_t i = 0; i < depth; ++i)
            detail::slot_done<Issue>{&state, &issue, i}.send_locked(detail::warming);
    }
    sleep_seconds(timing.warmup_seconds);
    const cpu_usage cpu0 = sample_cpu(server_pid);
    const auto t0 = bench_clock::now();
    state.phase.store(detail::measuring, std::memory_order_release);
    sleep_seconds(timing.seconds);
    state.phase.store(detail::stopping, std::memory_order_release);
    {
        std::unique_lock lock(state.m);
        if (!state.cv.wait_for(lock, drain_timeout, [&] { return state.in_flight == 0; })) {
            lock.unlock();
            abort();
            lock.lock();
            state.cv.wait(lock, [&] { return state.in_flight == 0; });
        }
    }
    const auto window = bench_clock::now() - t0;
    const cpu_usage cpu = sample_cpu(server_pid) - cpu0;
    return summarize({&state.log}, state.errors, window, cpu);
}

} // namespace tether_bench
