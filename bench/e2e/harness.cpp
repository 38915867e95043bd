#include "harness.hpp"

#include <cmath>
#include <ctime>
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

double per_request(double total, std::uint64_t requests)
{
    return requests > 0 ? total / static_cast<double>(requests) : 0;
}

double process_cpu_us()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

double process_cpu_us(pid_t pid)
{
    // The process's CPU-time clock: utime + stime as /proc/<pid>/stat has them, without
    // rounding to clock ticks.
    clockid_t clock{};
    timespec t{};
    if (pid <= 0 || ::clock_getcpuclockid(pid, &clock) != 0 || ::clock_gettime(clock, &t) != 0)
        return 0;
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

cpu_usage sample_cpu(pid_t server_pid)
{
    return {process_cpu_us(), process_cpu_us(server_pid)};
}

cpu_usage operator-(const cpu_usage& end, const cpu_usage& start)
{
    return {end.client_us - start.client_us, end.server_us - start.server_us};
}

void sleep_seconds(double s)
{
    std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

run_result summarize(const std::vector<const latency_log*>& logs, std::uint64_t errors,
                     bench_clock::duration window, const cpu_usage& cpu)
{
    std::vector<std::uint64_t> all;
    for (const latency_log* log : logs)
        all.insert(all.end(), log->data(), log->data() + log->size());
    run_result r;
    r.requests = all.size();
    r.errors = errors;
    r.seconds = std::chrono::duration<double>(window).count();
    r.rps = r.seconds > 0 ? static_cast<double>(r.requests) / r.seconds : 0;
    r.cpu_us_per_req = per_request(cpu.client_us, r.requests);
    r.server_cpu_us_per_req = per_request(cpu.server_us, r.requests);
    r.p50_us = quantile_us(all, 0.50);
    r.p99_us = quantile_us(all, 0.99);
    r.p999_us = quantile_us(all, 0.999);
    return r;
}

} // namespace tether_bench
