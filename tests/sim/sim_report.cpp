// The simulation's settings, its scripted hour of faults, and its printed summary.

#include "fleet_sim.hpp"
#include "test_env.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

namespace tether::sim {
namespace {

std::string failures(const std::array<std::uint64_t, errc_slots>& by_errc)
{
    std::string s;
    for (std::size_t e = 1; e < errc_slots; ++e)
        if (by_errc[e])
            s += std::string(s.empty() ? "" : ", ") +
                 std::string(tether::test::errc_name(static_cast<int>(e))) + " " +
                 std::to_string(by_errc[e]);
    return s.empty() ? "none" : s;
}

std::string ms(const dist_stats& d)
{
    if (d.n == 0)
        return "n=0";
    char buf[128];
    std::snprintf(buf, sizeof buf, "n=%llu min %.1f / median %.1f / max %.1f ms",
                  static_cast<unsigned long long>(d.n), static_cast<double>(d.min_us) / 1e3,
                  static_cast<double>(d.p50_us) / 1e3, static_cast<double>(d.max_us) / 1e3);
    return buf;
}

template <class C> std::string list(const C& values)
{
    std::string s = "[";
    for (const auto v : values)
        s += (s.size() > 1 ? " " : "") + std::to_string(v);
    return s + "]";
}

// The first moment every backend was down: retries while down, then the refill.
void print_all_down(const fleet_config& c, const fleet_results& r)
{
    std::printf("  all backends down: connect starts per 250 ms from then %s\n",
                list(r.all_down_connects).c_str());
    std::vector<std::int64_t> first(r.all_down_first_connect_ms.begin(),
                                    r.all_down_first_connect_ms.begin() +
                                        static_cast<long>(std::min<std::size_t>(c.backends, 16)));
    std::printf("    first retry per backend (ms after all went down) %s\n", list(first).c_str());
    std::printf("    refill to min_connections %.1f ms after the first came back; links per "
                "backend 10 s later %s\n",
                static_cast<double>(r.all_down_refill_us) / 1e3,
                list(r.links_after_all_down).c_str());
}

} // namespace

const char* to_string(fault_kind k) noexcept
{
    static const char* const names[] = {"refused", "hung", "reset", "goaway", "restart", "slow"};
    return names[static_cast<std::size_t>(k)];
}

sansio::pool_limits fleet_config::default_limits()
{
    sansio::pool_limits l;
    l.min_connections = 1000;
    l.max_connections = 1000;
    l.max_concurrent_connects = 64;
    l.max_waiters = 1024;
    l.acquire_timeout = 2s;
    l.max_lifetime = 30min;
    l.idle_timeout = 10min;
    l.lease_warn_threshold = 1min;
    l.backoff = {200ms, 1.6, 30'000ms, 0.2};
    return l;
}

std::vector<fault> default_faults(sim_duration duration, std::size_t backends)
{
    struct row {
        fault_kind kind;
        std::size_t backend;
        double start_s, length_s; ///< in the scripted hour
    };
    using fk = fault_kind;
    std::vector<row> rows = {
        {fk::refused, 0, 120, 60},   {fk::hung, 1, 300, 40},     {fk::reset, 2, 420, 1},
        {fk::goaway, 3, 600, 30},    {fk::restart, 4, 780, 20},  {fk::slow, 5, 900, 120},
        {fk::hung, 6, 960, 30},      {fk::refused, 7, 1000, 90}, // inside slow 5, over hung 6
        {fk::goaway, 8, 1200, 10},   {fk::reset, 9, 1205, 1},    // reset inside the goaway
        {fk::hung, 2, 1500, 60},     {fk::restart, 3, 1520, 10}, {fk::slow, 0, 1510, 90},
        {fk::refused, 9, 1800, 300}, // long enough for the backoff to reach its cap
        {fk::hung, 4, 2400, 30},     {fk::hung, 5, 2405, 30}, // two hung at once
    };
    // Half the fleet says goaway together: hundreds of replacements through the connect cap.
    for (std::size_t b = 0; b < backends / 2; ++b)
        rows.push_back({fk::goaway, b, 2700, 20});
    // Last, since the refill lands on the first backend back (see the summary): a partition,
    // every backend restarts at once and refuses for 3 s, all of them down.
    for (std::size_t b = 0; b < backends; ++b)
        rows.push_back({fk::restart, b, 3000, 3});
    const double scale = std::chrono::duration<double>(duration) / std::chrono::hours(1);
    const double max_length_s = std::chrono::duration<double>(duration).count() / 12;
    std::vector<fault> faults;
    for (const row& r : rows) {
        if (r.backend >= backends)
            continue;
        const auto start = std::chrono::duration<double>(r.start_s * scale);
        const auto length = std::chrono::duration<double>(std::min(r.length_s, max_length_s));
        faults.push_back({r.kind, r.backend, std::chrono::duration_cast<sim_duration>(start),
                          std::chrono::duration_cast<sim_duration>(start + length)});
    }
    return faults;
}

dist_stats summarize(std::vector<sim_duration> samples)
{
    dist_stats d;
    d.n = samples.size();
    if (samples.empty())
        return d;
    std::sort(samples.begin(), samples.end());
    const auto us = [](sim_duration x) {
        return std::chrono::duration_cast<std::chrono::microseconds>(x).count();
    };
    d.min_us = us(samples.front());
    d.p50_us = us(samples[samples.size() / 2]);
    d.max_us = us(samples.back());
    return d;
}

void print_summary(const fleet_config& c, const fleet_summary& s)
{
    const fleet_results& r = s.results;
    std::printf("fleet sim: seed %llu, %.1f virtual min in %.2f s wall (%llu events), %zu "
                "backends, links min %zu max %zu, %.0f requests/s\n",
                static_cast<unsigned long long>(r.seed), static_cast<double>(r.virtual_ms) / 60e3,
                s.wall_seconds, static_cast<unsigned long long>(r.events), c.backends,
                c.limits.min_connections, c.limits.max_connections, c.requests_per_second);
    std::printf(
        "  requests %llu: served %llu (%.3f %%), %llu acquired at once, %llu queued\n",
        static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.served),
        r.requests ? 100.0 * static_cast<double>(r.served) / static_cast<double>(r.requests) : 0.0,
        static_cast<unsigned long long>(r.acquired_at_once),
        static_cast<unsigned long long>(r.queued));
    std::printf("  acquire failed: %s\n  request failed: %s\n", failures(r.acquire_failed).c_str(),
                failures(r.request_failed).c_str());
    std::printf(
        "  links: %llu connects, %llu proven, %llu connect failures, %llu backoffs, "
        "%llu goaways, %llu found dead, %llu lost, %llu retired, %llu long leases\n",
        static_cast<unsigned long long>(r.connects), static_cast<unsigned long long>(r.proven),
        static_cast<unsigned long long>(r.connect_failures),
        static_cast<unsigned long long>(r.backoffs), static_cast<unsigned long long>(r.goaways),
        static_cast<unsigned long long>(r.dead_links),
        static_cast<unsigned long long>(r.links_lost), static_cast<unsigned long long>(r.retired),
        static_cast<unsigned long long>(r.long_leases));
    std::printf("  fault start -> established link closed:\n");
    for (std::size_t k = 0; k < fault_kinds; ++k)
        if (r.closed_after[k].n)
            std::printf("    %-8s %s\n", to_string(static_cast<fault_kind>(k)),
                        ms(r.closed_after[k]).c_str());
    std::printf("  recovery to min_connections proven after a quiet fault end: %s, unmet %llu\n",
                ms(r.recovery).c_str(), static_cast<unsigned long long>(r.recovery_probes_unmet));
    std::printf("  first backoff delays (200 ms +-20 %%): %s\n", ms(r.first_backoff).c_str());
    std::printf("  backend back -> first connect to it (only when a link is wanted): %s\n",
                ms(r.first_connect_after_up).c_str());
    if (r.all_down_refill_us >= 0)
        print_all_down(c, r);
    std::printf("  links per backend at the end %s\n", list(r.links_at_end).c_str());
    std::printf("  checks: %llu cheap (every core call), %llu full; violations %llu\n",
                static_cast<unsigned long long>(r.cheap_checks),
                static_cast<unsigned long long>(r.full_checks),
                static_cast<unsigned long long>(r.violations));
    for (const auto& v : r.first_violations)
        std::printf("    %s\n", v.c_str());
}

} // namespace tether::sim
