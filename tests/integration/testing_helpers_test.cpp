// The small helpers tether_testing shares with the samples, the echo_server program and the
// tests: "host:port" arguments and the io-thread run loop. No sockets.

#include <tether/testing/endpoint_arg.hpp>
#include <tether/testing/run_loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace {

using tether::testing::parse_endpoint_arg;

TEST(TestingHelpers, EndpointArgReadsHostAndPort)
{
    EXPECT_EQ(parse_endpoint_arg("127.0.0.1:7000", "--endpoint"),
              (tether::endpoint{"127.0.0.1", 7000}));
    EXPECT_EQ(parse_endpoint_arg("localhost:65535", "--endpoint"),
              (tether::endpoint{"localhost", 65535}));
    // Brackets around an IPv6 literal are dropped; to_string puts them back.
    const auto v6 = parse_endpoint_arg("[::1]:1", "--endpoint");
    EXPECT_EQ(v6, (tether::endpoint{"::1", 1}));
    EXPECT_EQ(tether::to_string(v6), "[::1]:1");
}

TEST(TestingHelpers, EndpointArgRejectsWhatIsNotHostColonPort)
{
    for (const char* bad : {"", "127.0.0.1", ":7000", "[]:7000", "host:", "host:0", "host:65536",
                            "host:70x", "host:-1", "host: 70", "[::1]"}) {
        try {
            parse_endpoint_arg(bad, "--endpoint");
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            EXPECT_EQ(what.rfind("--endpoint: ", 0), 0u) << what;
            EXPECT_NE(what.find(std::string("'") + bad + "'"), std::string::npos) << what;
        }
    }
}

TEST(TestingHelpers, RunLoopOutlivesAThrowingHandler)
{
    boost::asio::io_context io;
    bool after = false;
    boost::asio::post(io, [] { throw std::runtime_error("on purpose"); });
    boost::asio::post(io, [&] { after = true; });
    std::thread t = tether::testing::start_io_thread(io, "testing_helpers_test");
    t.join(); // returns once io ran out of work: the throw did not end the thread early
    EXPECT_TRUE(after);
}

} // namespace
