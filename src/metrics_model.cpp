// Names, help texts, types and values of the pool's metric families (design.md §9).

#include "metrics_model.hpp"

#include <initializer_list>

namespace tether::detail {
namespace {

// A counter of pool_stats, exposed as is.
struct stats_counter {
    const char* name;
    const char* help;
    std::uint64_t pool_stats::*field;
};

// Every counter of pool_stats as tether_<name>_total.
constexpr stats_counter stats_counters[] = {
    {"tether_acquires_total", "Leases handed out.", &pool_stats::acquires},
    {"tether_acquire_timeouts_total", "Acquires that failed with acquire_timeout.",
     &pool_stats::acquire_timeouts},
    {"tether_connects_total", "Links opened and proven.", &pool_stats::connects},
    {"tether_connect_failures_total",
     "Connects that failed (resolve, TCP connect, TLS handshake or proving ping).",
     &pool_stats::connect_failures},
    {"tether_pings_sent_total", "Pings sent (proving pings included).", &pool_stats::pings_sent},
    {"tether_pongs_received_total", "Pongs that answered a ping of ours.",
     &pool_stats::pongs_received},
    {"tether_dead_links_detected_total",
     "Links closed because a ping went unanswered within ping_timeout.",
     &pool_stats::dead_links_detected},
    {"tether_requests_total", "Requests sent.", &pool_stats::requests},
    {"tether_request_timeouts_total", "Requests that got no response within their timeout.",
     &pool_stats::request_timeouts},
    {"tether_protocol_errors_total", "Frames or messages from servers that broke the protocol.",
     &pool_stats::protocol_errors},
    {"tether_late_responses_total",
     "Responses and pongs that matched nothing outstanding (dropped).",
     &pool_stats::late_responses},
    {"tether_unknown_messages_total", "Messages of an unknown type or direction (ignored).",
     &pool_stats::unknown_messages},
    {"tether_notifies_received_total", "Notify messages received from servers.",
     &pool_stats::notifies_received},
    {"tether_notifies_dropped_total", "Notify messages dropped: the handler's queue was full.",
     &pool_stats::notifies_dropped},
    {"tether_goaways_total", "Goaway messages received.", &pool_stats::goaways},
    {"tether_server_errors_total", "Responses carrying an error object.",
     &pool_stats::server_errors},
    {"tether_connections_lost_total",
     "Proven links that broke (any cause but goaway, retirement and shutdown).",
     &pool_stats::connections_lost},
    {"tether_leases_returned_total", "Leases whose link came back to the pool.",
     &pool_stats::leases_returned},
    {"tether_leases_held_too_long_total",
     "Leases held past lease_warn_threshold (reported to the observer).",
     &pool_stats::leases_held_too_long},
};

class families_builder {
public:
    explicit families_builder(const std::string& pool) : pool_(pool) {}

    metric_family& family(const char* name, const char* help, metric_type type)
    {
        return families_.emplace_back(metric_family{name, help, type, {}});
    }
    /// A sample of `f` labelled pool="..." and `labels`.
    metric_sample& sample(metric_family& f, std::initializer_list<metric_label> labels = {})
    {
        metric_sample& s = f.samples.emplace_back();
        s.labels.reserve(1 + labels.size());
        s.labels.push_back({"pool", pool_});
        s.labels.insert(s.labels.end(), labels);
        return s;
    }
    void single(const char* name, const char* help, metric_type type, double value)
    {
        sample(family(name, help, type)).value = value;
    }
    void single(const char* name, const char* help, const histogram& h)
    {
        sample(family(name, help, metric_type::histogram)).distribution = h;
    }
    std::vector<metric_family> take() { return std::move(families_); }

private:
    const std::string& pool_;
    std::vector<metric_family> families_;
};

double as_value(std::uint64_t n)
{
    return static_cast<double>(n);
}

void add_pool_figures(families_builder& b, const pool_stats& s, const pool_config& c)
{
    auto& count = b.family("tether_connections",
                           "Links by state: idle (ready in the pool), used (leased), connecting "
                           "(resolving, connecting, proving). Links closing are in none.",
                           metric_type::gauge);
    b.sample(count, {{"state", "idle"}}).value = as_value(s.idle);
    b.sample(count, {{"state", "used"}}).value = as_value(s.leased);
    b.sample(count, {{"state", "connecting"}}).value = as_value(s.connecting);
    b.single("tether_connection_max", "max_connections: the most links open or connecting.",
             metric_type::gauge, as_value(c.max_connections));
    b.single("tether_connection_min", "min_connections: links kept open.", metric_type::gauge,
             as_value(c.min_connections));
    b.single("tether_connection_pending_requests", "Callers waiting in acquire for a link.",
             metric_type::gauge, as_value(s.waiting));
    b.single("tether_connection_timeouts_total", "Acquires that failed with acquire_timeout.",
             metric_type::counter, as_value(s.acquire_timeouts));
}

void add_distributions(families_builder& b, const pool_stats& s)
{
    b.single("tether_connection_wait_time_seconds",
             "Acquire call to lease, acquires that got one (an idle link at hand counts as 0).",
             s.acquire_wait);
    b.single("tether_connection_create_time_seconds",
             "A new link's resolve, TCP connect, TLS handshake and proving ping (proven links).",
             s.connect_time);
    b.single("tether_connection_use_time_seconds",
             "Acquire to the link's return (requests of a released lease included).", s.lease_use);
    auto& requests = b.family("tether_request_duration_seconds",
                              "Request sent to its completion, by outcome: ok, server_error, "
                              "timeout, connection_lost, other (cancelled, shut down).",
                              metric_type::histogram);
    for (std::size_t o = 0; o < request_outcome_count; ++o)
        b.sample(requests, {{"outcome", to_string(static_cast<request_outcome>(o))}}).distribution =
            s.request_duration[o];
    b.single("tether_ping_rtt_seconds", "Ping to its pong (proving pings included).", s.ping_rtt);
}

void add_backends(families_builder& b, const std::vector<backend_metrics>& backends)
{
    auto& attempts = b.family(
        "tether_endpoint_connection_attempts_total",
        "Connects to the endpoint by result: success (proven), failure (resolve, TCP, TLS or "
        "proving failed, or goaway again right after proving).",
        metric_type::counter);
    for (const backend_metrics& e : backends) {
        b.sample(attempts, {{"endpoint", e.endpoint}, {"result", "success"}}).value =
            as_value(e.connects);
        b.sample(attempts, {{"endpoint", e.endpoint}, {"result", "failure"}}).value =
            as_value(e.connect_failures);
    }
    auto& closed = b.family("tether_endpoint_disconnections_total",
                            "Proven links to the endpoint that closed, by reason: connection_lost, "
                            "dead (ping unanswered), goaway, retired (by the pool: max_lifetime, "
                            "idle_timeout, discard, TLS rotation), protocol_error, pool_closed.",
                            metric_type::counter);
    for (const backend_metrics& e : backends)
        for (std::size_t r = 0; r < sansio::close_cause_count; ++r)
            b.sample(closed, {{"endpoint", e.endpoint},
                              {"reason", to_string(static_cast<sansio::close_cause>(r))}})
                .value = as_value(e.disconnections[r]);
    auto& state = b.family("tether_endpoint_state",
                           "1 for the endpoint's state, 0 for the others: up (proven links open), "
                           "connecting, probing, backing_off, idle, ejected, draining.",
                           metric_type::gauge);
    for (const backend_metrics& e : backends)
        for (std::size_t k = 0; k < sansio::backend_state_count; ++k) {
            const auto st = static_cast<sansio::backend_state>(k);
            b.sample(state, {{"endpoint", e.endpoint}, {"state", to_string(st)}}).value =
                e.state == st ? 1 : 0;
        }
}

} // namespace

std::vector<metric_family> metric_families(const pool_stats& stats, const pool_config& config,
                                           const std::vector<backend_metrics>& backends)
{
    families_builder b(config.name);
    add_pool_figures(b, stats, config);
    add_distributions(b, stats);
    add_backends(b, backends);
    for (const stats_counter& c : stats_counters)
        b.single(c.name, c.help, metric_type::counter, as_value(stats.*c.field));
    return b.take();
}

} // namespace tether::detail
