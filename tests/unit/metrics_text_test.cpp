// The pool's metric families and their Prometheus text (metrics_model, metrics_text): rendered
// from a hand-made pool_stats, read back with a strict parser and compared value by value.

#include "exposition_parser.hpp"
#include "metric_expectations.hpp"
#include "metrics_model.hpp"

#include <tether/metrics.hpp>
#include <tether/stats.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <clocale>
#include <locale>
#include <map>
#include <set>

using namespace std::chrono_literals;
using tether::test::exposition;
using tether::test::parse_exposition;
using tether::test::stats_counters;
namespace detail = tether::detail;
namespace sansio = tether::sansio;

namespace {

tether::pool_stats sample_stats()
{
    tether::pool_stats s;
    s.total = 9;
    s.idle = 3;
    s.leased = 4;
    s.connecting = 2;
    s.waiting = 5;
    std::uint64_t n = 1000;
    for (const auto& c : stats_counters)
        s.*c.field = n += 17;
    s.acquire_timeouts = 12'345'678'901; // past what a float would keep exactly
    s.acquire_wait.record(0ns);
    s.acquire_wait.record(3us);
    s.acquire_wait.record(250ms);
    s.connect_time.record(1500us);
    s.lease_use.record(2s);
    s.lease_use.record(90s); // +Inf bucket
    s.ping_rtt.record(120us);
    for (std::size_t o = 0; o < tether::request_outcome_count; ++o)
        for (std::size_t k = 0; k <= o; ++k)
            s.request_duration[o].record(std::chrono::milliseconds(1 + 10 * k));
    return s;
}

detail::backend_metrics backend(std::string endpoint, sansio::backend_state state,
                                std::uint64_t seed)
{
    detail::backend_metrics b;
    b.endpoint = std::move(endpoint);
    b.connects = seed;
    b.connect_failures = seed + 1;
    for (std::size_t r = 0; r < sansio::close_cause_count; ++r)
        b.disconnections[r] = seed * 10 + r;
    b.state = state;
    return b;
}

std::vector<detail::backend_metrics> sample_backends()
{
    return {backend("127.0.0.1:7000", sansio::backend_state::up, 7),
            backend("[::1]:7001", sansio::backend_state::backing_off, 20)};
}

tether::pool_config sample_config(std::string name = "orders")
{
    tether::pool_config c;
    c.name = std::move(name);
    c.min_connections = 2;
    c.max_connections = 16;
    return c;
}

std::string render(const tether::pool_stats& s, const tether::pool_config& c,
                   const std::vector<detail::backend_metrics>& b)
{
    return tether::to_prometheus_text(detail::metric_families(s, c, b));
}

TEST(MetricsText, EveryFamilyReadsBackAsTheStatsItWasMadeFrom)
{
    const auto stats = sample_stats();
    const auto backends = sample_backends();
    const auto text = render(stats, sample_config(), backends);
    const auto e = parse_exposition(text);
    ASSERT_TRUE(e.errors.empty()) << e.errors.front();
    EXPECT_EQ(text.find("\n\n"), std::string::npos) << "no empty lines";

    // The families of design.md §9, and only those.
    std::set<std::string> expected = {
        "tether_connections",
        "tether_connection_max",
        "tether_connection_min",
        "tether_connection_pending_requests",
        "tether_connection_timeouts_total",
        "tether_connection_wait_time_seconds",
        "tether_connection_create_time_seconds",
        "tether_connection_use_time_seconds",
        "tether_request_duration_seconds",
        "tether_ping_rtt_seconds",
        "tether_endpoint_connection_attempts_total",
        "tether_endpoint_disconnections_total",
        "tether_endpoint_state",
    };
    for (const auto& c : stats_counters)
        expected.insert(c.name);
    std::set<std::string> seen;
    for (const auto& f : e.families) {
        seen.insert(f.name);
        EXPECT_FALSE(f.help.empty()) << f.name;
        EXPECT_EQ(f.type == "counter", f.name.ends_with("_total")) << f.name << " " << f.type;
        EXPECT_FALSE(f.samples.empty()) << f.name;
        for (const auto& s : f.samples)
            EXPECT_EQ(s.labels.at("pool"), "orders") << s.name;
    }
    EXPECT_EQ(seen, expected);
    // No series name in two families (a counter's _total, a histogram's _count, _sum, _bucket).
    std::map<std::string, std::string> family_of_series;
    for (const auto& f : e.families)
        for (const auto& s : f.samples) {
            const auto [it, added] = family_of_series.emplace(s.name, f.name);
            EXPECT_TRUE(added || it->second == f.name)
                << s.name << " in " << f.name << " and " << it->second;
        }

    EXPECT_EQ(e.value("tether_connections", {{"state", "used"}}), 4);
    EXPECT_EQ(e.value("tether_connection_max"), 16);
    EXPECT_EQ(e.value("tether_connection_min"), 2);
    EXPECT_EQ(e.value("tether_connection_timeouts_total"), 12'345'678'901.0);
    tether::test::expect_pool_figures(e, stats);

    for (const auto& b : backends) {
        SCOPED_TRACE(b.endpoint);
        const std::string attempts = "tether_endpoint_connection_attempts_total";
        EXPECT_EQ(e.value(attempts, {{"endpoint", b.endpoint}, {"result", "success"}}),
                  static_cast<double>(b.connects));
        EXPECT_EQ(e.value(attempts, {{"endpoint", b.endpoint}, {"result", "failure"}}),
                  static_cast<double>(b.connect_failures));
        const std::set<std::string> reasons = {"connection_lost", "dead",           "goaway",
                                               "retired",         "protocol_error", "pool_closed"};
        std::set<std::string> reasons_seen;
        for (std::size_t r = 0; r < sansio::close_cause_count; ++r) {
            const std::string reason = to_string(static_cast<sansio::close_cause>(r));
            reasons_seen.insert(reason);
            EXPECT_EQ(e.value("tether_endpoint_disconnections_total",
                              {{"endpoint", b.endpoint}, {"reason", reason}}),
                      static_cast<double>(b.disconnections[r]))
                << reason;
        }
        EXPECT_EQ(reasons_seen, reasons);
        double states_on = 0;
        for (const char* st :
             {"up", "connecting", "probing", "backing_off", "idle", "ejected", "draining"}) {
            const auto v =
                e.value("tether_endpoint_state", {{"endpoint", b.endpoint}, {"state", st}});
            ASSERT_TRUE(v) << st;
            EXPECT_EQ(*v, st == std::string_view(to_string(b.state)) ? 1 : 0) << st;
            states_on += *v;
        }
        EXPECT_EQ(states_on, 1);
    }
}

TEST(MetricsText, LabelValuesAndHelpAreEscaped)
{
    const std::string name = "a\\b\"c\nd";
    const auto text = render(sample_stats(), sample_config(name), sample_backends());
    EXPECT_NE(text.find(R"(pool="a\\b\"c\nd")"), std::string::npos);
    const auto e = parse_exposition(text);
    ASSERT_TRUE(e.errors.empty()) << e.errors.front();
    EXPECT_EQ(e.value("tether_connection_max", {{"pool", name}}), 16);

    tether::metric_family f{
        "x_total", "back\\slash\nnewline \"quoted\"", tether::metric_type::counter, {}};
    f.samples.push_back({{{"l", "v"}}, 1.5, {}});
    const auto one = tether::to_prometheus_text({f});
    EXPECT_EQ(one, "# HELP x_total back\\\\slash\\nnewline \"quoted\"\n"
                   "# TYPE x_total counter\n"
                   "x_total{l=\"v\"} 1.5\n");
    EXPECT_EQ(parse_exposition(one).families.at(0).help, f.help);
}

TEST(MetricsText, NumbersDoNotDependOnTheLocale)
{
    const auto expected = render(sample_stats(), sample_config(), sample_backends());
    // A decimal comma and digit grouping, in iostreams and (where installed) in C's printf.
    struct comma : std::numpunct<char> {
        char do_decimal_point() const override { return ','; }
        char do_thousands_sep() const override { return '.'; }
        std::string do_grouping() const override { return "\3"; }
    };
    const auto old = std::locale::global(std::locale(std::locale::classic(), new comma));
    const std::string old_c = std::setlocale(LC_ALL, nullptr);
    for (const char* name : {"de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"})
        if (std::setlocale(LC_ALL, name))
            break;
    const auto text = render(sample_stats(), sample_config(), sample_backends());
    std::setlocale(LC_ALL, old_c.c_str());
    std::locale::global(old);
    EXPECT_EQ(text, expected);
    EXPECT_NE(text.find("_sum{pool=\"orders\"} 0.250003"), std::string::npos) << text;
}

TEST(MetricsText, BucketBoundsAreWrittenInTheirShortestForm)
{
    tether::metric_family f{"h_seconds", "h", tether::metric_type::histogram, {}};
    f.samples.emplace_back();
    const auto text = tether::to_prometheus_text({f});
    for (const char* le : {"le=\"1e-06\"", "le=\"2e-06\"", "le=\"0.0005\"", "le=\"0.1\"",
                           "le=\"50\"", "le=\"60\"", "le=\"+Inf\""})
        EXPECT_NE(text.find(le), std::string::npos) << le << "\n" << text;
}

TEST(MetricsText, AScrapeOfSixteenEndpointsNamesEveryOne)
{
    const auto stats = sample_stats();
    std::vector<detail::backend_metrics> backends;
    for (std::uint64_t i = 0; i < 16; ++i)
        backends.push_back(backend("backend-" + std::to_string(i) + ".internal:7000",
                                   sansio::backend_state::up, 100 + i));
    const auto config = sample_config();
    std::size_t bytes = 0;
    constexpr int rounds = 200;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i)
        bytes += render(stats, config, backends).size();
    const auto each = (std::chrono::steady_clock::now() - start) / rounds;
    EXPECT_GT(bytes, 0u);
    // Its speed (typically 20-40 us in a release build) is a figure, not an assertion: a
    // sanitizer build on a busy machine is slower.
    const std::string text = render(stats, config, backends);
    for (int i = 0; i < 16; ++i)
        EXPECT_NE(text.find("backend-" + std::to_string(i) + ".internal:7000"), std::string::npos);
    RecordProperty(
        "us_per_scrape",
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(each).count()));
}

} // namespace
