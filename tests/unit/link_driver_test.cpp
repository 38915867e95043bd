// The link driver (src/io/link*.cpp) against a scriptable fake transport on a manual clock: no
// sockets, no sleeps. The test plays the server (fake_wire) and the pool (a recording
// link_owner, and the health tick), and runs the io_context on its own thread with poll().

#include "fake_transport.hpp"
#include "io/link.hpp"
#include "manual_clock.hpp"
#include "sansio/message.hpp"

#include <tether/error.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using boost::system::error_code;
using tether::errc;
using tether::detail::link;
using tether::test::fake_wire;
namespace wire = tether::wire;

struct recording_owner final : tether::detail::link_owner {
    int ready = 0, draining = 0, closed_count = 0, returned = 0, notifies = 0;
    error_code close_reason;
    std::string close_detail;

    void on_link_ready(const std::shared_ptr<link>&) override { ++ready; }
    void on_link_draining(const std::shared_ptr<link>&) override { ++draining; }
    void on_link_closed(const std::shared_ptr<link>&, error_code reason,
                        const std::string& detail) override
    {
        ++closed_count;
        close_reason = reason;
        close_detail = detail;
    }
    void on_link_returned(link&, std::shared_ptr<link>,
                          std::shared_ptr<tether::detail::pool_anchor>*) override
    {
        ++returned;
    }
    void deliver_notify(nlohmann::json) override { ++notifies; }
    bool closed() const noexcept override { return false; }
    std::chrono::milliseconds close_grace() const noexcept override { return 1000ms; }
};

struct outcome {
    int calls = 0;
    error_code ec;
    nlohmann::json value;
};

class LinkDriver : public ::testing::Test {
protected:
    LinkDriver()
    {
        config.endpoints = {{"127.0.0.1", 7000}};
        config.connect_timeout = 5s;
        config.request_timeout = 2s;
        config.ping_interval = 10s;
        config.ping_timeout = 5s;
        config.logger = [this](tether::log_level level, std::string_view message) {
            logged.emplace_back(level, std::string(message));
        };
    }

    ~LinkDriver() override
    {
        // A pending read holds the link through its transport: close it so nothing is left.
        if (l)
            l->force_close(make_error_code(errc::connection_lost));
        run();
    }

    std::shared_ptr<fake_wire> start_link()
    {
        log.emplace(config, clock);
        context.emplace(tether::detail::link_context{
            config, counters, runner, health, 42, clock,
            tether::test::fake_transport_factory(wires, made), *log, events});
        l = std::make_shared<link>(owner, *context, 0, 1, 0);
        l->start();
        run();
        return made->back();
    }
    void run()
    {
        io.restart();
        io.poll();
    }
    std::uint64_t ping_id_in(const std::string& frame)
    {
        auto parsed = wire::parse(frame);
        EXPECT_FALSE(parsed.ec);
        const auto* p = std::get_if<wire::ping>(&parsed.msg);
        EXPECT_NE(p, nullptr) << "expected a ping, got " << frame;
        return p ? p->id : 0;
    }
    // Connects and answers the proving ping: the link is ready.
    std::shared_ptr<fake_wire> proven_link()
    {
        auto w = start_link();
        auto frames = w->take_frames();
        EXPECT_EQ(frames.size(), 1u);
        w->deliver(tether::test::encode_frame(wire::pong{ping_id_in(frames.at(0))}));
        run();
        EXPECT_EQ(owner->ready, 1);
        return w;
    }
    // Sends a request as a lease would; its completion lands in the returned outcome.
    std::shared_ptr<outcome> request(const nlohmann::json& body)
    {
        auto result = std::make_shared<outcome>();
        const auto id = l->allocate_id();
        std::string frame;
        EXPECT_FALSE(wire::serialize_request(id, body, frame, config.max_frame_size));
        link::request_op op(
            [result](error_code ec, nlohmann::json v) {
                ++result->calls;
                result->ec = ec;
                result->value = std::move(v);
            },
            runner);
        l->hold_add();
        l->submit_request(id, frame, std::move(op));
        run();
        return result;
    }
    // The pool's health tick: every link due by now gets its check.
    void health_tick()
    {
        std::vector<std::shared_ptr<link>> due;
        health.collect_due(clock.now(), due);
        for (auto& d : due)
            link::post_health_check(std::move(d));
        run();
    }
    std::uint64_t request_id_of(const std::string& frame)
    {
        auto parsed = wire::parse(frame, {wire::sender::client});
        const auto* r = std::get_if<wire::request>(&parsed.msg);
        EXPECT_NE(r, nullptr) << frame;
        return r ? r->id : 0;
    }

    tether::pool_config config;
    tether::detail::pool_counters counters;
    boost::asio::io_context io;
    tether::detail::io_runner runner{io.get_executor()}; // the link's executor: the test's io
    tether::detail::health_registry<link> health;
    tether::test::manual_clock clock;
    std::vector<std::pair<tether::log_level, std::string>> logged; // what the pool's log got
    std::optional<tether::detail::pool_log> log; // made by start_link(), from the config then
    tether::detail::flight_recorder events{1};
    std::shared_ptr<std::deque<std::shared_ptr<fake_wire>>> wires =
        std::make_shared<std::deque<std::shared_ptr<fake_wire>>>();
    std::shared_ptr<std::vector<std::shared_ptr<fake_wire>>> made =
        std::make_shared<std::vector<std::shared_ptr<fake_wire>>>();
    std::optional<tether::detail::link_context> context;
    std::shared_ptr<recording_owner> owner = std::make_shared<recording_owner>();
    std::shared_ptr<link> l;
};

TEST_F(LinkDriver, ProvesWithAPingBeforeReportingReady)
{
    auto w = start_link();
    EXPECT_TRUE(w->connect_asked);
    EXPECT_EQ(owner->ready, 0) << "not ready before the pong";
    EXPECT_FALSE(l->accepting());
    auto frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u);
    w->deliver(tether::test::encode_frame(wire::pong{ping_id_in(frames[0])}));
    run();
    EXPECT_EQ(owner->ready, 1);
    EXPECT_TRUE(l->accepting());
}

TEST_F(LinkDriver, AnInitRequestFollowsTheProofAndTheLinkJoinsOnlyWhenItIsAnswered)
{
    config.init_request = [](const tether::endpoint& ep) {
        return nlohmann::json{{"op", "login"}, {"port", ep.port}};
    };
    auto w = start_link();
    auto frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u);
    w->deliver(tether::test::encode_frame(wire::pong{ping_id_in(frames[0])}));
    run();
    EXPECT_EQ(owner->ready, 0) << "proven, not initialized";
    EXPECT_FALSE(l->accepting());
    frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u) << "the init request goes right after the pong";
    const auto parsed = wire::parse(frames[0], {wire::sender::client});
    const auto* init = std::get_if<wire::request>(&parsed.msg);
    ASSERT_NE(init, nullptr);
    EXPECT_EQ(init->body, (nlohmann::json{{"op", "login"}, {"port", 7000}}));
    w->deliver(tether::test::encode_frame(wire::response{init->id, {{"ok", 1}}, std::nullopt}));
    run();
    EXPECT_EQ(owner->ready, 1);
    EXPECT_TRUE(l->accepting());
    EXPECT_EQ(counters.late_responses.load(), 0u) << "the init response is not a stray one";
}

TEST_F(LinkDriver, ARefusedInitRequestIsAConnectFailureWithTheServersWords)
{
    config.init_request = [](const tether::endpoint&) { return nlohmann::json{{"token", "bad"}}; };
    auto w = start_link();
    w->deliver(tether::test::encode_frame(wire::pong{ping_id_in(w->take_frames().at(0))}));
    run();
    const auto id = request_id_of(w->take_frames().at(0));
    w->deliver(tether::test::encode_frame(
        wire::response{id, nullptr, wire::error_object{401, "bad token"}}));
    run();
    EXPECT_EQ(owner->ready, 0);
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::server_error);
    EXPECT_NE(owner->close_detail.find("server error 401: bad token"), std::string::npos)
        << owner->close_detail;
}

TEST_F(LinkDriver, AnUnansweredInitRequestFailsAtTheConnectTimeout)
{
    config.init_request = [](const tether::endpoint&) { return nlohmann::json{{"op", "login"}}; };
    auto w = start_link();
    w->deliver(tether::test::encode_frame(wire::pong{ping_id_in(w->take_frames().at(0))}));
    run();
    clock.advance(5s);
    run();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::connect_failed);
    EXPECT_NE(owner->close_detail.find("no response to the init request"), std::string::npos)
        << owner->close_detail;
}

TEST_F(LinkDriver, ConnectThatNeverCompletesFailsAtTheConnectTimeoutInVirtualTime)
{
    auto w = std::make_shared<fake_wire>();
    w->connect_result.reset(); // hangs
    wires->push_back(w);
    start_link();
    clock.advance(4999ms);
    run();
    EXPECT_EQ(owner->closed_count, 0);
    clock.advance(1ms);
    run();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::connect_failed);
    EXPECT_NE(owner->close_detail.find("within connect_timeout"), std::string::npos)
        << owner->close_detail;
    EXPECT_TRUE(w->closed);
}

TEST_F(LinkDriver, RefusedConnectIsAConnectFailureWithTheTransportsWords)
{
    auto w = std::make_shared<fake_wire>();
    w->connect_result = boost::asio::error::connection_refused;
    wires->push_back(w);
    start_link();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::connect_failed);
    EXPECT_NE(owner->close_detail.find("connect (fake)"), std::string::npos) << owner->close_detail;
}

TEST_F(LinkDriver, NoPongToTheProvingPingFailsTheConnect)
{
    start_link();
    clock.advance(5s);
    run();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::connect_failed);
    EXPECT_NE(owner->close_detail.find("no pong"), std::string::npos) << owner->close_detail;
}

TEST_F(LinkDriver, AResponseArrivingOneByteAtATimeCompletesTheRequest)
{
    auto w = proven_link();
    auto r = request({{"op", "echo"}});
    auto frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u);
    const auto reply = tether::test::encode_frame(
        wire::response{request_id_of(frames[0]), {{"ok", true}}, std::nullopt});
    for (std::size_t i = 0; i + 1 < reply.size(); ++i) {
        w->deliver(reply.substr(i, 1));
        run();
    }
    EXPECT_EQ(r->calls, 0) << "not before the last byte";
    w->deliver(reply.substr(reply.size() - 1));
    run();
    ASSERT_EQ(r->calls, 1);
    EXPECT_FALSE(r->ec);
    EXPECT_EQ(r->value, (nlohmann::json{{"ok", true}}));
    EXPECT_EQ(owner->returned, 1) << "the request's hold was the last";
}

TEST_F(LinkDriver, EndOfStreamFailsOutstandingRequestsAtOnceAndClosesOnce)
{
    auto w = proven_link();
    auto r1 = request({{"n", 1}});
    auto r2 = request({{"n", 2}});
    w->end_of_stream();
    run();
    EXPECT_EQ(r1->calls, 1);
    EXPECT_EQ(r2->calls, 1);
    EXPECT_EQ(r1->ec, errc::connection_lost);
    EXPECT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::connection_lost);
    EXPECT_EQ(counters.connections_lost.load(), 1u);
}

TEST_F(LinkDriver, ResetIsLostToo)
{
    auto w = proven_link();
    auto r = request({{"n", 1}});
    w->reset();
    run();
    EXPECT_EQ(r->ec, errc::connection_lost);
    EXPECT_EQ(owner->closed_count, 1);
}

TEST_F(LinkDriver, AFailedWriteLosesTheLink)
{
    auto w = proven_link();
    w->write_error = boost::asio::error::broken_pipe;
    auto r = request({{"n", 1}});
    EXPECT_EQ(r->calls, 1);
    EXPECT_EQ(r->ec, errc::connection_lost);
    EXPECT_EQ(owner->closed_count, 1);
}

TEST_F(LinkDriver, AStalledWriteTimesTheRequestOutButKeepsTheLink)
{
    auto w = proven_link();
    w->stall_writes = true;
    auto r = request({{"n", 1}});
    clock.advance(1999ms);
    run();
    EXPECT_EQ(r->calls, 0);
    clock.advance(1ms);
    run();
    ASSERT_EQ(r->calls, 1);
    EXPECT_EQ(r->ec, errc::request_timeout);
    EXPECT_EQ(owner->closed_count, 0) << "a request timeout does not poison the link";
    EXPECT_TRUE(l->accepting());
    w->release_writes();
    run();
    EXPECT_EQ(w->take_frames().size(), 1u) << "the request was written in the end";
}

TEST_F(LinkDriver, PartialDirectSendsFinishThroughTheWriteQueue)
{
    auto w = std::make_shared<fake_wire>();
    w->write_now_limit = 3; // the proving ping goes out 3 bytes directly, the rest queued
    wires->push_back(w);
    start_link();
    auto frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u) << "the whole ping arrived, in order";
    ping_id_in(frames[0]);
}

TEST_F(LinkDriver, ASilentPeerIsPingedThenDeclaredDeadWithinIntervalPlusTimeout)
{
    config.request_timeout = 60s; // longer than the detection: the ping finds the loss first
    auto w = proven_link();
    auto r = request({{"n", 1}});
    w->take_frames();
    clock.advance(9s);
    health_tick();
    EXPECT_TRUE(w->take_frames().empty()) << "no ping while the interval has not passed";
    clock.advance(1s);
    health_tick();
    auto frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u);
    ping_id_in(frames[0]);
    EXPECT_EQ(counters.pings_sent.load(), 2u) << "the proving ping, then this one";
    clock.advance(5s);
    health_tick();
    health_tick(); // the verdict is given once more after the reads queued meanwhile
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(counters.dead_links_detected.load(), 1u);
    EXPECT_EQ(r->calls, 1) << "the outstanding request fails at detection, not at its timeout";
    EXPECT_EQ(r->ec, errc::connection_lost);
}

TEST_F(LinkDriver, ADeadLinkIsLoggedAndRecordedWithWhy)
{
    auto w = proven_link();
    clock.advance(10s);
    health_tick();
    clock.advance(5s);
    health_tick();
    health_tick();
    ASSERT_EQ(owner->closed_count, 1);
    ASSERT_EQ(logged.size(), 1u) << "debug and info are below the default level";
    EXPECT_EQ(logged[0].first, tether::log_level::warn);
    EXPECT_EQ(logged[0].second, "tether: link 1 to 127.0.0.1:7000 found dead: nothing received "
                                "within ping_timeout (5000 ms) after a ping");
    std::ostringstream recent;
    events.write_recent(0, clock.now(), "", recent);
    const std::string lines = recent.str();
    const auto dead = lines.find("link 1: found dead: nothing received");
    const auto proven = lines.find("link 1: proven, ping RTT");
    const auto connected = lines.find("link 1: connected");
    ASSERT_NE(dead, std::string::npos) << lines;
    ASSERT_NE(proven, std::string::npos) << lines;
    ASSERT_NE(connected, std::string::npos) << lines;
    EXPECT_LT(dead, proven) << "newest first: " << lines;
    EXPECT_LT(proven, connected) << "newest first: " << lines;
    EXPECT_NE(lines.find("-0.000 s"), std::string::npos) << lines;
    EXPECT_NE(lines.find("-15.000 s"), std::string::npos) << lines;
    EXPECT_NE(events.most_telling(0, clock.now()).find("found dead"), std::string::npos);
}

TEST_F(LinkDriver, ALostLinkTellsWhatTheTransportSaid)
{
    config.log_min = tether::log_level::debug;
    auto w = proven_link();
    w->end_of_stream();
    run();
    ASSERT_EQ(logged.size(), 2u);
    EXPECT_EQ(logged[0].first, tether::log_level::debug);
    EXPECT_NE(logged[0].second.find("link 1 to 127.0.0.1:7000 connected (proving ping RTT"),
              std::string::npos)
        << logged[0].second;
    EXPECT_EQ(logged[1].first, tether::log_level::info);
    EXPECT_NE(logged[1].second.find("link 1 to 127.0.0.1:7000 lost: reading from 127.0.0.1:7000"),
              std::string::npos)
        << logged[1].second;
    EXPECT_NE(events.most_telling(0, clock.now()).find("link 1: lost: reading from"),
              std::string::npos)
        << events.most_telling(0, clock.now());
}

TEST_F(LinkDriver, AnyByteIsProofOfLife)
{
    auto w = proven_link();
    clock.advance(10s);
    health_tick();
    w->take_frames(); // the ping
    clock.advance(4s);
    w->deliver(std::string("\0\0", 2)); // the start of some frame: the peer is alive
    run();
    clock.advance(2s);
    health_tick();
    health_tick();
    EXPECT_EQ(owner->closed_count, 0);
}

TEST_F(LinkDriver, ServerPingsAreAnsweredAtOnce)
{
    auto w = proven_link();
    w->deliver(tether::test::encode_frame(wire::ping{77}));
    run();
    auto frames = w->take_frames();
    ASSERT_EQ(frames.size(), 1u);
    auto parsed = wire::parse(frames[0], {wire::sender::client});
    ASSERT_TRUE(std::holds_alternative<wire::pong>(parsed.msg));
    EXPECT_EQ(std::get<wire::pong>(parsed.msg).id, 77u);
}

TEST_F(LinkDriver, GoawayRefusesNewRequestsDeliversOwedRepliesThenCloses)
{
    auto w = proven_link();
    auto owed = request({{"n", 1}});
    const auto id = request_id_of(w->take_frames().at(0));
    w->deliver(tether::test::encode_frame(wire::goaway{"restart"}));
    run();
    EXPECT_EQ(owner->draining, 1);
    EXPECT_FALSE(l->accepting());
    auto refused = request({{"n", 2}});
    EXPECT_EQ(refused->ec, errc::connection_draining);
    EXPECT_TRUE(w->take_frames().empty()) << "nothing sent on a draining link";
    w->deliver(tether::test::encode_frame(wire::response{id, {{"ok", 1}}, std::nullopt}));
    run();
    EXPECT_EQ(owed->calls, 1);
    EXPECT_FALSE(owed->ec);
    EXPECT_EQ(owner->closed_count, 1) << "closed once quiet";
    EXPECT_EQ(owner->close_reason, errc::connection_draining);
}

TEST_F(LinkDriver, ALinkClosingOnPurposeGivesThePeerAGrace)
{
    auto w = proven_link();
    w->deliver(tether::test::encode_frame(wire::goaway{"restart"}));
    run();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(w->close_grace, 1000ms) << "drained: close_notify may be answered";
}

TEST_F(LinkDriver, ABrokenStreamClosesWithoutGrace)
{
    auto w = proven_link();
    w->end_of_stream();
    run();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(w->close_grace, 0ms) << "a broken stream just closes";
}

TEST_F(LinkDriver, ARefusedHandshakeKeepsItsCodeAndWords)
{
    auto w = std::make_shared<fake_wire>();
    w->connect_result = make_error_code(errc::tls_handshake_failed);
    wires->push_back(w);
    start_link();
    ASSERT_EQ(owner->closed_count, 1);
    EXPECT_EQ(owner->close_reason, errc::tls_handshake_failed);
    EXPECT_FALSE(owner->close_detail.empty());
    EXPECT_EQ(w->close_grace, 0ms);
}

TEST_F(LinkDriver, AMalformedFrameIsAProtocolErrorOfThisLinkOnly)
{
    auto w = proven_link();
    auto r = request({{"n", 1}});
    w->deliver(std::string("\0\0\0\x03{x}", 7));
    run();
    EXPECT_EQ(counters.protocol_errors.load(), 1u);
    EXPECT_EQ(owner->closed_count, 1);
    EXPECT_EQ(r->calls, 1);
}

} // namespace
