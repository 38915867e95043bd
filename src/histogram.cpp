// tether::histogram: the fixed bounds, bucket lookup, quantiles.

#include <tether/histogram.hpp>

#include <algorithm>
#include <limits>

namespace tether {
namespace {

// 1, 2, 5 steps: 1 µs ... 50 s, then 60 s (a round minute: the longest timeouts people set).
constexpr std::array<std::int64_t, histogram::bucket_count - 1> finite_bounds_ns = [] {
    std::array<std::int64_t, histogram::bucket_count - 1> b{};
    std::int64_t decade = 1'000; // 1 µs
    std::size_t i = 0;
    while (i + 3 < b.size()) {
        b[i++] = decade;
        b[i++] = 2 * decade;
        b[i++] = 5 * decade;
        decade *= 10;
    }
    b[i] = 60'000'000'000; // 60 s
    return b;
}();
static_assert(finite_bounds_ns[23] == 50'000'000'000, "1-2-5 steps up to 50 s");

} // namespace

const std::array<double, histogram::bucket_count>& histogram::bounds() noexcept
{
    static const std::array<double, bucket_count> seconds = [] {
        std::array<double, bucket_count> s{};
        // Divided, not multiplied by 1e-9: the double nearest each bound, which prints as
        // le="2e-06" rather than le="2.0000000000000003e-06".
        for (std::size_t i = 0; i < finite_bounds_ns.size(); ++i)
            s[i] = static_cast<double>(finite_bounds_ns[i]) / 1e9;
        s.back() = std::numeric_limits<double>::infinity();
        return s;
    }();
    return seconds;
}

std::size_t histogram::bucket_of(std::int64_t nanoseconds) noexcept
{
    // The first bound >= the value (bounds are inclusive); past the last: +Inf.
    return static_cast<std::size_t>(
        std::lower_bound(finite_bounds_ns.begin(), finite_bounds_ns.end(), nanoseconds) -
        finite_bounds_ns.begin());
}

void histogram::record(std::chrono::nanoseconds d) noexcept
{
    const std::int64_t ns = std::max<std::int64_t>(d.count(), 0);
    add(bucket_of(ns), 1, ns);
}

void histogram::add(std::size_t bucket, std::uint64_t n, std::int64_t sum_ns) noexcept
{
    counts_[std::min(bucket, bucket_count - 1)] += n;
    count_ += n;
    sum_ns_ += sum_ns;
}

histogram& histogram::operator+=(const histogram& other) noexcept
{
    for (std::size_t i = 0; i < bucket_count; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ns_ += other.sum_ns_;
    return *this;
}

double histogram::quantile(double q) const noexcept
{
    if (count_ == 0)
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    // The rank of the wanted observation, 1-based; then the bucket holding it.
    const double rank = std::max(1.0, q * static_cast<double>(count_));
    double below = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        const auto in_bucket = static_cast<double>(counts_[i]);
        if (below + in_bucket >= rank && in_bucket > 0) {
            if (i == bucket_count - 1)
                return bounds()[bucket_count - 2]; // +Inf: the largest finite bound
            const double lower = i == 0 ? 0.0 : bounds()[i - 1];
            const double upper = bounds()[i];
            return lower + (upper - lower) * ((rank - below) / in_bucket);
        }
        below += in_bucket;
    }
    return bounds()[bucket_count - 2];
}

} // namespace tether
