// A peer that vanishes without a word: no FIN, no RST, no ICMP. Only the pool's own probing can
// find it (the OS keep-alive default would take hours). It needs a real network path that can
// be cut silently, so it runs only under tests/fault/netns_vanish.sh, which puts this binary in
// one network namespace and the echo_server CLI in another, joined by a veth pair, and tells the
// test how to cut the server's side:
//   TETHER_NETNS_SERVER=10.213.0.2:<port>
//   TETHER_NETNS_CUT="ip netns exec tether-srv-<pid> ip link set tvs<pid> down"
// Without TETHER_NETNS_SERVER the test skips. Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "test_env.hpp"

#include <tether/testing/endpoint_arg.hpp>
#include <tether/tether.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using tether::test::scaled;
using json = nlohmann::json;

namespace {

const char* env(const char* name)
{
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
}

TEST(Netns, SilentlyVanishedPeerIsDetected)
{
    const char* server = env("TETHER_NETNS_SERVER");
    if (server == nullptr)
        GTEST_SKIP() << "TETHER_NETNS_SERVER is not set: this test needs two network namespaces; "
                        "run it through tests/fault/netns_vanish.sh (ctest -R netns, as root)";
    const char* cut = env("TETHER_NETNS_CUT");
    ASSERT_NE(cut, nullptr) << "TETHER_NETNS_SERVER is set but TETHER_NETNS_CUT is not";

    tether::endpoint target;
    ASSERT_NO_THROW(target = tether::testing::parse_endpoint_arg(server, "TETHER_NETNS_SERVER"));

    const auto interval = scaled(500ms), timeout = scaled(500ms);
    auto pool = tether::pool_builder{}
                    .endpoint(target.host, target.port)
                    .io_threads(1)
                    .ping_interval(interval)
                    .ping_timeout(timeout)
                    .request_timeout(30s)
                    .connect_timeout(scaled(2s))
                    .acquire_timeout(scaled(5s))
                    .build();
    auto l = pool.acquire();
    ASSERT_EQ(l.request(json{{"before", "cut"}}), (json{{"before", "cut"}}));

    // One request in flight that the server would only answer in 5 s.
    std::promise<std::error_code> result;
    auto done = result.get_future();
    l.async_request(json{{"$test", {{"sleep_ms", 5000}}}},
                    [&result](boost::system::error_code ec, json) { result.set_value(ec); });
    // Let the request reach the server and be ACKed first, so the only unanswered traffic
    // after the cut is the pool's probe (not a retransmission racing TCP_USER_TIMEOUT).
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(done.wait_for(0s), std::future_status::timeout) << "completed before the cut";

    const auto cut_start = std::chrono::steady_clock::now();
    const int rc = std::system(cut);
    const auto cut_done = std::chrono::steady_clock::now();
    ASSERT_EQ(rc, 0) << "the cut command failed: " << cut;

    const auto bound = interval + timeout + scaled(300ms);
    ASSERT_EQ(done.wait_for(bound + scaled(5s)), std::future_status::ready)
        << "the in-flight request never failed; " << pool.diagnostics();
    const auto detected = std::chrono::steady_clock::now();
    const auto ec = done.get();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(detected - cut_start);
    const auto cut_took =
        std::chrono::duration_cast<std::chrono::milliseconds>(cut_done - cut_start);
    std::cout << "[ netns    ] vanished peer detected " << took.count()
              << " ms after the cut (cut command took " << cut_took.count() << " ms; bound "
              << bound.count() << " ms = ping_interval " << interval.count() << " + ping_timeout "
              << timeout.count() << " + slack); error: " << ec.message() << std::endl;

    EXPECT_EQ(ec, tether::errc::connection_lost) << ec.message();
    EXPECT_LE(took, bound) << "detection must come from probing, not request_timeout or TCP";
    const auto s = pool.stats();
    EXPECT_GE(s.dead_links_detected, 1u) << s;
    EXPECT_GE(s.connections_lost, 1u) << s;

    // The lease on the dead link fails fast from now on.
    std::error_code again;
    (void)l.request(json{{"after", "cut"}}, again);
    EXPECT_EQ(again, tether::errc::connection_lost) << again.message();
}

} // namespace
