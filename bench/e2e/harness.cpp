#include "harness.hpp"

#include <cmath>
#include <sys/resource.h>

namespace tether_bench {

namespace {

double to_us(const timeval& t)
{
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
}

// The q-quantile (nearest rank) of `ns`, in µs; reorders `ns`.
double quantile_us(std::vector<std::uint64_t>& ns, double q)
{
    if (ns.empty())
        return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ns.size())));
    const auto at =
        ns.begin() + static_cast<std::ptrdiff_t>(std::clamp<std::size_t>(rank, 1, ns.size()) - 1);
    std::nth_element(ns.begin(), at, ns.end());
    return static_cast<double>(*at) / 1000.0;
}

} // namespace

double process_cpu_us()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

void sleep_seconds(double s)
{
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

run_result summarize(const std::vector<const latency_log*>& logs, std::uint64_t errors,
                     bench_clock::duration window, double cpu_us)
{
    std::vector<std::uint64_t> all;
    for (const latency_log* log : logs)
        all.insert(all.end(), log->data(), log->data() + log->size());
    run_result r;
    r.requests = all.size();
    r.errors = errors;
    r.seconds = std::chrono::duration<double>(window).count();
    r.rps = r.seconds > 0 ? static_cast<double>(r.requests) / r.seconds : 0;
    r.cpu_us_per_req = r.requests > 0 ? cpu_us / static_cast<double>(r.requests) : 0;
    r.p50_us = quantile_us(all, 0.50);
    r.p99_us = quantile_us(all, 0.99);
    r.p999_us = quantile_us(all, 0.999);
    return r;
}

} // namespace tether_bench
