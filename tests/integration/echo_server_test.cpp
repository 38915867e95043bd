// The reference server, driven over real loopback sockets by a small blocking raw client that
// speaks the wire codec directly. Every wait is bounded (poll() with a deadline), so a broken
// server fails a test instead of hanging it.

#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"
#include "test_env.hpp"
#include "wire_client.hpp"

#include <tether/error.hpp>
#include <tether/testing/echo_server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <poll.h>
#include <random>
#include <set>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace wire = tether::wire;
using tcp = asio::ip::tcp;
using json = wire::json;
using tether::test::must_happen;
using tether::test::must_not_happen;
using tether::test::received;
using tether::test::rx;
using tether::test::scaled;
using tether::testing::echo_server;
using tether::testing::echo_server_options;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

std::string frame_header(std::uint32_t length)
{
    std::string h(wire::frame_header_size, '\0');
    wire::write_frame_length(h.data(), length);
    return h;
}

std::string frame(std::string_view payload)
{
    return frame_header(static_cast<std::uint32_t>(payload.size())) + std::string(payload);
}

/// A blocking client over a raw socket. Reads wait with poll() until a deadline.
class raw_client : public tether::test::wire_client {
public:
    explicit raw_client(std::uint16_t port) : sock_(io_)
    {
        sock_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        sock_.set_option(tcp::no_delay(true));
    }

    void send_raw(std::string_view bytes) override
    {
        asio::write(sock_, asio::buffer(bytes.data(), bytes.size()));
    }

    boost::system::error_code try_send_raw(std::string_view bytes)
    {
        boost::system::error_code ec;
        asio::write(sock_, asio::buffer(bytes.data(), bytes.size()), ec);
        return ec;
    }

    /// Reads frames (discarding them) until the connection closes or `timeout` passes.
    received read_until_closed(std::chrono::milliseconds timeout)
    {
        const auto deadline = clock_type::now() + timeout;
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            auto r = read(std::max(left, std::chrono::milliseconds(0)));
            if (r.status != rx::frame)
                return r;
        }
    }

    /// Half-close: the server sees EOF, the socket still reads.
    void shutdown_send() { sock_.shutdown(tcp::socket::shutdown_send); }

    /// Sends as much of `bytes` as the socket takes without blocking.
    std::size_t send_some_now(std::string_view bytes)
    {
        sock_.non_blocking(true);
        boost::system::error_code ec;
        const std::size_t n = sock_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
        sock_.non_blocking(false);
        return ec ? 0 : n;
    }

    void close(bool reset = false)
    {
        boost::system::error_code ignored;
        if (reset)
            sock_.set_option(asio::socket_base::linger(true, 0), ignored);
        sock_.close(ignored);
    }

private:
    std::size_t read_some(std::span<char> space, std::chrono::milliseconds timeout,
                          boost::system::error_code& ec) override
    {
        pollfd p{sock_.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count()) + 1) <= 0)
            return 0; // nothing in time, or EINTR: the caller checks its deadline and retries
        return sock_.read_some(asio::buffer(space.data(), space.size()), ec);
    }

    asio::io_context io_;
    tcp::socket sock_;
};

/// The next frame, which must be a T.
template <class T>
std::optional<T> next_as(raw_client& c, std::chrono::milliseconds timeout = must_happen())
{
    auto r = c.read(timeout);
    if (r.status != rx::frame) {
        ADD_FAILURE() << "expected a " << wire::type_name(wire::message{T{}}) << ", got "
                      << to_string(r.status) << (r.ec ? " (" + r.ec.message() + ")" : "");
        return std::nullopt;
    }
    if (!std::holds_alternative<T>(r.msg)) {
        ADD_FAILURE() << "expected a " << wire::type_name(wire::message{T{}})
                      << ", got: " << wire::to_payload(r.msg);
        return std::nullopt;
    }
    return std::get<T>(std::move(r.msg));
}

json with_test(json body, json controls)
{
    body["$test"] = std::move(controls);
    return body;
}

/// Reads `n` responses, each a success, and returns their ids.
std::set<std::uint64_t> successful_reply_ids(raw_client& c, int n)
{
    std::set<std::uint64_t> ids;
    for (int i = 0; i < n; ++i) {
        const auto r = next_as<wire::response>(c);
        if (!r)
            break;
        EXPECT_FALSE(r->error) << "reply " << r->id;
        ids.insert(r->id);
    }
    return ids;
}

/// Starts server->wait() on another thread; returns whether it finished within `timeout`.
/// On timeout it hard-stops the server so the test fails instead of hanging.
bool waits_within(echo_server& server, std::chrono::milliseconds timeout)
{
    auto done = std::async(std::launch::async, [&server] { server.wait(); });
    if (done.wait_for(timeout) == std::future_status::ready) {
        done.get();
        return true;
    }
    server.stop();
    done.get();
    return false;
}

class EchoServer : public ::testing::Test {
protected:
    echo_server& start(echo_server_options options = {})
    {
        server_ = std::make_unique<echo_server>(std::move(options));
        server_->start();
        return *server_;
    }
    std::uint16_t port() const { return server_->port(); }

    std::unique_ptr<echo_server> server_;
};

TEST_F(EchoServer, AnswersPingWithPongOfSameId)
{
    start();
    ASSERT_NE(port(), 0);
    raw_client c(port());
    for (const std::uint64_t id : {std::uint64_t{0}, std::uint64_t{7}, wire::max_id}) {
        c.ping(id);
        const auto pong = next_as<wire::pong>(c);
        ASSERT_TRUE(pong);
        EXPECT_EQ(pong->id, id);
    }
    EXPECT_EQ(server_->pings_received(), 3u);
    EXPECT_EQ(server_->protocol_errors(), 0u);
}

TEST_F(EchoServer, EchoesRequestBodiesExactly)
{
    start();
    raw_client c(port());
    const std::vector<json> bodies = {
        json{{"op", "echo"}, {"data", "hello"}},
        json("h\u00e9llo w\u00f6rld \u2014 \u65e5\u672c\u8a9e \U0001F680"),
        json{{"\u30ad\u30fc", {{"nested", json::array({1, -2, 3.5, true, nullptr, "x"})}}}},
        json::array({json::object(), json::array(), "", 0}),
        json(nullptr),
        json(9007199254740991ULL),
        json(-42),
        json("control chars \x01\t\n and quote \" and backslash \\"),
        json{{"op", "close"}}, // not a control: simply echoed
    };
    std::uint64_t id = 100;
    for (const auto& body : bodies) {
        c.request(id, body);
        const auto r = next_as<wire::response>(c);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->id, id);
        EXPECT_FALSE(r->error);
        EXPECT_EQ(r->body, body) << "sent " << body.dump() << ", got " << r->body.dump();
        ++id;
    }
    // The bytes too: a body written by hand in raw UTF-8 comes back as the same JSON text.
    c.send_raw(frame(R"({"type":"request","id":5,"body":{"s":"ÄÖÜ ✓ 𝄞","n":[1,2.25,false]}})"));
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 5u);
    EXPECT_EQ(r->body.dump(), R"({"n":[1,2.25,false],"s":"ÄÖÜ ✓ 𝄞"})");
    EXPECT_EQ(server_->requests(), bodies.size() + 1);
}

// login_token: nothing is answered before a login with the right token (pings excepted); the
// login is per connection.
TEST_F(EchoServer, RequiredLoginGatesEachConnection)
{
    echo_server_options o;
    o.login_token = "s3cret";
    start(o);
    raw_client c(port());
    const auto expect_error = [&](std::uint64_t id, const std::string& message) {
        const auto r = next_as<wire::response>(c);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->id, id);
        ASSERT_TRUE(r->error) << r->body.dump();
        EXPECT_EQ(r->error->code, 401);
        EXPECT_EQ(r->error->message, message);
    };
    c.request(1, json{{"a", 1}});
    expect_error(1, "login required");
    c.request(2, json{{"op", "login"}, {"token", "wrong"}});
    expect_error(2, "bad token");
    c.request(3, json{{"op", "login"}}); // no token at all
    expect_error(3, "bad token");
    c.ping(9);
    const auto pong = next_as<wire::pong>(c);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 9u);
    c.request(4, json{{"op", "login"}, {"token", "s3cret"}});
    auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->error);
    EXPECT_EQ(r->body, (json{{"op", "login"}, {"ok", true}}));
    c.request(5, json{{"a", 1}});
    r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->error);
    EXPECT_EQ(r->body, (json{{"a", 1}}));

    raw_client other(port()); // a new connection starts logged out
    other.request(1, json{{"a", 1}});
    const auto refused = next_as<wire::response>(other);
    ASSERT_TRUE(refused);
    ASSERT_TRUE(refused->error);
    EXPECT_EQ(refused->error->message, "login required");

    o.login_token = "";
    EXPECT_THROW(echo_server{o}, std::invalid_argument);
}

TEST_F(EchoServer, ErrorControlRepliesWithCodeAndMessage)
{
    start();
    raw_client c(port());
    c.request(1, with_test(json::object(),
                           {{"error", {{"code", 404}, {"message", "no such op \u2713"}}}}));
    auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 1u);
    ASSERT_TRUE(r->error);
    EXPECT_EQ(r->error->code, 404);
    EXPECT_EQ(r->error->message, "no such op \u2713");

    // Combined with sleep_ms: the error still comes, later.
    const auto before = clock_type::now();
    c.request(2, with_test(json::object(),
                           {{"sleep_ms", 50}, {"error", {{"code", -32000}, {"message", "late"}}}}));
    r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_GE(clock_type::now() - before, 45ms);
    EXPECT_EQ(r->id, 2u);
    ASSERT_TRUE(r->error);
    EXPECT_EQ(r->error->code, -32000);
    EXPECT_EQ(r->error->message, "late");
}

TEST_F(EchoServer, MalformedControlGetsError400AndConnectionStays)
{
    start();
    raw_client c(port());
    const std::vector<json> bad = {
        json{{"$test", 5}},
        json{{"$test", {{"sleep_ms", "soon"}}}},
        json{{"$test", {{"sleep_ms", -1}}}},
        json{{"$test", {{"bogus", true}}}},
        json{{"$test", {{"error", {{"code", 1.5}, {"message", "x"}}}}}},
        json{{"$test", {{"close", 1}}}},
    };
    std::uint64_t id = 1;
    for (const auto& body : bad) {
        c.request(id, body);
        const auto r = next_as<wire::response>(c);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->id, id);
        ASSERT_TRUE(r->error) << body.dump();
        EXPECT_EQ(r->error->code, 400);
        EXPECT_NE(r->error->message.find("$test"), std::string::npos);
        ++id;
    }
    c.ping(99);
    const auto pong = next_as<wire::pong>(c);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 99u);
}

class EchoServerPipelined : public ::testing::TestWithParam<int> {};

TEST_P(EchoServerPipelined, ThousandRequestsWithRandomSleepsAllComeBackOnce)
{
    echo_server server({.threads = GetParam()});
    server.start();
    raw_client c(server.port());

    constexpr std::uint64_t count = 1000;
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> sleep_ms(0, 20);
    std::map<std::uint64_t, json> sent;
    std::string batch;
    for (std::uint64_t id = 1; id <= count; ++id) {
        json body = {{"i", id}, {"text", "req-" + std::to_string(id) + "-\u00e9"}};
        body["$test"] = {{"sleep_ms", sleep_ms(rng)}};
        ASSERT_FALSE(wire::serialize_request(id, body, batch, 1u << 20));
        sent.emplace(id, std::move(body));
    }
    c.send_raw(batch); // all 1,000 pipelined in one go

    std::vector<std::uint64_t> order;
    std::set<std::uint64_t> seen;
    const auto deadline = clock_type::now() + scaled(20s);
    while (order.size() < count && clock_type::now() < deadline) {
        const auto r = next_as<wire::response>(
            c, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()));
        ASSERT_TRUE(r) << "after " << order.size() << " responses";
        ASSERT_FALSE(r->error);
        ASSERT_TRUE(sent.contains(r->id)) << "unknown id " << r->id;
        EXPECT_TRUE(seen.insert(r->id).second) << "id " << r->id << " answered twice";
        EXPECT_EQ(r->body, sent.at(r->id));
        order.push_back(r->id);
    }
    ASSERT_EQ(order.size(), count);
    EXPECT_EQ(seen.size(), count);
    const auto in_order = std::is_sorted(order.begin(), order.end());
    EXPECT_FALSE(in_order) << "random sleeps should reorder the responses";
    std::size_t inversions = 0;
    for (std::size_t i = 1; i < order.size(); ++i)
        inversions += order[i] < order[i - 1] ? 1u : 0u;
    EXPECT_GT(inversions, 10u);
    // Nothing more arrives.
    EXPECT_EQ(c.read(scaled(50ms)).status, rx::timeout);
    EXPECT_EQ(server.requests(), count);
}

INSTANTIATE_TEST_SUITE_P(EchoServer, EchoServerPipelined, ::testing::Values(1, 2),
                         [](const auto& p) { return "threads_" + std::to_string(p.param); });

struct garbage_case {
    std::string name;
    std::string bytes;
};

// Test names in ctest show the case's name, not a byte dump.
void PrintTo(const garbage_case& c, std::ostream* os)
{
    *os << c.name;
}

class EchoServerGarbage : public ::testing::TestWithParam<garbage_case> {};

TEST_P(EchoServerGarbage, ClosesOnlyThatConnection)
{
    echo_server server({.max_frame_size = 1024, .max_json_depth = 8});
    server.start();
    raw_client good(server.port());
    raw_client bad(server.port());
    good.ping(1);
    ASSERT_TRUE(next_as<wire::pong>(good));
    bad.ping(1);
    ASSERT_TRUE(next_as<wire::pong>(bad));

    // The garbage, then a valid request that must not be answered: the connection is gone.
    std::string bytes = GetParam().bytes;
    ASSERT_FALSE(wire::serialize_request(3, "after", bytes, 1024));
    (void)bad.try_send_raw(bytes);
    const auto end = bad.read(must_happen());
    EXPECT_EQ(end.status, rx::closed)
        << "got " << to_string(end.status)
        << (end.status == rx::frame ? ": " + wire::to_payload(end.msg) : "");

    // The other connection, open all along, still works.
    good.request(10, {{"still", "works"}});
    const auto r = next_as<wire::response>(good);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 10u);
    EXPECT_EQ(r->body, (json{{"still", "works"}}));
    EXPECT_EQ(server.protocol_errors(), 1u);
    EXPECT_TRUE(
        tether::test::poll_until([&] { return server.connections_open() == 1; }, must_happen()));
}

std::string nested(int depth)
{
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
}

INSTANTIATE_TEST_SUITE_P(
    EchoServer, EchoServerGarbage,
    ::testing::Values(
        garbage_case{"invalid_json", frame("{\"type\":\"ping\",\"id\":")},
        garbage_case{"not_json_at_all", frame("hello, world")},
        garbage_case{"invalid_utf8",
                     frame("{\"type\":\"request\",\"id\":4,\"body\":\"\xff\xfe\"}")},
        garbage_case{"zero_length", frame_header(0)},
        garbage_case{"over_limit_length", frame_header(1025) + std::string(64, 'x')},
        garbage_case{"huge_length", frame_header(0xFFFFFFFFu)},
        garbage_case{"not_an_object", frame("[1,2,3]")},
        garbage_case{"missing_type", frame("{\"id\":1}")},
        garbage_case{"request_without_id", frame("{\"type\":\"request\",\"body\":1}")},
        garbage_case{"request_without_body", frame("{\"type\":\"request\",\"id\":4}")},
        garbage_case{"ping_with_negative_id", frame("{\"type\":\"ping\",\"id\":-1}")},
        garbage_case{"ping_with_fractional_id", frame("{\"type\":\"ping\",\"id\":1.5}")},
        garbage_case{"notify_without_body", frame("{\"type\":\"notify\"}")},
        garbage_case{"too_deep",
                     frame("{\"type\":\"request\",\"id\":4,\"body\":" + nested(8) + "}")}),
    [](const auto& p) { return p.param.name; });

TEST_F(EchoServer, UnknownAndWrongDirectionTypesAreIgnoredAndCounted)
{
    start();
    raw_client c(port());
    c.send_raw(frame(R"({"type":"frobnicate","id":1})"));
    c.send_raw(frame(R"({"type":"goaway","reason":"client says"})"));
    c.send_raw(frame(R"({"type":"response","id":1,"body":1})"));
    c.send_raw(frame(R"({"type":"notify","body":{"hello":1}})")); // valid one-way, not counted
    c.send_raw(frame(R"({"type":"pong","id":77,"extra":"ignored"})"));
    c.ping(2);
    const auto pong = next_as<wire::pong>(c);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 2u);
    EXPECT_EQ(server_->unknown_messages(), 3u);
    EXPECT_EQ(server_->pongs_received(), 1u);
    EXPECT_EQ(server_->protocol_errors(), 0u);
}

TEST_F(EchoServer, ByteAtATimeFramesAreDecoded)
{
    start();
    raw_client c(port());
    std::string bytes;
    ASSERT_FALSE(wire::serialize_request(1, {{"split", "every byte \u2603"}}, bytes, 1u << 20));
    ASSERT_FALSE(wire::serialize(wire::ping{2}, bytes, 1u << 20));
    for (const char b : bytes) {
        c.send_raw(std::string_view(&b, 1));
        std::this_thread::sleep_for(100us);
    }
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, (json{{"split", "every byte \u2603"}}));
    const auto pong = next_as<wire::pong>(c);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 2u);
}

TEST_F(EchoServer, LargeBodyIsEchoed)
{
    start();
    raw_client c(port());
    const json body = {{"blob", std::string(3u << 20, 'z')}};
    c.request(1, body);
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, body);
}

TEST_F(EchoServer, ResponseOverMaxFrameBecomesError413)
{
    start({.max_frame_size = 256});
    raw_client c(port());
    // A request of exactly 256 payload bytes: its response is one byte longer ("response").
    std::string payload = R"({"type":"request","id":1,"body":")";
    payload += std::string(256 - payload.size() - 2, 'a') + "\"}";
    ASSERT_EQ(payload.size(), 256u);
    c.send_raw(frame(payload));
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 1u);
    ASSERT_TRUE(r->error);
    EXPECT_EQ(r->error->code, 413);
    c.ping(2);
    EXPECT_TRUE(next_as<wire::pong>(c));
}

TEST_F(EchoServer, SleepDoesNotDelayPingsOrOtherRequests)
{
    start();
    raw_client c(port());
    const auto slow = scaled(1500ms);
    c.request(1, with_test({{"slow", true}}, {{"sleep_ms", slow.count()}}));
    c.ping(2);
    c.request(3, {{"fast", true}});
    const auto before = clock_type::now();
    const auto pong = next_as<wire::pong>(c);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 2u);
    const auto fast = next_as<wire::response>(c);
    ASSERT_TRUE(fast);
    EXPECT_EQ(fast->id, 3u);
    EXPECT_LT(clock_type::now() - before, slow / 2);
    const auto late = next_as<wire::response>(c, slow + must_happen());
    ASSERT_TRUE(late);
    EXPECT_EQ(late->id, 1u);
    EXPECT_EQ(late->body, with_test({{"slow", true}}, {{"sleep_ms", slow.count()}}));
}

TEST_F(EchoServer, NotifyControlSendsNotifiesBeforeTheResponse)
{
    start();
    raw_client c(port());
    c.request(9, with_test({{"op", "subscribe"}}, {{"notify", 5}}));
    for (std::uint64_t i = 0; i < 5; ++i) {
        const auto n = next_as<wire::notify>(c);
        ASSERT_TRUE(n);
        EXPECT_EQ(n->body, (json{{"seq", i}}));
    }
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 9u);
    EXPECT_EQ(r->body, with_test({{"op", "subscribe"}}, {{"notify", 5}}));
}

TEST_F(EchoServer, NoReplyControlLeavesOnlyThatRequestUnanswered)
{
    start();
    raw_client c(port());
    c.request(1, with_test(json::object(), {{"no_reply", true}}));
    c.request(2, json{{"n", 2}});
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 2u);
    EXPECT_EQ(c.read(must_not_happen()).status, rx::timeout);
    EXPECT_EQ(server_->requests(), 2u);
}

TEST_F(EchoServer, CloseControlClosesWithFinWithoutReplying)
{
    start();
    raw_client c(port());
    c.request(1, with_test(json::object(), {{"close", true}}));
    const auto r = c.read(must_happen());
    ASSERT_EQ(r.status, rx::closed) << to_string(r.status);
    EXPECT_EQ(r.ec, asio::error::eof) << r.ec.message();
    EXPECT_TRUE(
        tether::test::poll_until([&] { return server_->connections_open() == 0; }, must_happen()));
}

TEST_F(EchoServer, ResetControlClosesWithRst)
{
    start();
    raw_client c(port());
    c.request(1, with_test(json::object(), {{"reset", true}}));
    const auto r = c.read(must_happen());
    ASSERT_EQ(r.status, rx::closed) << to_string(r.status);
    EXPECT_EQ(r.ec, asio::error::connection_reset) << r.ec.message();
}

TEST_F(EchoServer, GoawayControlRepliesThenSendsGoawayAndKeepsServing)
{
    start();
    raw_client c(port());
    c.request(1, with_test({{"k", 1}}, {{"goaway", true}}));
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 1u);
    const auto g = next_as<wire::goaway>(c);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->reason, "test");
    // A request that crossed the goaway is still answered.
    c.request(2, "crossed");
    const auto late = next_as<wire::response>(c);
    ASSERT_TRUE(late);
    EXPECT_EQ(late->id, 2u);
    EXPECT_EQ(late->body, "crossed");
}

TEST_F(EchoServer, HangControlSilencesOnlyThatConnection)
{
    start();
    raw_client hung(port());
    raw_client other(port());
    hung.request(1, with_test(json::object(), {{"hang", true}}));
    hung.ping(2);
    hung.request(3, "anyone?");
    const auto silent = hung.read(must_not_happen());
    EXPECT_EQ(silent.status, rx::timeout)
        << "a hung connection answered or closed: " << to_string(silent.status);

    other.ping(4);
    const auto pong = next_as<wire::pong>(other);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 4u);
    other.request(5, "fine");
    const auto r = next_as<wire::response>(other);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "fine");

    EXPECT_EQ(server_->connections_open(), 2u); // the hung socket stays open
    server_->stop();
    EXPECT_EQ(hung.read_until_closed(must_happen()).status, rx::closed);
}

TEST_F(EchoServer, UnresponsiveServerAcceptsButServesNothingUntilResumed)
{
    start();
    raw_client before(port());
    before.ping(1);
    ASSERT_TRUE(next_as<wire::pong>(before));

    server_->set_unresponsive(true);
    before.ping(2);
    before.request(3, "queued");
    EXPECT_EQ(before.read(must_not_happen()).status, rx::timeout);
    raw_client during(port()); // the kernel completes the handshake (listen backlog)
    during.ping(4);
    EXPECT_EQ(during.read(must_not_happen()).status, rx::timeout);
    EXPECT_EQ(server_->pings_received(), 1u);

    server_->set_unresponsive(false);
    const auto pong = next_as<wire::pong>(before);
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->id, 2u);
    const auto r = next_as<wire::response>(before);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 3u);
    EXPECT_EQ(r->body, "queued");
    const auto late = next_as<wire::pong>(during);
    ASSERT_TRUE(late);
    EXPECT_EQ(late->id, 4u);
}

TEST_F(EchoServer, PingsEveryConnectionAtPingInterval)
{
    start({.ping_interval = 50ms});
    raw_client c(port());
    std::uint64_t last_id = 0;
    const auto before = clock_type::now();
    for (int i = 0; i < 3; ++i) {
        const auto p = next_as<wire::ping>(c);
        ASSERT_TRUE(p);
        EXPECT_GT(p->id, last_id);
        last_id = p->id;
        c.send(wire::pong{p->id});
    }
    EXPECT_GE(clock_type::now() - before, 100ms); // three intervals since the accept
    EXPECT_TRUE(
        tether::test::poll_until([&] { return server_->pongs_received() >= 3; }, must_happen()));
    EXPECT_GE(server_->pings_sent(), 3u);

    // Without ping_interval the server never pings.
    echo_server quiet;
    quiet.start();
    raw_client q(quiet.port());
    EXPECT_EQ(q.read(must_not_happen()).status, rx::timeout);
    EXPECT_EQ(quiet.pings_sent(), 0u);
}

TEST_F(EchoServer, DrainSendsGoawayAnswersLateRequestsAndStopsWhenClientCloses)
{
    start({.drain_timeout = scaled(30s)});
    raw_client c(port());
    c.request(1, "before");
    ASSERT_TRUE(next_as<wire::response>(c));

    server_->begin_drain();
    const auto g = next_as<wire::goaway>(c);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->reason, "shutdown");

    // A request sent after the goaway (crossing it in flight) is still answered.
    c.request(2, {{"after", "goaway"}});
    const auto r = next_as<wire::response>(c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 2u);
    EXPECT_EQ(r->body, (json{{"after", "goaway"}}));

    // No new connections.
    EXPECT_TRUE(tether::test::poll_until(
        [&] {
            asio::io_context io;
            tcp::socket s(io);
            boost::system::error_code ec;
            s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ec);
            return ec == asio::error::connection_refused;
        },
        must_happen()));

    c.close();
    const auto before = clock_type::now();
    EXPECT_TRUE(waits_within(*server_, must_happen()));
    EXPECT_LT(clock_type::now() - before, scaled(2s)); // well before the 30 s drain timeout
    EXPECT_EQ(server_->connections_open(), 0u);
}

TEST_F(EchoServer, DrainTimeoutClosesClientsThatStayConnected)
{
    start({.drain_timeout = 200ms});
    raw_client c(port());
    c.ping(1);
    ASSERT_TRUE(next_as<wire::pong>(c));
    const auto before = clock_type::now();
    server_->begin_drain();
    EXPECT_TRUE(next_as<wire::goaway>(c));
    const auto end = c.read_until_closed(must_happen());
    EXPECT_EQ(end.status, rx::closed);
    EXPECT_GE(clock_type::now() - before, 150ms);
    EXPECT_TRUE(waits_within(*server_, must_happen()));
}

TEST_F(EchoServer, DrainAndStopWithoutConnectionsReturnsPromptly)
{
    start();
    const auto before = clock_type::now();
    server_->drain_and_stop();
    EXPECT_LT(clock_type::now() - before, scaled(1s));
    server_->drain_and_stop(); // idempotent
    server_->stop();
}

TEST_F(EchoServer, CloseAllConnectionsWithResetOrFinAndKeepsAccepting)
{
    start();
    raw_client a(port());
    raw_client b(port());
    a.ping(1);
    b.ping(1);
    ASSERT_TRUE(next_as<wire::pong>(a));
    ASSERT_TRUE(next_as<wire::pong>(b));
    server_->close_all_connections(true);
    for (auto* c : {&a, &b}) {
        const auto r = c->read(must_happen());
        ASSERT_EQ(r.status, rx::closed);
        EXPECT_EQ(r.ec, asio::error::connection_reset) << r.ec.message();
    }

    raw_client d(port());
    d.ping(2);
    ASSERT_TRUE(next_as<wire::pong>(d));
    server_->close_all_connections(false);
    const auto r = d.read(must_happen());
    ASSERT_EQ(r.status, rx::closed);
    EXPECT_EQ(r.ec, asio::error::eof) << r.ec.message();
    EXPECT_EQ(server_->connections_accepted(), 3u);
    EXPECT_TRUE(
        tether::test::poll_until([&] { return server_->connections_open() == 0; }, must_happen()));
}

TEST_F(EchoServer, HardStopWithBusyConnectionsIsPromptAndReleasesEveryDescriptor)
{
    const int fds_before = tether::test::open_fd_count();
    {
        echo_server server({.threads = 2, .ping_interval = 5ms});
        server.start();
        raw_client hung(server.port());
        raw_client sleeping(server.port());
        raw_client idle(server.port());
        hung.request(1, with_test(json::object(), {{"hang", true}}));
        sleeping.request(1, with_test(json::object(), {{"sleep_ms", 600000}}));
        for (int i = 0; i < 50; ++i)
            sleeping.request(static_cast<std::uint64_t>(i + 2),
                             with_test(json::object(), {{"sleep_ms", 10 + i}}));
        idle.ping(1);
        EXPECT_TRUE(
            tether::test::poll_until([&] { return server.requests() == 52; }, must_happen()));
        EXPECT_EQ(server.connections_open(), 3u);

        const auto before = clock_type::now();
        server.stop();
        EXPECT_LT(clock_type::now() - before, scaled(1s));
        EXPECT_EQ(hung.read_until_closed(must_happen()).status, rx::closed);
        EXPECT_EQ(sleeping.read_until_closed(must_happen()).status, rx::closed);
        EXPECT_EQ(idle.read_until_closed(must_happen()).status, rx::closed);
        server.stop(); // idempotent
    }
    EXPECT_EQ(tether::test::open_fd_count(), fds_before);
}

TEST_F(EchoServer, DrainedServerReleasesEveryDescriptor)
{
    const int fds_before = tether::test::open_fd_count();
    {
        echo_server server({.threads = 2});
        server.start();
        {
            raw_client c(server.port());
            c.request(1, "x");
            ASSERT_TRUE(next_as<wire::response>(c));
            server.begin_drain();
            ASSERT_TRUE(next_as<wire::goaway>(c));
        }
        EXPECT_TRUE(waits_within(server, must_happen()));
    }
    EXPECT_EQ(tether::test::open_fd_count(), fds_before);
}

TEST_F(EchoServer, DestructorStopsARunningServer)
{
    const int fds_before = tether::test::open_fd_count();
    {
        echo_server server;
        server.start();
        raw_client c(server.port());
        c.ping(1);
        ASSERT_TRUE(next_as<wire::pong>(c));
    }
    {
        echo_server never_started; // destroying it is fine too
    }
    EXPECT_EQ(tether::test::open_fd_count(), fds_before);
}

TEST_F(EchoServer, StartFailuresThrow)
{
    start();
    echo_server clash({.port = port()});
    EXPECT_THROW(clash.start(), std::system_error);
    EXPECT_THROW(server_->start(), std::logic_error);
    echo_server not_ours({.host = "192.0.2.1"}); // TEST-NET-1: not a local address
    EXPECT_THROW(not_ours.start(), std::system_error);
    EXPECT_THROW(echo_server({.threads = 0}), std::invalid_argument);
    EXPECT_THROW(echo_server({.max_frame_size = 0}), std::invalid_argument);
}

TEST_F(EchoServer, HalfClosedClientStillGetsEveryOwedReply)
{
    start();
    raw_client c(port());
    c.request(1, with_test(json{{"n", 1}}, {{"sleep_ms", 100}}));
    c.request(2, json{{"n", 2}});
    c.shutdown_send(); // the server reads EOF with a reply still sleeping
    EXPECT_EQ(successful_reply_ids(c, 2), (std::set<std::uint64_t>{1, 2}));
    // Nothing more is owed: the server closes.
    const auto end = c.read(must_happen());
    EXPECT_EQ(end.status, rx::closed);
    EXPECT_EQ(end.ec, asio::error::eof);
}

TEST_F(EchoServer, ClientThatDoesNotReadStopsBeingReadFrom)
{
    start();
    raw_client c(port());
    // 64 KiB requests, sent without reading a single reply: the server must stop taking them
    // once its replies back up (kernel buffers plus its own 1 MiB), so our sends stall well
    // before the 64 MiB offered. Without that, it would buffer replies without bound.
    const std::string data(64 * 1024, 'x');
    constexpr std::size_t offered = 1024;
    std::string stream;
    for (std::uint64_t id = 1; id <= offered; ++id)
        stream += frame(wire::to_payload(wire::request{id, json{{"d", data}}}));
    std::size_t sent = 0;
    auto last_progress = clock_type::now();
    while (sent < stream.size() && clock_type::now() - last_progress < scaled(1s)) {
        const std::size_t n = c.send_some_now(std::string_view(stream).substr(sent));
        if (n > 0) {
            sent += n;
            last_progress = clock_type::now();
        } else {
            std::this_thread::sleep_for(5ms);
        }
    }
    EXPECT_LT(sent, stream.size() / 2) << "the server kept reading from a client that never reads";
    // Reading resumes the flow: everything offered is answered, in order, exactly once.
    std::uint64_t expected = 1;
    const auto deadline = clock_type::now() + scaled(60s);
    while (expected <= offered && clock_type::now() < deadline) {
        if (sent < stream.size())
            sent += c.send_some_now(std::string_view(stream).substr(sent));
        auto r = c.read(50ms);
        if (r.status == rx::timeout)
            continue;
        ASSERT_EQ(r.status, rx::frame) << to_string(r.status);
        auto* resp = std::get_if<wire::response>(&r.msg);
        ASSERT_NE(resp, nullptr);
        ASSERT_EQ(resp->id, expected);
        ASSERT_EQ(resp->body["d"].get_ref<const std::string&>().size(), data.size());
        ++expected;
    }
    EXPECT_EQ(expected, offered + 1);
    EXPECT_EQ(server_->protocol_errors(), 0u);
}

// The command-line program: SIGTERM sends goaway, owed replies still go out, exit status 0.
TEST(EchoServerCli, SigtermSendsGoawayAnswersOwedRepliesAndExitsZero)
{
#ifndef TETHER_ECHO_SERVER_CLI
    GTEST_SKIP() << "the echo_server program is not built in this configuration (samples and "
                    "benches off)";
#else
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[0]);
        ::close(out[1]);
        ::execl(TETHER_ECHO_SERVER_CLI, TETHER_ECHO_SERVER_CLI, "--port", "0", "--threads", "2",
                "--drain-timeout", "10000", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);
    // Reap the child whatever happens below.
    struct reaper {
        pid_t pid;
        int fd;
        bool reaped = false;
        ~reaper()
        {
            ::close(fd);
            if (!reaped) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
            }
        }
    } child{pid, out[0]};

    std::string banner;
    const auto banner_deadline = clock_type::now() + must_happen();
    while (banner.find('\n') == std::string::npos && clock_type::now() < banner_deadline) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0)
            continue;
        char buf[256];
        const ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0)
            break;
        banner.append(buf, static_cast<std::size_t>(n));
    }
    unsigned port = 0;
    ASSERT_EQ(std::sscanf(banner.c_str(), "LISTENING %u", &port), 1) << banner;

    raw_client c(static_cast<std::uint16_t>(port));
    c.request(1, with_test(json{{"owed", true}}, {{"sleep_ms", 200}}));
    c.ping(5);
    ASSERT_TRUE(next_as<wire::pong>(c)); // the request has surely arrived
    ASSERT_EQ(::kill(pid, SIGTERM), 0);

    const auto goaway = next_as<wire::goaway>(c);
    ASSERT_TRUE(goaway);
    EXPECT_EQ(goaway->reason, "shutdown");
    c.request(2, json{{"crossed", "the goaway"}}); // still answered while draining
    EXPECT_EQ(successful_reply_ids(c, 2), (std::set<std::uint64_t>{1, 2}));
    c.close(); // the last client gone: the server exits without waiting for the drain timeout

    int status = 0;
    pid_t done = 0;
    const auto exit_deadline = clock_type::now() + must_happen();
    while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && clock_type::now() < exit_deadline)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(done, pid) << "echo_server did not exit after its last client closed";
    child.reaped = true;
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
#endif
}

} // namespace
