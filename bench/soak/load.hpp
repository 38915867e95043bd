#pragma once

// The caller threads: each loops over a random mix of operations until told to stop, and
// accounts for every one in the ledger.
//
//   blocking lease       acquire, 1-3 blocking requests, then release, discard or drop
//   blocking one-shot    pool.request
//   pipelined lease      acquire, 2-8 async_requests in flight at once (some cancelled at a
//                        20-300 ms deadline through a cancellation slot), early release or not
//   async one-shots      1-4 pool.async_request at once
//   cancelled acquire    async_acquire, half of them cancelled 0-3 ms later
//
// Bodies: 90 % plain echoes with a 0-512 byte pad (checked to come back unchanged; the round
// trip of those sent on a lease feeds the p99), 4 % sleeps of 10-1300 ms (the longest exceed
// the 1 s request timeout), 3 % server errors, 2 % notifies, 1 % goaways. A caller that met
// no_endpoint_available (the server is down) pauses 5-20 ms, as an application would. Each caller
// waits for its own asynchronous operations (up to a limit) before starting the next, which bounds
// the work in flight.

#include "ledger.hpp"

#include <tether/pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace soak {

class load {
public:
    load(tether::pool pool, ledger& book, std::uint64_t seed, unsigned callers);
    ~load();
    load(const load&) = delete;
    load& operator=(const load&) = delete;

    /// Asks the callers to stop after their current operation.
    void request_stop() { stop_.store(true); }

    /// Waits up to `limit` for every caller to return and joins them; false if one is stuck
    /// (its thread is then left alone).
    bool join(std::chrono::milliseconds limit);

    /// Exceptions that escaped a caller (each ends that caller): a verdict failure.
    unsigned caller_errors() const { return caller_errors_.load(); }

private:
    void run_caller(unsigned index, std::uint64_t seed);

    tether::pool pool_;
    ledger& book_;
    std::atomic<bool> stop_{false};
    std::atomic<unsigned> caller_errors_{0};
    std::mutex mutex_;
    std::condition_variable finished_cv_;
    unsigned running_ = 0;
    std::vector<std::thread> threads_;
};

} // namespace soak
