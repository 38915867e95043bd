#pragma once

// The soak's books: every operation started is issued a ticket, and its completion is recorded
// against that ticket exactly once. What is still open at the end was lost; a second completion
// of a ticket is a double completion. Successful "timed" operations (plain echo requests) feed
// the latency percentiles. Thread-safe; memory is bounded by the operations in flight.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace soak {

using clock = std::chrono::steady_clock;

enum class op_kind {
    acquire,             ///< blocking pool.acquire
    async_acquire,       ///< pool.async_acquire, often cancelled
    lease_request,       ///< blocking lease.request
    lease_async_request, ///< pipelined lease.async_request, some cancelled at a short deadline
    pool_request,        ///< blocking one-shot pool.request
    pool_async_request,  ///< one-shot pool.async_request
    chaos_request,       ///< a fault injected through a request ($test reset/close/hang/goaway)
};
inline constexpr std::size_t op_kind_count = 7;
std::string_view name_of(op_kind kind);

class ledger {
public:
    struct ticket {
        std::uint64_t id = 0;
        clock::time_point issued;
    };

    /// Opens a ticket for an operation about to start. `timed`: its latency counts when it
    /// succeeds.
    ticket issue(op_kind kind, bool timed);

    /// Records the completion of `t`: `outcome` is "ok" or a failure name (see outcome.hpp).
    void complete(const ticket& t, std::string_view outcome);

    struct kind_totals {
        std::uint64_t issued = 0;
        std::uint64_t ok = 0;
        std::uint64_t failed = 0;
    };
    struct totals {
        std::uint64_t issued = 0;
        std::uint64_t completed = 0; ///< first completions only
        std::uint64_t ok = 0;
        std::uint64_t failed = 0;
        std::uint64_t outstanding = 0;
        std::uint64_t double_completions = 0;
        clock::time_point last_completion;
        std::map<std::string, std::uint64_t, std::less<>> failures; ///< by outcome name
        std::array<kind_totals, op_kind_count> by_kind{};
    };
    totals snapshot() const;

    struct open_op {
        std::uint64_t id = 0;
        op_kind kind = op_kind::acquire;
        clock::duration age{};
    };
    /// The oldest operations still open, oldest first (at most `n`).
    std::vector<open_op> oldest(std::size_t n) const;

    /// Latencies in ms of the timed successes since the previous call.
    std::vector<double> take_latencies_ms();

    /// Descriptions of the first anomalies (double completions, wrong replies).
    std::vector<std::string> anomalies() const;

private:
    struct open_entry {
        op_kind kind;
        bool timed;
        clock::time_point issued;
    };
    void note_anomaly_locked(std::string text);

    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, open_entry> open_;
    totals totals_;
    std::vector<double> latencies_ms_;
    std::vector<std::string> anomalies_;
};

} // namespace soak
