// tether::prometheus_collector (target tether::prometheus): its families are pool.metrics()'s,
// and behind a real prometheus::Exposer on a loopback port a scrape of /metrics over HTTP
// reads back as the pool's stats.

#include "exposition_parser.hpp"
#include "test_env.hpp"

#include <tether/prometheus.hpp>
#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <prometheus/exposer.h>

using namespace std::chrono_literals;
using json = nlohmann::json;
using tether::test::parse_exposition;
using tether::test::poll_until;
using tether::test::scaled;
namespace http = boost::beast::http;

namespace {

struct http_response {
    unsigned status = 0;
    std::string content_type;
    std::string body;
};

http_response http_get(std::uint16_t port, const std::string& target)
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::address_v4::loopback(), port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::connection, "close");
    http::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

class PrometheusCollector : public ::testing::Test {
protected:
    void SetUp() override
    {
        server_ = tether::testing::start_echo_server();
        pool_ = tether::pool_builder{}
                    .name("adapter")
                    .endpoint("127.0.0.1", server_->port())
                    .io_threads(1)
                    .min_connections(1)
                    .max_connections(2)
                    .acquire_timeout(scaled(2s))
                    .build();
        ASSERT_TRUE(pool_.wait_ready(scaled(2s)));
        auto lease = pool_.acquire();
        for (int i = 0; i < 5; ++i)
            (void)lease.request(json{{"i", i}});
    }

    std::unique_ptr<tether::testing::echo_server> server_;
    tether::pool pool_;
};

TEST_F(PrometheusCollector, CollectReturnsThePoolsFamilies)
{
    const auto collector = tether::prometheus_collector(pool_);
    const auto collected = collector->Collect();
    const auto expected = pool_.metrics(); // a quiet pool: the same values
    ASSERT_EQ(collected.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& got = collected[i];
        const auto& want = expected[i];
        SCOPED_TRACE(want.name);
        EXPECT_EQ(got.name, want.name);
        EXPECT_EQ(got.help, want.help);
        ASSERT_EQ(got.metric.size(), want.samples.size());
        for (std::size_t k = 0; k < want.samples.size(); ++k) {
            const auto& m = got.metric[k];
            const auto& s = want.samples[k];
            ASSERT_EQ(m.label.size(), s.labels.size());
            for (std::size_t l = 0; l < s.labels.size(); ++l) {
                EXPECT_EQ(m.label[l].name, s.labels[l].name);
                EXPECT_EQ(m.label[l].value, s.labels[l].value);
            }
            switch (want.type) {
            case tether::metric_type::counter:
                EXPECT_EQ(got.type, prometheus::MetricType::Counter);
                EXPECT_EQ(m.counter.value, s.value);
                break;
            case tether::metric_type::gauge:
                EXPECT_EQ(got.type, prometheus::MetricType::Gauge);
                EXPECT_EQ(m.gauge.value, s.value);
                break;
            case tether::metric_type::histogram:
                EXPECT_EQ(got.type, prometheus::MetricType::Histogram);
                EXPECT_EQ(m.histogram.sample_count, s.distribution.count());
                EXPECT_EQ(m.histogram.sample_sum, s.distribution.sum());
                ASSERT_EQ(m.histogram.bucket.size(), tether::histogram::bucket_count);
                EXPECT_TRUE(std::isinf(m.histogram.bucket.back().upper_bound));
                EXPECT_EQ(m.histogram.bucket.back().cumulative_count, s.distribution.count());
                break;
            }
        }
    }
}

// (The exposer's destructor takes 2 s: civetweb's stop.)
TEST_F(PrometheusCollector, AnExposerServesThePoolsMetricsOverHttp)
{
    prometheus::Exposer exposer{"127.0.0.1:0"};
    const auto collector = tether::prometheus_collector(pool_);
    exposer.RegisterCollectable(collector);
    const auto ports = exposer.GetListeningPorts();
    ASSERT_EQ(ports.size(), 1u);
    ASSERT_GT(ports.front(), 0) << "port 0 stands for an ephemeral port, which the exposer tells";

    const auto res = http_get(static_cast<std::uint16_t>(ports.front()), "/metrics");
    ASSERT_EQ(res.status, 200u);
    EXPECT_NE(res.content_type.find("text/plain"), std::string::npos) << res.content_type;
    const auto e = parse_exposition(res.body);
    ASSERT_TRUE(e.errors.empty()) << e.errors.front() << "\n" << res.body;

    const auto s = pool_.stats();
    const auto* requests = e.family("tether_requests_total");
    ASSERT_NE(requests, nullptr) << res.body;
    EXPECT_EQ(requests->type, "counter");
    EXPECT_EQ(e.value("tether_requests_total", {{"pool", "adapter"}}),
              static_cast<double>(s.requests));
    EXPECT_EQ(e.value("tether_connections", {{"pool", "adapter"}, {"state", "idle"}}),
              static_cast<double>(s.idle));
    EXPECT_EQ(e.value("tether_connection_max", {{"pool", "adapter"}}), 2);
    EXPECT_EQ(e.value("tether_request_duration_seconds_count", {{"outcome", "ok"}}),
              static_cast<double>(s.requests_by(tether::request_outcome::ok).count()));
    EXPECT_EQ(
        e.value("tether_request_duration_seconds_bucket", {{"outcome", "ok"}, {"le", "+Inf"}}),
        static_cast<double>(s.requests_by(tether::request_outcome::ok).count()));
    const std::string ep = "127.0.0.1:" + std::to_string(server_->port());
    EXPECT_EQ(e.value("tether_endpoint_state", {{"endpoint", ep}, {"state", "up"}}), 1);
    EXPECT_EQ(e.value("tether_endpoint_connection_attempts_total",
                      {{"endpoint", ep}, {"result", "success"}}),
              static_cast<double>(s.connects));
    EXPECT_EQ(e.family("tether_connection_wait_time_seconds")->type, "histogram");
}

} // namespace
