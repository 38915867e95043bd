// Prometheus' own checker on what tether renders and documents: `promtool check metrics` (the
// format and its lint: names, units, suffixes, help) on the full set of families, and
// `promtool check rules` / `check config` on the README's alert rules and scrape config.
// Skipped, saying so, where promtool is not installed (scripts/install-deps.sh installs it).

#include "metrics_model.hpp"
#include "promtool.hpp"

#include <tether/metrics.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

using namespace std::chrono_literals;
namespace detail = tether::detail;
namespace sansio = tether::sansio;

namespace {

#define SKIP_WITHOUT_PROMTOOL()                                                                    \
    if (!tether::test::promtool_available())                                                       \
    GTEST_SKIP() << "promtool not found on PATH: install Debian's `prometheus` package "           \
                    "(scripts/install-deps.sh does)"

// Every family with values in every series: 16 endpoints in every state, every close cause.
std::string full_text()
{
    tether::pool_stats s;
    s.idle = 1;
    s.leased = 2;
    s.acquires = 10;
    s.acquire_wait.record(5ms);
    s.connect_time.record(2ms);
    s.lease_use.record(70s);
    s.ping_rtt.record(100us);
    for (auto& h : s.request_duration)
        h.record(3ms);
    std::vector<detail::backend_metrics> backends;
    for (std::size_t i = 0; i < 16; ++i) {
        detail::backend_metrics b;
        b.endpoint = "10.0.0." + std::to_string(i) + ":7000";
        b.connects = i;
        b.disconnections[i % sansio::close_cause_count] = 1;
        b.state = static_cast<sansio::backend_state>(i % sansio::backend_state_count);
        backends.push_back(std::move(b));
    }
    tether::pool_config c;
    c.name = "orders \"eu\"";
    return tether::to_prometheus_text(detail::metric_families(s, c, backends));
}

// The fenced block that follows `marker` in the README.
std::string readme_block(const std::string& marker)
{
    std::ifstream in(TETHER_SOURCE_DIR "/README.md");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string readme = ss.str();
    const auto at = readme.find(marker);
    if (at == std::string::npos)
        return {};
    const auto open = readme.find("```yaml\n", at);
    const auto close = readme.find("\n```", open);
    if (open == std::string::npos || close == std::string::npos)
        return {};
    return readme.substr(open + 8, close - (open + 8) + 1);
}

TEST(Promtool, CheckMetricsFindsNothingToSayAboutEveryFamily)
{
    SKIP_WITHOUT_PROMTOOL();
    const auto r = tether::test::promtool_check_metrics(full_text());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "") << "any lint complaint fails the test";
}

TEST(Promtool, CheckMetricsWouldComplainAboutABadName)
{
    SKIP_WITHOUT_PROMTOOL(); // the check above can fail: promtool does lint what it reads
    tether::metric_family f{"tether_connection_count", "Links.", tether::metric_type::gauge, {}};
    f.samples.push_back({{{"pool", "x"}}, 1, {}});
    const auto r = tether::test::promtool_check_metrics(tether::to_prometheus_text({f}));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("_count"), std::string::npos) << r.output;
}

TEST(Promtool, TheReadmesAlertRulesAreValid)
{
    SKIP_WITHOUT_PROMTOOL();
    const auto rules = readme_block("<!-- promtool check rules -->");
    ASSERT_FALSE(rules.empty()) << "README.md: no yaml block after the rules marker";
    const auto r = tether::test::promtool_check_rules(rules);
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << rules;
    EXPECT_NE(r.output.find("SUCCESS: 3 rules found"), std::string::npos) << r.output;
}

TEST(Promtool, TheReadmesScrapeConfigIsValid)
{
    SKIP_WITHOUT_PROMTOOL();
    const auto config = readme_block("<!-- promtool check config -->");
    ASSERT_FALSE(config.empty()) << "README.md: no yaml block after the config marker";
    const auto r = tether::test::promtool_check_config(config);
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << config;
}

} // namespace
