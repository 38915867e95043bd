#pragma once

// A distribution of durations, as the pool reports them (pool_stats, metrics_text()).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace tether {

/// Durations counted in fixed buckets, Prometheus style: how many, their sum, and how many fell
/// at or under each bound. The bounds are the same for every histogram: 1, 2, 5 steps from
/// 1 µs to 50 s, then 60 s and +Inf. A value type: pool_stats holds snapshots.
class histogram {
public:
    /// Buckets, the last one (+Inf) included.
    static constexpr std::size_t bucket_count = 26;

    /// Upper bounds in seconds, ascending, inclusive (Prometheus `le`); the last is +Inf.
    static const std::array<double, bucket_count>& bounds() noexcept;
    /// The bucket a duration of `nanoseconds` falls in.
    static std::size_t bucket_of(std::int64_t nanoseconds) noexcept;

    /// Observations recorded.
    std::uint64_t count() const noexcept { return count_; }
    /// Their sum, in seconds.
    double sum() const noexcept { return static_cast<double>(sum_ns_) * 1e-9; }
    /// Observations per bucket, not cumulative: bucket i counts bounds()[i-1] < v <= bounds()[i].
    const std::array<std::uint64_t, bucket_count>& counts() const noexcept { return counts_; }

    /// The q-quantile (q in [0, 1]) in seconds, interpolated linearly inside its bucket
    /// (so within a factor 2.5 of the truth); 0 when empty. Values in the +Inf bucket read as
    /// 60 s.
    double quantile(double q) const noexcept;

    /// Adds one observation (negative durations count as 0).
    void record(std::chrono::nanoseconds d) noexcept;
    /// Adds `n` observations in bucket `bucket` whose sum is `sum_ns` (snapshots of shards).
    void add(std::size_t bucket, std::uint64_t n, std::int64_t sum_ns) noexcept;
    histogram& operator+=(const histogram& other) noexcept;

    friend bool operator==(const histogram&, const histogram&) = default;

private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::int64_t sum_ns_ = 0;
};

} // namespace tether
