#include "metric_expectations.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tether::test {

void expect_histogram(const exposition& e, const std::string& name,
                      const std::map<std::string, std::string>& labels, const histogram& h)
{
    SCOPED_TRACE(name);
    const auto* f = e.family(name);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->type, "histogram");
    std::vector<const parsed_sample*> buckets;
    for (const auto& s : f->samples) {
        bool match = s.name == name + "_bucket";
        for (const auto& [k, v] : labels)
            match = match && s.labels.count(k) && s.labels.at(k) == v;
        if (match)
            buckets.push_back(&s);
    }
    ASSERT_EQ(buckets.size(), histogram::bucket_count);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        cumulative += h.counts()[i];
        const std::string& le = buckets[i]->labels.at("le");
        if (i + 1 == buckets.size())
            EXPECT_EQ(le, "+Inf");
        else
            EXPECT_DOUBLE_EQ(std::stod(le), histogram::bounds()[i]) << le;
        EXPECT_EQ(buckets[i]->value, static_cast<double>(cumulative)) << "le=" << le;
    }
    EXPECT_EQ(e.value(name + "_count", labels), static_cast<double>(h.count()));
    EXPECT_NEAR(e.value(name + "_sum", labels).value_or(-1), h.sum(), 1e-9);
}

void expect_pool_figures(const exposition& e, const pool_stats& s)
{
    const auto as_double = [](auto n) { return static_cast<double>(n); };
    EXPECT_EQ(e.value("tether_connections", {{"state", "idle"}}), as_double(s.idle));
    EXPECT_EQ(e.value("tether_connections", {{"state", "used"}}), as_double(s.leased));
    EXPECT_EQ(e.value("tether_connections", {{"state", "connecting"}}), as_double(s.connecting));
    EXPECT_EQ(e.value("tether_connection_pending_requests"), as_double(s.waiting));
    EXPECT_EQ(e.value("tether_connection_timeouts_total"), as_double(s.acquire_timeouts));
    for (const auto& c : stats_counters)
        EXPECT_EQ(e.value(c.name), as_double(s.*c.field)) << c.name;
    expect_histogram(e, "tether_connection_wait_time_seconds", {}, s.acquire_wait);
    expect_histogram(e, "tether_connection_create_time_seconds", {}, s.connect_time);
    expect_histogram(e, "tether_connection_use_time_seconds", {}, s.lease_use);
    expect_histogram(e, "tether_ping_rtt_seconds", {}, s.ping_rtt);
    for (std::size_t o = 0; o < request_outcome_count; ++o) {
        const auto outcome = static_cast<request_outcome>(o);
        expect_histogram(e, "tether_request_duration_seconds", {{"outcome", to_string(outcome)}},
                         s.requests_by(outcome));
    }
}

} // namespace tether::test
