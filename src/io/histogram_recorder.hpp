#pragma once

// Records durations into a histogram from many threads at once, on the request path: no lock,
// no allocation. Counts live in a few shards, each on cache lines of its own; a thread always
// records into the same shard (picked once per thread, round robin), so two io threads rarely
// touch the same line. snapshot() adds the shards up (relaxed reads: a snapshot taken while
// others record may miss their last few observations, never count one twice).

#include <tether/histogram.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tether::detail {

class histogram_recorder {
public:
    void record(std::chrono::nanoseconds d) noexcept
    {
        const std::int64_t ns = d.count() > 0 ? d.count() : 0;
        shard& s = shards_[shard_index()];
        s.counts[histogram::bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
        s.sum_ns.fetch_add(ns, std::memory_order_relaxed);
    }

    histogram snapshot() const noexcept
    {
        histogram h;
        for (const shard& s : shards_) {
            // The sum goes with the first bucket: add() only needs the totals to agree.
            std::int64_t sum = s.sum_ns.load(std::memory_order_relaxed);
            for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
                const std::uint64_t n = s.counts[i].load(std::memory_order_relaxed);
                if (n != 0 || sum != 0) {
                    h.add(i, n, sum);
                    sum = 0;
                }
            }
        }
        return h;
    }

private:
    static constexpr std::size_t shard_count = 4;

    struct alignas(64) shard {
        std::array<std::atomic<std::uint64_t>, histogram::bucket_count> counts{};
        std::atomic<std::int64_t> sum_ns{0};
    };

    static std::size_t shard_index() noexcept
    {
        static std::atomic<std::size_t> next{0};
        thread_local const std::size_t mine =
            next.fetch_add(1, std::memory_order_relaxed) % shard_count;
        return mine;
    }

    std::array<shard, shard_count> shards_{};
};

} // namespace tether::detail
