// The pool core and link_fsm against a simulated fleet of 10 backends for an hour of virtual
// time (tests/sim/): scripted faults of every kind, thousands of requests a second, the core's
// invariants checked after every call. TETHER_SIM_SEED replays a seed; TETHER_SIM_MINUTES
// shortens the hour (sanitizer builds).

#include "fleet_sim.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <random>
#include <set>

namespace {

using namespace std::chrono_literals;
using tether::errc;
namespace sim = tether::sim;

sim::fleet_config config(std::uint64_t seed)
{
    sim::fleet_config c;
    c.seed = seed;
    if (const char* m = std::getenv("TETHER_SIM_MINUTES"))
        c.duration = std::chrono::minutes(std::max(5, std::atoi(m)));
    return c;
}

std::uint64_t seed_from_env(std::uint64_t otherwise)
{
    const char* s = std::getenv("TETHER_SIM_SEED");
    return s ? std::strtoull(s, nullptr, 10) : otherwise;
}

template <class Rep, class Period> std::int64_t us(std::chrono::duration<Rep, Period> d)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

std::uint64_t failed(const sim::fleet_results& r)
{
    return std::accumulate(r.acquire_failed.begin(), r.acquire_failed.end(), std::uint64_t{0}) +
           std::accumulate(r.request_failed.begin(), r.request_failed.end(), std::uint64_t{0});
}

void expect_sound(const sim::fleet_results& r)
{
    // Invariants after every core call, every record against its link, every acquire and
    // request completed exactly once, no link handed out while draining, shutdown finished.
    EXPECT_EQ(r.violations, 0u) << (r.first_violations.empty() ? "" : r.first_violations[0]);
    EXPECT_GT(r.cheap_checks, r.events / 2);
    EXPECT_GT(r.full_checks, 0u);
    EXPECT_EQ(r.requests, r.served + failed(r)) << "every request completed once";
    EXPECT_EQ(r.pool_finished, 1u);
    EXPECT_EQ(r.request_failed[static_cast<std::size_t>(errc::connection_draining)], 0u)
        << "a request sent to a draining link";
}

void expect_properties(const sim::fleet_config& c, const sim::fleet_results& r)
{
    const auto& k = r.closed_after;
    const auto idx = [](sim::fault_kind f) { return static_cast<std::size_t>(f); };
    // Served, but for fast failures while every backend was down (the scripted 3 s, and the
    // first retry after it): nothing else costs more than a few requests.
    const auto nea = r.acquire_failed[static_cast<std::size_t>(errc::no_endpoint_available)];
    EXPECT_GE(r.served + nea, r.requests - r.requests / 500) << "99.8 % served";
    EXPECT_LE(static_cast<double>(nea), c.requests_per_second * 6);
    // Hung peers are found by probing within ping_interval + ping_timeout (+ a health tick).
    const auto hung = k[idx(sim::fault_kind::hung)];
    ASSERT_GT(hung.n, 0u);
    EXPECT_LE(hung.max_us, us(c.timing.ping_interval + c.timing.ping_timeout + 250ms));
    EXPECT_GT(hung.max_us, us(c.timing.ping_timeout)) << "found dead without an unanswered ping?";
    EXPECT_EQ(r.dead_links, hung.n);
    // Resets close at once; goaway links close once their owed reply came.
    EXPECT_GT(k[idx(sim::fault_kind::reset)].n, 0u);
    EXPECT_EQ(k[idx(sim::fault_kind::reset)].max_us, 0);
    EXPECT_GT(k[idx(sim::fault_kind::restart)].n, 0u);
    EXPECT_EQ(k[idx(sim::fault_kind::restart)].max_us, 0);
    EXPECT_GT(k[idx(sim::fault_kind::goaway)].n, 0u);
    EXPECT_LE(k[idx(sim::fault_kind::goaway)].max_us, us(c.request_max * c.slow_factor));
    // Recovery to min_connections proven links after every quiet fault end, within the
    // longest backoff plus a connect timeout.
    const auto& bo = c.limits.backoff;
    EXPECT_GT(r.recovery.n, 0u);
    EXPECT_EQ(r.recovery_probes_unmet, 0u);
    EXPECT_LE(r.recovery.max_us, us(bo.max * (1 + bo.jitter) + c.timing.connect_timeout));
    // Backoff is jittered: first delays spread over 200 ms +-20 %, not all equal.
    EXPECT_GT(r.first_backoff.n, 1u);
    EXPECT_GE(r.first_backoff.min_us, us(bo.initial * (1 - bo.jitter)) - 1000);
    EXPECT_LE(r.first_backoff.max_us, us(bo.initial * (1 + bo.jitter)) + 1000);
    EXPECT_LT(r.first_backoff.min_us, r.first_backoff.max_us);
    // All down: acquires failed fast rather than waiting out acquire_timeout, and the
    // backends were retried at different times (jittered first reconnect), not in lockstep.
    EXPECT_GT(r.acquire_failed[static_cast<std::size_t>(errc::no_endpoint_available)], 0u);
    EXPECT_GE(r.all_down_refill_us, 0) << "never all down, or never refilled";
    // (A backend that had no link to lose was tried at once, at 0: not a retry.)
    std::set<std::int64_t> firsts;
    std::size_t retried = 0;
    for (std::size_t b = 0; b < c.backends; ++b)
        if (r.all_down_first_connect_ms[b] > 0)
            ++retried, firsts.insert(r.all_down_first_connect_ms[b]);
    EXPECT_GE(retried, 2u);
    EXPECT_GE(firsts.size(), (retried + 1) / 2) << "backends retried in lockstep";
    EXPECT_GT(r.backoffs, 0u);
    EXPECT_GT(r.goaways, 0u);
    EXPECT_GT(r.retired, 0u) << "max_lifetime recycling never ran";
    EXPECT_EQ(r.long_leases, 0u);
}

TEST(FleetSim, AnHourOfFaultsAgainstTenBackendsKeepsTheCoreSoundAndIsReproducible)
{
    const std::uint64_t seed = seed_from_env(20240611);
    const auto c = config(seed);
    std::printf("fleet sim seed %llu (replay: TETHER_SIM_SEED=%llu)\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
    const auto first = sim::run_fleet_sim(c);
    sim::print_summary(c, first);
    expect_sound(first.results);
    expect_properties(c, first.results);
    // Same seed, same run: every figure, every violation message.
    const auto again = sim::run_fleet_sim(c);
    std::printf("replay of seed %llu: %.2f s wall\n", static_cast<unsigned long long>(seed),
                again.wall_seconds);
    EXPECT_TRUE(again.results == first.results) << "the same seed gave a different run";
}

TEST(FleetSim, AnotherSeedIsAnotherRunAndSaysWhichSeed)
{
    const std::uint64_t seed = seed_from_env(std::random_device{}());
    auto c = config(seed);
    c.duration = std::max<sim::sim_duration>(c.duration / 6, 5min); // 10 min by default
    std::printf("fleet sim seed %llu (replay: TETHER_SIM_SEED=%llu)\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
    const auto s = sim::run_fleet_sim(c);
    sim::print_summary(c, s);
    expect_sound(s.results);
    auto other = c;
    other.seed = seed + 1;
    const auto o = sim::run_fleet_sim(other);
    EXPECT_EQ(o.results.violations, 0u)
        << "seed " << other.seed << ": " << o.results.first_violations.front();
    EXPECT_FALSE(o.results == s.results) << "seeds " << seed << " and " << other.seed;
}

} // namespace

namespace {

// Found by this simulation: when every backend answered each new link with goaway right after
// the proving pong (a fleet-wide graceful restart that keeps accepting), a proven link reset
// its backend's backoff and the goaway started a replacement at once: a reconnect loop as fast
// as max_concurrent_connects allowed (461,585 connects in these 30 s). A second goaway within
// backoff.initial of proving now counts as a failed connect and resumes the backoff from
// before that proving, so each backend's cycles grow apart (200 ms x 1.6^n: about ten in 30 s),
// each at most one refill of the pool.
TEST(FleetSim, GoawayOnEveryNewLinkDoesNotStormTheFleet)
{
    auto c = config(seed_from_env(1));
    c.duration = 2min;
    c.limits.min_connections = 20;
    c.limits.max_connections = 40;
    c.requests_per_second = 300;
    for (std::size_t b = 0; b < c.backends; ++b)
        c.faults.push_back({sim::fault_kind::goaway, b, 30s, 60s});
    const auto s = sim::run_fleet_sim(c);
    sim::print_summary(c, s);
    expect_sound(s.results);
    // 30 s of goaway everywhere for 40 links: about ten backoff cycles per backend, each at
    // most one refill of the pool's 40 links.
    EXPECT_LT(s.results.connects, 10u * 12u * 40u / 2u);
    EXPECT_LE(s.results.backoffs, 10u * 12u);
}

// Known, left to the balancing work (design.md §8: least_loaded and slow start): after every
// backend was down, the whole refill goes to the first backend whose backoff ends (round robin
// only over backends not backing off) and stays there until max_lifetime recycles it (up to
// 30 min). Enable once the refill is spread.
TEST(FleetSim, DISABLED_RefillAfterAnOutageSpreadsOverTheBackends)
{
    auto c = config(seed_from_env(20240611));
    c.duration = 5min;
    for (std::size_t b = 0; b < c.backends; ++b)
        c.faults.push_back({sim::fault_kind::restart, b, 60s, 63s});
    const auto s = sim::run_fleet_sim(c);
    sim::print_summary(c, s);
    expect_sound(s.results);
    const auto& links = s.results.links_after_all_down;
    ASSERT_EQ(links.size(), c.backends);
    EXPECT_LE(*std::max_element(links.begin(), links.end()),
              2 * c.limits.min_connections / c.backends)
        << "one backend took more than twice its share of the refill";
}

} // namespace
