// JSON / stream rendering of pool_stats.

#include <tether/stats.hpp>

#include <ostream>
#include <utility>

namespace tether {

nlohmann::json to_json(const pool_stats& stats)
{
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
    };
}

std::ostream& operator<<(std::ostream& os, const pool_stats& stats)
{
    // last_error comes from system messages and peers: replace bytes that are not UTF-8 rather
    // than throw while printing.
    return os << to_json(stats).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace tether
