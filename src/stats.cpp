// JSON / stream rendering of pool_stats.

#include <tether/stats.hpp>

#include <ostream>
#include <utility>

namespace tether {

const char* to_string(request_outcome o) noexcept
{
    switch (o) {
    case request_outcome::ok:
        return "ok";
    case request_outcome::server_error:
        return "server_error";
    case request_outcome::timeout:
        return "timeout";
    case request_outcome::connection_lost:
        return "connection_lost";
    case request_outcome::other:
        return "other";
    }
    return "other";
}

namespace {

// A histogram in JSON: its count and sum, p50/p99/p999 estimates, and the non-empty buckets
// as {"le": bound, "count": n} (non-cumulative).
nlohmann::json summary_of(const histogram& h)
{
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
        if (h.counts()[i] == 0)
            continue;
        const double le = histogram::bounds()[i];
        buckets.push_back(
            {{"le", i + 1 == histogram::bucket_count ? nlohmann::json("+Inf") : nlohmann::json(le)},
             {"count", h.counts()[i]}});
    }
    return {{"count", h.count()},          {"sum_s", h.sum()},
            {"p50_s", h.quantile(0.5)},    {"p99_s", h.quantile(0.99)},
            {"p999_s", h.quantile(0.999)}, {"buckets", std::move(buckets)}};
}

} // namespace

nlohmann::json to_json(const pool_stats& stats)
{
    nlohmann::json by_outcome = nlohmann::json::object();
    for (std::size_t o = 0; o < request_outcome_count; ++o)
        by_outcome[to_string(static_cast<request_outcome>(o))] =
            summary_of(stats.request_duration[o]);
    nlohmann::json endpoints = nlohmann::json::array();
    for (const endpoint_stats& ep : stats.endpoints) {
        endpoints.push_back({
            {"endpoint", to_string(ep.endpoint)},
            {"links", ep.links},
            {"connects", ep.connects},
            {"connect_failures", ep.connect_failures},
            {"consecutive_failures", ep.consecutive_failures},
            {"backing_off", ep.backing_off},
            {"last_error", ep.last_error},
        });
    }
    return {
        {"total", stats.total},
        {"idle", stats.idle},
        {"leased", stats.leased},
        {"connecting", stats.connecting},
        {"waiting", stats.waiting},
        {"acquires", stats.acquires},
        {"acquire_timeouts", stats.acquire_timeouts},
        {"connects", stats.connects},
        {"connect_failures", stats.connect_failures},
        {"pings_sent", stats.pings_sent},
        {"pongs_received", stats.pongs_received},
        {"dead_links_detected", stats.dead_links_detected},
        {"requests", stats.requests},
        {"request_timeouts", stats.request_timeouts},
        {"protocol_errors", stats.protocol_errors},
        {"late_responses", stats.late_responses},
        {"unknown_messages", stats.unknown_messages},
        {"notifies_received", stats.notifies_received},
        {"notifies_dropped", stats.notifies_dropped},
        {"goaways", stats.goaways},
        {"server_errors", stats.server_errors},
        {"connections_lost", stats.connections_lost},
        {"leases_returned", stats.leases_returned},
        {"lease_hold_mean_us", stats.lease_hold_mean.count()},
        {"lease_hold_max_us", stats.lease_hold_max.count()},
        {"longest_current_hold_ms", stats.longest_current_hold.count()},
        {"leases_held_too_long", stats.leases_held_too_long},
        {"endpoints", std::move(endpoints)},
        {"acquire_wait", summary_of(stats.acquire_wait)},
        {"connect_time", summary_of(stats.connect_time)},
        {"lease_use", summary_of(stats.lease_use)},
        {"ping_rtt", summary_of(stats.ping_rtt)},
        {"request_duration", std::move(by_outcome)},
    };
}

std::ostream& operator<<(std::ostream& os, const pool_stats& stats)
{
    // last_error comes from system messages and peers: replace bytes that are not UTF-8 rather
    // than throw while printing.
    return os << to_json(stats).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace tether
