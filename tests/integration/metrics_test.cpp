// pool.metrics_text() of a real pool against the in-process reference server: read back, it
// says what pool.stats() says, counts each link's end under its reason, and passes promtool.

#include "exposition_parser.hpp"
#include "metric_expectations.hpp"
#include "promtool.hpp"
#include "test_env.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using json = nlohmann::json;
using tether::test::parse_exposition;
using tether::test::poll_until;
using tether::test::scaled;

namespace {

class Metrics : public ::testing::Test {
protected:
    void SetUp() override { server_ = tether::testing::start_echo_server(); }

    tether::pool build()
    {
        return tether::pool_builder{}
            .name("integration\\\"eu\\\"")
            .endpoint("127.0.0.1", server_->port())
            .io_threads(2)
            .min_connections(2)
            .max_connections(4)
            .acquire_timeout(scaled(2s))
            .connect_timeout(scaled(2s))
            .request_timeout(scaled(200ms))
            .backoff(20ms, 2.0, 200ms, 0.2)
            .build();
    }
    std::string endpoint() const { return "127.0.0.1:" + std::to_string(server_->port()); }

    // Requests of every outcome but `other`, a link sent away by goaway and one closed by the
    // server; returns once the pool is quiet again (both replacements proven).
    void run_traffic(tether::pool& pool)
    {
        ASSERT_TRUE(pool.wait_ready(scaled(2s)));
        {
            auto lease = pool.acquire();
            for (int i = 0; i < 20; ++i)
                EXPECT_EQ(lease.request(json{{"i", i}}), (json{{"i", i}}));
            std::error_code ec;
            (void)lease.request(json{{"$test", {{"error", {{"code", 7}, {"message", "no"}}}}}}, ec);
            EXPECT_EQ(ec, tether::errc::server_error);
            (void)lease.request(json{{"$test", {{"sleep_ms", scaled(400ms).count()}}}}, ec);
            EXPECT_EQ(ec, tether::errc::request_timeout);
            ASSERT_TRUE(poll_until([&] { return pool.stats().late_responses == 1; }, scaled(5s)));
        }
        {
            auto lease = pool.acquire();
            (void)lease.request(json{{"$test", {{"goaway", true}}}});
        }
        {
            auto lease = pool.acquire();
            std::error_code ec;
            (void)lease.request(json{{"$test", {{"close", true}}}}, ec);
            EXPECT_EQ(ec, tether::errc::connection_lost);
        }
        ASSERT_TRUE(poll_until(
            [&] {
                const auto s = pool.stats();
                return s.connections_lost == 1 && s.connecting == 0 && s.idle == 2 && s.total == 2;
            },
            scaled(5s)))
            << pool.stats();
    }

    std::unique_ptr<tether::testing::echo_server> server_;
};

TEST_F(Metrics, TextSaysWhatStatsSay)
{
    auto pool = build();
    run_traffic(pool);
    // Nothing moves in a quiet pool (pings are 10 s apart): stats before and after the text
    // agree, so the text must agree with both.
    tether::pool_stats s;
    std::string text;
    ASSERT_TRUE(poll_until(
        [&] {
            s = pool.stats();
            text = pool.metrics_text();
            return tether::to_json(pool.stats()) == tether::to_json(s);
        },
        scaled(5s)));
    const auto e = parse_exposition(text);
    ASSERT_TRUE(e.errors.empty()) << e.errors.front() << "\n" << text;
    for (const auto& f : e.families)
        for (const auto& sample : f.samples)
            EXPECT_EQ(sample.labels.at("pool"), "integration\\\"eu\\\"") << sample.name;

    tether::test::expect_pool_figures(e, s);
    EXPECT_EQ(s.requests_by(tether::request_outcome::ok).count(), 21u) << "20 + the goaway's";
    EXPECT_EQ(e.value("tether_connection_max"), 4);
    EXPECT_EQ(e.value("tether_connection_min"), 2);

    ASSERT_EQ(s.endpoints.size(), 1u);
    const auto ep = endpoint();
    const auto attempts = [&](const char* result) {
        return e.value("tether_endpoint_connection_attempts_total",
                       {{"endpoint", ep}, {"result", result}});
    };
    EXPECT_EQ(attempts("success"), static_cast<double>(s.endpoints[0].connects));
    EXPECT_EQ(attempts("success"), static_cast<double>(s.connects));
    EXPECT_EQ(attempts("failure"), 0);
    const auto closed = [&](const char* reason) {
        return e.value("tether_endpoint_disconnections_total",
                       {{"endpoint", ep}, {"reason", reason}});
    };
    EXPECT_EQ(closed("goaway"), 1);
    EXPECT_EQ(closed("connection_lost"), 1);
    for (const char* none : {"dead", "retired", "protocol_error", "pool_closed"})
        EXPECT_EQ(closed(none), 0) << none;
    EXPECT_EQ(e.value("tether_endpoint_state", {{"endpoint", ep}, {"state", "up"}}), 1);
    EXPECT_EQ(e.value("tether_endpoint_state", {{"endpoint", ep}, {"state", "backing_off"}}), 0);

    // After shutdown the two idle links count as closed by it.
    pool.shutdown(scaled(2s));
    const auto after = parse_exposition(pool.metrics_text());
    EXPECT_EQ(after.value("tether_endpoint_disconnections_total",
                          {{"endpoint", ep}, {"reason", "pool_closed"}}),
              2);
    EXPECT_EQ(after.value("tether_endpoint_state", {{"endpoint", ep}, {"state", "idle"}}), 1);
}

TEST_F(Metrics, TextOfARealPoolPassesPromtool)
{
    if (!tether::test::promtool_available())
        GTEST_SKIP() << "promtool not found on PATH: install Debian's `prometheus` package "
                        "(scripts/install-deps.sh does)";
    auto pool = build();
    run_traffic(pool);
    const auto r = tether::test::promtool_check_metrics(pool.metrics_text());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "") << "any complaint fails the test";
}

} // namespace
