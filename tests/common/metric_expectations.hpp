#pragma once

// What tests expect of the pool's metrics, shared by the unit test of the rendering, the
// integration test of a real pool and the prometheus-cpp adapter's test: the pool_stats counters
// and their names (design.md §9), and a histogram read back from the text.

#include "exposition_parser.hpp"

#include <tether/histogram.hpp>
#include <tether/stats.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace tether::test {

/// A counter of pool_stats and the name design.md §9 gives it.
struct named_counter {
    const char* name;
    std::uint64_t pool_stats::*field;
};
inline constexpr named_counter stats_counters[] = {
    {"tether_acquires_total", &pool_stats::acquires},
    {"tether_acquire_timeouts_total", &pool_stats::acquire_timeouts},
    {"tether_connects_total", &pool_stats::connects},
    {"tether_connect_failures_total", &pool_stats::connect_failures},
    {"tether_pings_sent_total", &pool_stats::pings_sent},
    {"tether_pongs_received_total", &pool_stats::pongs_received},
    {"tether_dead_links_detected_total", &pool_stats::dead_links_detected},
    {"tether_requests_total", &pool_stats::requests},
    {"tether_request_timeouts_total", &pool_stats::request_timeouts},
    {"tether_protocol_errors_total", &pool_stats::protocol_errors},
    {"tether_late_responses_total", &pool_stats::late_responses},
    {"tether_unknown_messages_total", &pool_stats::unknown_messages},
    {"tether_notifies_received_total", &pool_stats::notifies_received},
    {"tether_notifies_dropped_total", &pool_stats::notifies_dropped},
    {"tether_goaways_total", &pool_stats::goaways},
    {"tether_server_errors_total", &pool_stats::server_errors},
    {"tether_connections_lost_total", &pool_stats::connections_lost},
    {"tether_leases_returned_total", &pool_stats::leases_returned},
    {"tether_leases_held_too_long_total", &pool_stats::leases_held_too_long},
};

/// Expects the histogram family `name`'s series with `labels` to read as `h`: cumulative
/// buckets at histogram::bounds() up to le="+Inf", then _sum and _count.
void expect_histogram(const exposition& e, const std::string& name,
                      const std::map<std::string, std::string>& labels, const histogram& h);

/// Expects every gauge, counter and histogram of `s` in `e`, by its §9 name.
void expect_pool_figures(const exposition& e, const pool_stats& s);

} // namespace tether::test
