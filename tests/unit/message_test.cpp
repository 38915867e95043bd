// Unit tests of protocol v1 messages: parse (validation per protocol.md "Rules a receiver
// follows"), serialize, json_depth.

#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"
#include "test_env.hpp"

#include <tether/error.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace wire = tether::wire;
using wire::json;
using wire::sender;

constexpr std::uint32_t no_limit = std::numeric_limits<std::uint32_t>::max();

wire::parse_options from(sender s)
{
    wire::parse_options o;
    o.from = s;
    return o;
}

/// Serializes `msg`, decodes the frame with a frame_decoder, returns the payload text.
std::string frame_payload(const wire::message& msg)
{
    std::string out;
    const auto ec = wire::serialize(msg, out, wire::default_max_frame_size);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_GE(out.size(), wire::frame_header_size);
    if (out.size() < wire::frame_header_size)
        return {};
    EXPECT_EQ(wire::read_frame_length(out.data()), out.size() - wire::frame_header_size);

    wire::frame_decoder d;
    d.feed(out);
    std::string_view payload;
    boost::system::error_code dec;
    EXPECT_EQ(d.next(payload, dec), wire::decode_status::frame) << dec.message();
    std::string text(payload);
    EXPECT_EQ(d.buffered(), 0u);
    return text;
}

/// serialize -> frame_decoder -> parse, as the peer `as` would see it.
wire::message round_trip(const wire::message& msg, sender as)
{
    const std::string payload = frame_payload(msg);
    auto r = wire::parse(payload, from(as));
    EXPECT_FALSE(r.ec) << r.ec.message() << ": " << r.detail << " in " << payload;
    return std::move(r.msg);
}

wire::parse_result parse_as(std::string_view payload, sender s)
{
    return wire::parse(payload, from(s));
}

// ---------------------------------------------------------------------------------------------
// Round trips, field by field

TEST(MessageRoundTrip, Ping)
{
    for (const sender s : {sender::client, sender::server}) {
        for (const std::uint64_t id : {std::uint64_t{0}, std::uint64_t{7}, wire::max_id}) {
            const auto m = round_trip(wire::ping{id}, s);
            ASSERT_TRUE(std::holds_alternative<wire::ping>(m));
            EXPECT_EQ(std::get<wire::ping>(m).id, id);
        }
    }
}

TEST(MessageRoundTrip, Pong)
{
    for (const sender s : {sender::client, sender::server}) {
        for (const std::uint64_t id : {std::uint64_t{0}, std::uint64_t{7}, wire::max_id}) {
            const auto m = round_trip(wire::pong{id}, s);
            ASSERT_TRUE(std::holds_alternative<wire::pong>(m));
            EXPECT_EQ(std::get<wire::pong>(m).id, id);
        }
    }
}

std::vector<json> sample_bodies()
{
    return {
        json::parse(R"({"op":"echo","data":"hello"})"),
        json(nullptr),
        json(true),
        json(0),
        json(-12),
        json(1.5),
        json(std::numeric_limits<std::uint64_t>::max()),
        json("text with \"quotes\", \\ backslash, \n newline, \t tab, \x01 control, "
             "h\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80"),
        json(""),
        json::array(),
        json::object(),
        json::parse(R"([1,[2,[3,[4]]],{"a":{"b":[null,false]}}])"),
        json::parse(R"({"$test":{"delay_ms":5},"type":"not-the-type","id":"x"})"),
        json(std::string(100000, 'x')),
    };
}

TEST(MessageRoundTrip, Request)
{
    std::uint64_t id = 1;
    for (const json& body : sample_bodies()) {
        SCOPED_TRACE(body.dump().substr(0, 80));
        const auto m = round_trip(wire::request{id, body}, sender::client);
        ASSERT_TRUE(std::holds_alternative<wire::request>(m));
        EXPECT_EQ(std::get<wire::request>(m).id, id);
        EXPECT_EQ(std::get<wire::request>(m).body, body);
        id += 1000003;
    }
    const auto m = round_trip(wire::request{wire::max_id, json(1)}, sender::client);
    ASSERT_TRUE(std::holds_alternative<wire::request>(m));
    EXPECT_EQ(std::get<wire::request>(m).id, wire::max_id);
}

TEST(MessageRoundTrip, ResponseWithBody)
{
    std::uint64_t id = 0;
    for (const json& body : sample_bodies()) {
        SCOPED_TRACE(body.dump().substr(0, 80));
        const auto m = round_trip(wire::response{id, body, std::nullopt}, sender::server);
        ASSERT_TRUE(std::holds_alternative<wire::response>(m));
        const auto& r = std::get<wire::response>(m);
        EXPECT_EQ(r.id, id);
        EXPECT_EQ(r.body, body);
        EXPECT_FALSE(r.error.has_value());
        id += 3;
    }
}

TEST(MessageRoundTrip, ResponseWithError)
{
    const std::vector<wire::error_object> errors = {
        {404, "no such op"},
        {0, ""},
        {-32601, "method \"x\" not found\n"},
        {std::numeric_limits<std::int64_t>::max(), "max"},
        {std::numeric_limits<std::int64_t>::min(), "min"},
        {500, "h\xc3\xa9 \xe2\x82\xac"},
    };
    for (const auto& e : errors) {
        SCOPED_TRACE(e.message);
        const auto m = round_trip(wire::response{43, json(nullptr), e}, sender::server);
        ASSERT_TRUE(std::holds_alternative<wire::response>(m));
        const auto& r = std::get<wire::response>(m);
        EXPECT_EQ(r.id, 43u);
        ASSERT_TRUE(r.error.has_value());
        EXPECT_EQ(r.error->code, e.code);
        EXPECT_EQ(r.error->message, e.message);
        EXPECT_TRUE(r.body.is_null());
    }
}

TEST(MessageRoundTrip, Notify)
{
    for (const sender s : {sender::client, sender::server}) {
        for (const json& body : sample_bodies()) {
            SCOPED_TRACE(body.dump().substr(0, 80));
            const auto m = round_trip(wire::notify{body}, s);
            ASSERT_TRUE(std::holds_alternative<wire::notify>(m));
            EXPECT_EQ(std::get<wire::notify>(m).body, body);
        }
    }
}

TEST(MessageRoundTrip, Goaway)
{
    for (const std::string reason : {"restart", "", "h\xc3\xa9 \"quoted\""}) {
        const auto m = round_trip(wire::goaway{reason}, sender::server);
        ASSERT_TRUE(std::holds_alternative<wire::goaway>(m));
        EXPECT_EQ(std::get<wire::goaway>(m).reason, reason);
    }
}

TEST(MessageRoundTrip, Unknown)
{
    for (const sender s : {sender::client, sender::server}) {
        const auto m = round_trip(wire::unknown{"subscribe"}, s);
        ASSERT_TRUE(std::holds_alternative<wire::unknown>(m));
        EXPECT_EQ(std::get<wire::unknown>(m).type, "subscribe");
    }
}

TEST(MessageRoundTrip, SeveralFramesInOneBufferDecodeInOrder)
{
    std::string out;
    ASSERT_FALSE(wire::serialize(wire::ping{1}, out, no_limit));
    ASSERT_FALSE(wire::serialize_request(2, json{{"k", "v"}}, out, no_limit));
    ASSERT_FALSE(wire::serialize(wire::notify{json(3)}, out, no_limit));
    wire::frame_decoder d;
    d.feed(out);
    std::string_view p;
    boost::system::error_code ec;
    ASSERT_EQ(d.next(p, ec), wire::decode_status::frame);
    auto r = parse_as(p, sender::client);
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(std::get<wire::ping>(r.msg).id, 1u);
    ASSERT_EQ(d.next(p, ec), wire::decode_status::frame);
    r = parse_as(p, sender::client);
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(std::get<wire::request>(r.msg).id, 2u);
    EXPECT_EQ(std::get<wire::request>(r.msg).body, (json{{"k", "v"}}));
    ASSERT_EQ(d.next(p, ec), wire::decode_status::frame);
    r = parse_as(p, sender::client);
    ASSERT_FALSE(r.ec);
    EXPECT_EQ(std::get<wire::notify>(r.msg).body, json(3));
    EXPECT_EQ(d.next(p, ec), wire::decode_status::need_more);
}

// ---------------------------------------------------------------------------------------------
// Exact encoding

struct encoding_case {
    wire::message msg;
    std::string payload;
};

TEST(MessageEncoding, ExactPayloadText)
{
    const std::vector<encoding_case> cases = {
        {wire::ping{7}, R"({"type":"ping","id":7})"},
        {wire::pong{7}, R"({"type":"pong","id":7})"},
        {wire::ping{0}, R"({"type":"ping","id":0})"},
        {wire::ping{wire::max_id}, R"({"type":"ping","id":9007199254740991})"},
        {wire::request{42, json{{"op", "echo"}, {"data", "hello"}}},
         R"({"type":"request","id":42,"body":{"data":"hello","op":"echo"}})"},
        {wire::request{1, json(nullptr)}, R"({"type":"request","id":1,"body":null})"},
        {wire::response{42, json{{"op", "echo"}, {"data", "hello"}}, std::nullopt},
         R"({"type":"response","id":42,"body":{"data":"hello","op":"echo"}})"},
        {wire::response{43, json(nullptr), wire::error_object{404, "no such op"}},
         R"({"type":"response","id":43,"error":{"code":404,"message":"no such op"}})"},
        {wire::response{44, json(nullptr), wire::error_object{-1, "a\"b"}},
         R"({"type":"response","id":44,"error":{"code":-1,"message":"a\"b"}})"},
        {wire::notify{json{{"event", "config-changed"}}},
         R"({"type":"notify","body":{"event":"config-changed"}})"},
        {wire::goaway{"restart"}, R"({"type":"goaway","reason":"restart"})"},
        {wire::unknown{"subscribe"}, R"({"type":"subscribe"})"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.payload);
        std::string out;
        ASSERT_FALSE(wire::serialize(c.msg, out, wire::default_max_frame_size));
        ASSERT_EQ(out.size(), wire::frame_header_size + c.payload.size());
        EXPECT_EQ(wire::read_frame_length(out.data()), c.payload.size());
        EXPECT_EQ(out.substr(wire::frame_header_size), c.payload);
        EXPECT_EQ(wire::to_payload(c.msg), c.payload);
    }
}

TEST(MessageEncoding, HeaderBytesAreBigEndianPayloadLength)
{
    std::string out;
    ASSERT_FALSE(wire::serialize(wire::ping{7}, out, no_limit));
    // {"type":"ping","id":7} is 22 bytes.
    ASSERT_EQ(out.size(), 26u);
    EXPECT_EQ(out.substr(0, 4), std::string("\x00\x00\x00\x16", 4));

    std::string big;
    ASSERT_FALSE(wire::serialize(wire::notify{json(std::string(70000, 'a'))}, big, no_limit));
    const std::size_t length = big.size() - 4; // {"type":"notify","body":"aaa..."}
    EXPECT_EQ(length, 70000u + std::string_view(R"({"type":"notify","body":""})").size());
    EXPECT_EQ(static_cast<unsigned char>(big[0]), 0u);
    EXPECT_EQ(static_cast<unsigned char>(big[1]), (length >> 16) & 0xffu);
    EXPECT_EQ(static_cast<unsigned char>(big[2]), (length >> 8) & 0xffu);
    EXPECT_EQ(static_cast<unsigned char>(big[3]), length & 0xffu);
}

TEST(MessageEncoding, TypeName)
{
    EXPECT_EQ(wire::type_name(wire::ping{}), "ping");
    EXPECT_EQ(wire::type_name(wire::pong{}), "pong");
    EXPECT_EQ(wire::type_name(wire::request{}), "request");
    EXPECT_EQ(wire::type_name(wire::response{}), "response");
    EXPECT_EQ(wire::type_name(wire::notify{}), "notify");
    EXPECT_EQ(wire::type_name(wire::goaway{}), "goaway");
    const wire::message u = wire::unknown{"subscribe"};
    EXPECT_EQ(wire::type_name(u), "subscribe");
}

TEST(MessageEncoding, SerializeAppendsToExistingContent)
{
    const std::string prefix = std::string("existing bytes\0\xff", 16) + "end";
    std::string out = prefix;
    ASSERT_FALSE(wire::serialize(wire::ping{7}, out, no_limit));
    const std::string ping_frame = std::string("\x00\x00\x00\x16", 4) + R"({"type":"ping","id":7})";
    EXPECT_EQ(out, prefix + ping_frame);
    ASSERT_FALSE(wire::serialize_request(9, json(1), out, no_limit));
    ASSERT_FALSE(wire::serialize_response(9, json(2), out, no_limit));
    ASSERT_FALSE(wire::serialize(wire::goaway{"bye"}, out, no_limit));
    ASSERT_EQ(out.substr(0, prefix.size()), prefix);

    // The appended frames decode back, in order.
    wire::frame_decoder d;
    d.feed(std::string_view(out).substr(prefix.size()));
    std::vector<std::string> payloads;
    std::string_view p;
    boost::system::error_code ec;
    while (d.next(p, ec) == wire::decode_status::frame)
        payloads.emplace_back(p);
    EXPECT_FALSE(ec);
    EXPECT_EQ(payloads, (std::vector<std::string>{R"({"type":"ping","id":7})",
                                                  R"({"type":"request","id":9,"body":1})",
                                                  R"({"type":"response","id":9,"body":2})",
                                                  R"({"type":"goaway","reason":"bye"})"}));
}

TEST(MessageEncoding, ShorthandsMatchVariantSerialize)
{
    for (const json& body : sample_bodies()) {
        for (const std::uint64_t id : {std::uint64_t{0}, std::uint64_t{42}, wire::max_id}) {
            std::string a = "pre", b = "pre";
            ASSERT_FALSE(wire::serialize_request(id, body, a, wire::default_max_frame_size));
            ASSERT_FALSE(wire::serialize(wire::request{id, body}, b, wire::default_max_frame_size));
            EXPECT_EQ(a, b);

            std::string c = "pre", e = "pre";
            ASSERT_FALSE(wire::serialize_response(id, body, c, wire::default_max_frame_size));
            ASSERT_FALSE(wire::serialize(wire::response{id, body, std::nullopt}, e,
                                         wire::default_max_frame_size));
            EXPECT_EQ(c, e);
            EXPECT_NE(a, c);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// serialize failures leave `out` untouched

struct bad_utf8_case {
    const char* name;
    wire::message msg;
};

TEST(MessageSerializeErrors, InvalidUtf8IsInvalidArgumentAndOutputUnchanged)
{
    const std::string bad = "ok\xff";
    const std::string truncated = "caf\xc3";
    // Invalid byte after more than the serializer's internal buffer of valid output.
    json late = json::object();
    late["a"] = std::string(5000, 'v');
    late["b"] = bad;
    json bad_key = json::object();
    bad_key[bad] = 1;
    const std::vector<bad_utf8_case> cases = {
        {"request body string", wire::request{1, json(bad)}},
        {"request body truncated", wire::request{1, json(truncated)}},
        {"request body nested", wire::request{1, json{{"k", json::array({1, bad})}}}},
        {"request body key", wire::request{1, bad_key}},
        {"request body late", wire::request{1, late}},
        {"response body", wire::response{1, json(bad), std::nullopt}},
        {"response error message", wire::response{1, json(), wire::error_object{1, bad}}},
        {"notify body", wire::notify{json(truncated)}},
        {"goaway reason", wire::goaway{bad}},
        {"unknown type", wire::unknown{bad}},
    };
    const std::string original = std::string("\x00\x00\x00\x16", 4) + R"({"type":"ping","id":7})";
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        std::string out = original;
        const auto ec = wire::serialize(c.msg, out, wire::default_max_frame_size);
        EXPECT_EQ(ec, tether::errc::invalid_argument);
        EXPECT_EQ(out, original);
        std::string empty;
        EXPECT_EQ(wire::serialize(c.msg, empty, wire::default_max_frame_size),
                  tether::errc::invalid_argument);
        EXPECT_TRUE(empty.empty());
    }
}

TEST(MessageSerializeErrors, ShorthandsInvalidUtf8)
{
    const std::string original = "keep me";
    json late = json::object();
    late["a"] = std::string(5000, 'v');
    late["b"] = "\xe2\x82";
    for (const json& body : {json("\xff"), late}) {
        std::string out = original;
        EXPECT_EQ(wire::serialize_request(5, body, out, wire::default_max_frame_size),
                  tether::errc::invalid_argument);
        EXPECT_EQ(out, original);
        EXPECT_EQ(wire::serialize_response(5, body, out, wire::default_max_frame_size),
                  tether::errc::invalid_argument);
        EXPECT_EQ(out, original);
    }
}

TEST(MessageSerializeErrors, OverMaxFrameSizeIsFrameTooLargeAndOutputUnchanged)
{
    const std::string original = "previous frame bytes";
    const json body(std::string(100, 'x'));
    const std::vector<wire::message> msgs = {
        wire::request{1, body},
        wire::response{1, body, std::nullopt},
        wire::response{1, json(), wire::error_object{1, std::string(100, 'x')}},
        wire::notify{body},
        wire::goaway{std::string(100, 'x')},
        wire::ping{1},
    };
    for (const auto& m : msgs) {
        SCOPED_TRACE(std::string(wire::type_name(m)));
        std::string out = original;
        EXPECT_EQ(wire::serialize(m, out, 20), tether::errc::frame_too_large);
        EXPECT_EQ(out, original);
    }
    std::string out = original;
    EXPECT_EQ(wire::serialize_request(1, body, out, 50), tether::errc::frame_too_large);
    EXPECT_EQ(out, original);
    EXPECT_EQ(wire::serialize_response(1, body, out, 50), tether::errc::frame_too_large);
    EXPECT_EQ(out, original);
}

TEST(MessageSerializeErrors, PayloadOfExactlyMaxFrameSizeIsAccepted)
{
    const std::vector<wire::message> msgs = {
        wire::ping{7},
        wire::request{42, json{{"data", std::string(1000, 'y')}}},
        wire::response{42, json::array({1, 2, 3}), std::nullopt},
        wire::response{43, json(), wire::error_object{404, "no such op"}},
        wire::notify{json("n")},
        wire::goaway{"restart"},
    };
    for (const auto& m : msgs) {
        const std::string payload = wire::to_payload(m);
        ASSERT_FALSE(payload.empty());
        const auto length = static_cast<std::uint32_t>(payload.size());
        SCOPED_TRACE(payload.substr(0, 60));
        std::string out = "x";
        EXPECT_FALSE(wire::serialize(m, out, length));
        ASSERT_EQ(out.size(), 1 + wire::frame_header_size + payload.size());
        EXPECT_EQ(out[0], 'x');
        EXPECT_EQ(wire::read_frame_length(out.data() + 1), length);
        EXPECT_EQ(out.substr(1 + wire::frame_header_size), payload);
        std::string out2 = "x";
        EXPECT_EQ(wire::serialize(m, out2, length - 1), tether::errc::frame_too_large);
        EXPECT_EQ(out2, "x");
    }
}

TEST(MessageSerializeErrors, LargeBodyAgainstDefaultLimit)
{
    // A body near 4 MiB: just under the default limit passes, just over fails.
    const std::size_t overhead = std::string(R"({"type":"request","id":1,"body":""})").size();
    const std::size_t fits = wire::default_max_frame_size - overhead;
    std::string out;
    EXPECT_FALSE(wire::serialize_request(1, json(std::string(fits, 'z')), out,
                                         wire::default_max_frame_size));
    EXPECT_EQ(out.size(), wire::frame_header_size + wire::default_max_frame_size);
    std::string out2;
    EXPECT_EQ(wire::serialize_request(1, json(std::string(fits + 1, 'z')), out2,
                                      wire::default_max_frame_size),
              tether::errc::frame_too_large);
    EXPECT_TRUE(out2.empty());
}

// ---------------------------------------------------------------------------------------------
// Parse: invalid payloads

struct bad_case {
    const char* name;
    std::string payload;
    sender from = sender::server;
};

void PrintTo(const bad_case& c, std::ostream* os)
{
    // Only the name: the payload (raw bytes included) is printed by the failing assertion.
    *os << c.name;
}

std::string case_name(const testing::TestParamInfo<bad_case>& info)
{
    return info.param.name;
}

class ParseProtocolError : public testing::TestWithParam<bad_case> {};

TEST_P(ParseProtocolError, IsProtocolError)
{
    const auto r = parse_as(GetParam().payload, GetParam().from);
    EXPECT_EQ(r.ec, tether::errc::protocol_error) << "payload: " << GetParam().payload;
    EXPECT_FALSE(r.detail.empty());
}

INSTANTIATE_TEST_SUITE_P(
    InvalidJson, ParseProtocolError,
    testing::Values(
        bad_case{"Empty", ""}, bad_case{"Whitespace", "  \n"}, bad_case{"OpenBrace", "{"},
        bad_case{"Unterminated", R"({"type":"ping","id":7)"},
        bad_case{"MissingColon", R"({"type" "ping","id":7})"},
        bad_case{"MissingComma", R"({"type":"ping" "id":7})"},
        bad_case{"SingleQuotes", R"({'type':'ping','id':7})"},
        bad_case{"TrailingComma", R"({"type":"ping","id":7,})"},
        bad_case{"TrailingGarbage", R"({"type":"ping","id":7}x)"},
        bad_case{"TwoObjects", R"({"type":"ping","id":7}{"type":"ping","id":8})"},
        bad_case{"Comment", R"(/*c*/{"type":"ping","id":7})"},
        bad_case{"NaN", R"({"type":"notify","body":NaN})"},
        bad_case{"Infinity", R"({"type":"notify","body":Infinity})"},
        bad_case{"LeadingZero", R"({"type":"ping","id":07})"},
        bad_case{"Hex", R"({"type":"ping","id":0x7})"},
        bad_case{"PlusSign", R"({"type":"ping","id":+7})"},
        bad_case{"RawNewlineInString", "{\"type\":\"notify\",\"body\":\"a\nb\"}"},
        bad_case{"BadEscape", R"({"type":"notify","body":"\q"})"},
        bad_case{"LoneSurrogateEscape", R"({"type":"notify","body":"\ud800"})"},
        bad_case{"UnterminatedString", R"({"type":"notify","body":"abc})"},
        bad_case{"BareWord", R"({type:"ping","id":7})"},
        // A raw NUL byte can never appear in JSON text (inside strings it must be escaped).
        bad_case{"TrailingNulByte", std::string("{\"type\":\"ping\",\"id\":7}\0", 23)},
        bad_case{"NulThenGarbage", std::string("{\"type\":\"ping\",\"id\":7}\0garbage\xff", 31)},
        bad_case{"NulInsideObject", std::string("{\"type\":\"ping\",\0\"id\":7}", 23)},
        bad_case{"UnbalancedClose", R"({"type":"notify","body":[1]]})"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    InvalidUtf8, ParseProtocolError,
    testing::Values(
        bad_case{"RawFFInString", "{\"type\":\"notify\",\"body\":\"\xff\"}"},
        bad_case{"RawFFOutsideString", "{\"type\":\"notify\",\"body\":1}\xff"},
        bad_case{"RawFFAsValue", "{\"type\":\"notify\",\"body\":\xff}"},
        bad_case{"TruncatedTwoByte", "{\"type\":\"notify\",\"body\":\"caf\xc3\"}"},
        bad_case{"TruncatedThreeByte", "{\"type\":\"notify\",\"body\":\"\xe2\x82\"}"},
        bad_case{"TruncatedFourByte", "{\"type\":\"notify\",\"body\":\"\xf0\x9f\x98\"}"},
        bad_case{"TruncatedAtEnd", "{\"type\":\"notify\",\"body\":\"\xe2\x82"},
        bad_case{"LoneContinuation", "{\"type\":\"notify\",\"body\":\"\x80\"}"},
        bad_case{"Overlong", "{\"type\":\"notify\",\"body\":\"\xc0\xaf\"}"},
        bad_case{"EncodedSurrogate", "{\"type\":\"notify\",\"body\":\"\xed\xa0\x80\"}"},
        bad_case{"AboveMaxCodePoint", "{\"type\":\"notify\",\"body\":\"\xf4\x90\x80\x80\"}"},
        bad_case{"InType", "{\"type\":\"pi\xffng\",\"id\":1}"},
        bad_case{"InIgnoredKey", "{\"type\":\"ping\",\"id\":1,\"\xff\":1}"},
        bad_case{"InIgnoredValue", "{\"type\":\"ping\",\"id\":1,\"x\":\"\xc3\"}"},
        bad_case{"InErrorMessage",
                 "{\"type\":\"response\",\"id\":1,\"error\":{\"code\":1,\"message\":\"\xff\"}}"},
        bad_case{"InRequestBody", "{\"type\":\"request\",\"id\":1,\"body\":\"\xff\"}",
                 sender::client}),
    case_name);

INSTANTIATE_TEST_SUITE_P(NotAnObject, ParseProtocolError,
                         testing::Values(bad_case{"EmptyArray", "[]"},
                                         bad_case{"ArrayOfMessage", R"([{"type":"ping","id":1}])"},
                                         bad_case{"String", R"("ping")"}, bad_case{"Number", "7"},
                                         bad_case{"Float", "7.5"}, bad_case{"Null", "null"},
                                         bad_case{"True", "true"}, bad_case{"False", "false"},
                                         bad_case{"ArrayFromClient", "[]", sender::client}),
                         case_name);

INSTANTIATE_TEST_SUITE_P(
    BadType, ParseProtocolError,
    testing::Values(bad_case{"EmptyObject", "{}"}, bad_case{"MissingType", R"({"id":7})"},
                    bad_case{"MissingTypeFromClient", R"({"id":7,"body":1})", sender::client},
                    bad_case{"TypeNumber", R"({"type":1,"id":7})"},
                    bad_case{"TypeObject", R"({"type":{"name":"ping"},"id":7})"},
                    bad_case{"TypeArray", R"({"type":["ping"],"id":7})"},
                    bad_case{"TypeNull", R"({"type":null,"id":7})"},
                    bad_case{"TypeBool", R"({"type":true,"id":7})"},
                    bad_case{"TypeKeyCase", R"({"Type":"ping","id":7})"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    BadResponse, ParseProtocolError,
    testing::Values(
        bad_case{"BodyAndError",
                 R"({"type":"response","id":1,"body":1,"error":{"code":1,"message":"m"}})"},
        bad_case{"NullBodyAndError",
                 R"({"type":"response","id":1,"body":null,"error":{"code":1,"message":"m"}})"},
        bad_case{"Neither", R"({"type":"response","id":1})"},
        bad_case{"NeitherWithExtras", R"({"type":"response","id":1,"result":1,"err":2})"},
        bad_case{"ErrorString", R"({"type":"response","id":1,"error":"boom"})"},
        bad_case{"ErrorNull", R"({"type":"response","id":1,"error":null})"},
        bad_case{"ErrorArray", R"({"type":"response","id":1,"error":[404,"x"]})"},
        bad_case{"ErrorNumber", R"({"type":"response","id":1,"error":404})"},
        bad_case{"ErrorWithoutCode", R"({"type":"response","id":1,"error":{"message":"m"}})"},
        bad_case{"CodeFraction",
                 R"({"type":"response","id":1,"error":{"code":1.5,"message":"m"}})"},
        bad_case{"CodeIntegralFloat",
                 R"({"type":"response","id":1,"error":{"code":1.0,"message":"m"}})"},
        bad_case{"CodeExponent",
                 R"({"type":"response","id":1,"error":{"code":1e2,"message":"m"}})"},
        bad_case{"CodeString", R"({"type":"response","id":1,"error":{"code":"x","message":"m"}})"},
        bad_case{"CodeNumericString",
                 R"({"type":"response","id":1,"error":{"code":"404","message":"m"}})"},
        bad_case{"CodeNull", R"({"type":"response","id":1,"error":{"code":null,"message":"m"}})"},
        bad_case{"CodeBool", R"({"type":"response","id":1,"error":{"code":true,"message":"m"}})"},
        bad_case{
            "CodeAboveInt64",
            R"({"type":"response","id":1,"error":{"code":9223372036854775808,"message":"m"}})"},
        bad_case{"ErrorWithoutMessage", R"({"type":"response","id":1,"error":{"code":1}})"},
        bad_case{"MessageNumber", R"({"type":"response","id":1,"error":{"code":1,"message":5}})"},
        bad_case{"MessageNull", R"({"type":"response","id":1,"error":{"code":1,"message":null}})"},
        bad_case{"MessageObject",
                 R"({"type":"response","id":1,"error":{"code":1,"message":{"t":"m"}}})"},
        bad_case{"MessageArray",
                 R"({"type":"response","id":1,"error":{"code":1,"message":["m"]}})"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    BadBody, ParseProtocolError,
    testing::Values(bad_case{"NotifyWithoutBody", R"({"type":"notify"})"},
                    bad_case{"NotifyWithoutBodyFromClient", R"({"type":"notify"})", sender::client},
                    bad_case{"NotifyWithBodyLikeMember", R"({"type":"notify","Body":1,"data":2})"},
                    bad_case{"RequestWithoutBody", R"({"type":"request","id":1})", sender::client}),
    case_name);

// ---------------------------------------------------------------------------------------------
// Parse: ids, for every type that carries one

struct id_type {
    const char* name;
    std::string prefix; ///< the payload up to the id value
    std::string suffix; ///< the rest after it
    sender from;
};

const std::vector<id_type>& id_types()
{
    static const std::vector<id_type> types = {
        {"ping", R"({"type":"ping","id":)", "}", sender::server},
        {"pong", R"({"type":"pong","id":)", "}", sender::client},
        {"request", R"({"type":"request","id":)", R"(,"body":{"x":1}})", sender::client},
        {"response", R"({"type":"response","id":)", R"(,"body":{"x":1}})", sender::server},
        {"response_error", R"({"type":"response","id":)", R"(,"error":{"code":1,"message":"m"}})",
         sender::server},
    };
    return types;
}

std::uint64_t id_of(const wire::message& m)
{
    if (const auto* p = std::get_if<wire::ping>(&m))
        return p->id;
    if (const auto* p = std::get_if<wire::pong>(&m))
        return p->id;
    if (const auto* p = std::get_if<wire::request>(&m))
        return p->id;
    if (const auto* p = std::get_if<wire::response>(&m))
        return p->id;
    ADD_FAILURE() << "message has no id: " << wire::type_name(m);
    return std::numeric_limits<std::uint64_t>::max();
}

TEST(ParseId, InvalidIdsAreProtocolErrors)
{
    const std::vector<std::string> bad_ids = {
        "-1",
        "-0.0",
        "-9007199254740991",
        "1.5",
        "1.0",
        "0.0",
        "1e3",
        "1E3",
        "1e+3",
        "10e-1",
        "\"7\"",
        "\"\"",
        "null",
        "true",
        "false",
        "[7]",
        "{\"v\":7}",
        "9007199254740992",     // 2^53
        "9007199254740993",     // 2^53+1
        "18446744073709551615", // 2^64-1
        "18446744073709551616", // 2^64 (beyond 64 bits)
        "100000000000000000000000000000",
        "1e400",
    };
    for (const auto& t : id_types()) {
        {
            // The id member missing altogether.
            const std::string payload = t.prefix.substr(0, t.prefix.find(R"(,"id":)")) + t.suffix;
            SCOPED_TRACE(payload);
            EXPECT_EQ(parse_as(payload, t.from).ec, tether::errc::protocol_error);
        }
        for (const auto& id : bad_ids) {
            const std::string payload = t.prefix + id + t.suffix;
            SCOPED_TRACE(payload);
            const auto r = parse_as(payload, t.from);
            EXPECT_EQ(r.ec, tether::errc::protocol_error);
        }
    }
}

TEST(ParseId, BoundaryIdsAreAccepted)
{
    const std::vector<std::pair<std::string, std::uint64_t>> good_ids = {
        {"0", 0},     {"-0", 0}, // a JSON integer of value 0
        {"1", 1},     {"7", 7},  {"4294967296", 4294967296u}, {"9007199254740991", wire::max_id},
        {" 42 ", 42},
    };
    ASSERT_EQ(wire::max_id, 9007199254740991u);
    for (const auto& t : id_types()) {
        for (const auto& [text, value] : good_ids) {
            const std::string payload = t.prefix + text + t.suffix;
            SCOPED_TRACE(payload);
            const auto r = parse_as(payload, t.from);
            ASSERT_FALSE(r.ec) << r.detail;
            EXPECT_EQ(wire::type_name(r.msg),
                      std::string_view(t.name).substr(0, std::string_view(t.name).find('_')));
            EXPECT_EQ(id_of(r.msg), value);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parse: valid payloads

TEST(ParseValid, ProtocolExamples)
{
    {
        const auto r = parse_as(R"({"type":"ping","id":7})", sender::server);
        ASSERT_FALSE(r.ec);
        EXPECT_EQ(std::get<wire::ping>(r.msg).id, 7u);
    }
    {
        const auto r = parse_as(R"({"type":"pong","id":7})", sender::client);
        ASSERT_FALSE(r.ec);
        EXPECT_EQ(std::get<wire::pong>(r.msg).id, 7u);
    }
    {
        const auto r = parse_as(R"({"type":"request","id":42,"body":{"op":"echo","data":"hello"}})",
                                sender::client);
        ASSERT_FALSE(r.ec);
        const auto& m = std::get<wire::request>(r.msg);
        EXPECT_EQ(m.id, 42u);
        EXPECT_EQ(m.body, (json{{"op", "echo"}, {"data", "hello"}}));
    }
    {
        const auto r = parse_as(
            R"({"type":"response","id":42,"body":{"op":"echo","data":"hello"}})", sender::server);
        ASSERT_FALSE(r.ec);
        const auto& m = std::get<wire::response>(r.msg);
        EXPECT_EQ(m.id, 42u);
        EXPECT_EQ(m.body, (json{{"op", "echo"}, {"data", "hello"}}));
        EXPECT_FALSE(m.error.has_value());
    }
    {
        const auto r =
            parse_as(R"({"type":"response","id":43,"error":{"code":404,"message":"no such op"}})",
                     sender::server);
        ASSERT_FALSE(r.ec);
        const auto& m = std::get<wire::response>(r.msg);
        EXPECT_EQ(m.id, 43u);
        ASSERT_TRUE(m.error.has_value());
        EXPECT_EQ(m.error->code, 404);
        EXPECT_EQ(m.error->message, "no such op");
        EXPECT_TRUE(m.body.is_null());
    }
    {
        const auto r =
            parse_as(R"({"type":"notify","body":{"event":"config-changed"}})", sender::server);
        ASSERT_FALSE(r.ec);
        EXPECT_EQ(std::get<wire::notify>(r.msg).body, (json{{"event", "config-changed"}}));
    }
    {
        const auto r = parse_as(R"({"type":"goaway","reason":"restart"})", sender::server);
        ASSERT_FALSE(r.ec);
        EXPECT_EQ(std::get<wire::goaway>(r.msg).reason, "restart");
    }
}

TEST(ParseValid, ErrorCodeRange)
{
    const std::vector<std::pair<std::string, std::int64_t>> codes = {
        {"0", 0},
        {"-1", -1},
        {"-32601", -32601},
        {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
        {"-9223372036854775808", std::numeric_limits<std::int64_t>::min()},
    };
    for (const auto& [text, value] : codes) {
        const std::string payload =
            R"({"type":"response","id":1,"error":{"code":)" + text + R"(,"message":""}})";
        SCOPED_TRACE(payload);
        const auto r = parse_as(payload, sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        const auto& m = std::get<wire::response>(r.msg);
        ASSERT_TRUE(m.error.has_value());
        EXPECT_EQ(m.error->code, value);
        EXPECT_EQ(m.error->message, "");
    }
}

TEST(ParseValid, ResponseWithNullBodyIsABody)
{
    const auto r = parse_as(R"({"type":"response","id":3,"body":null})", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    const auto& m = std::get<wire::response>(r.msg);
    EXPECT_EQ(m.id, 3u);
    EXPECT_TRUE(m.body.is_null());
    EXPECT_FALSE(m.error.has_value());
}

TEST(ParseValid, NotifyWithNullBody)
{
    for (const sender s : {sender::client, sender::server}) {
        const auto r = parse_as(R"({"type":"notify","body":null})", s);
        ASSERT_FALSE(r.ec) << r.detail;
        ASSERT_TRUE(std::holds_alternative<wire::notify>(r.msg));
        EXPECT_TRUE(std::get<wire::notify>(r.msg).body.is_null());
    }
}

TEST(ParseValid, PingPongNotifyAcceptedFromEitherSide)
{
    for (const sender s : {sender::client, sender::server}) {
        auto r = parse_as(R"({"type":"ping","id":1})", s);
        ASSERT_FALSE(r.ec);
        EXPECT_TRUE(std::holds_alternative<wire::ping>(r.msg));
        r = parse_as(R"({"type":"pong","id":1})", s);
        ASSERT_FALSE(r.ec);
        EXPECT_TRUE(std::holds_alternative<wire::pong>(r.msg));
        r = parse_as(R"({"type":"notify","body":[]})", s);
        ASSERT_FALSE(r.ec);
        EXPECT_TRUE(std::holds_alternative<wire::notify>(r.msg));
    }
}

TEST(ParseValid, DefaultOptionsParseAsSentByServer)
{
    const wire::parse_options o;
    EXPECT_EQ(o.from, sender::server);
    EXPECT_EQ(o.max_depth, wire::default_max_json_depth);
    EXPECT_EQ(wire::default_max_json_depth, 64u);
    auto r = wire::parse(R"({"type":"goaway"})");
    ASSERT_FALSE(r.ec);
    EXPECT_TRUE(std::holds_alternative<wire::goaway>(r.msg));
    r = wire::parse(R"({"type":"request","id":1,"body":1})");
    ASSERT_FALSE(r.ec);
    EXPECT_TRUE(std::holds_alternative<wire::unknown>(r.msg));
}

TEST(ParseValid, ValidUtf8Accepted)
{
    const std::string text = "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
    const auto r = parse_as("{\"type\":\"notify\",\"body\":\"" + text + "\"}", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(std::get<wire::notify>(r.msg).body, json(text));
    // Escaped forms, including a valid surrogate pair.
    const auto e =
        parse_as(R"({"type":"notify","body":"\u00e9\ud83d\ude00\"\\\/"})", sender::server);
    ASSERT_FALSE(e.ec) << e.detail;
    EXPECT_EQ(std::get<wire::notify>(e.msg).body, json("\xc3\xa9\xf0\x9f\x98\x80\"\\/"));
}

TEST(ParseValid, WhitespaceAroundTokensAccepted)
{
    const auto r = parse_as(" \t\r\n{ \"type\" : \"ping\" ,\n \"id\" : 9 } \n", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_EQ(std::get<wire::ping>(r.msg).id, 9u);
}

TEST(ParseValid, MemberOrderDoesNotMatter)
{
    const auto r = parse_as(R"({"body":[1],"id":5,"type":"response"})", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    const auto& m = std::get<wire::response>(r.msg);
    EXPECT_EQ(m.id, 5u);
    EXPECT_EQ(m.body, json::array({1}));
}

// ---------------------------------------------------------------------------------------------
// Unknown types and wrong directions

TEST(ParseUnknown, UnknownTypeHoldsItsName)
{
    for (const sender s : {sender::client, sender::server}) {
        for (const std::string type : {"subscribe", "", "PING", "Ping", "ping ", "request2"}) {
            const std::string payload = json{{"type", type}, {"id", 1}, {"body", 1}}.dump();
            SCOPED_TRACE(payload);
            const auto r = parse_as(payload, s);
            ASSERT_FALSE(r.ec) << r.detail;
            ASSERT_TRUE(std::holds_alternative<wire::unknown>(r.msg));
            EXPECT_EQ(std::get<wire::unknown>(r.msg).type, type);
            EXPECT_EQ(wire::type_name(r.msg), type);
        }
    }
}

TEST(ParseUnknown, UnknownTypeNeedsNoOtherMembers)
{
    const auto r = parse_as(R"({"type":"subscribe"})", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    ASSERT_TRUE(std::holds_alternative<wire::unknown>(r.msg));
    EXPECT_EQ(std::get<wire::unknown>(r.msg).type, "subscribe");
}

TEST(ParseUnknown, RequestFromServerIsUnknown)
{
    const auto r = parse_as(R"({"type":"request","id":1,"body":{"op":"x"}})", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    ASSERT_TRUE(std::holds_alternative<wire::unknown>(r.msg));
    EXPECT_EQ(std::get<wire::unknown>(r.msg).type, "request");
}

TEST(ParseUnknown, ResponseFromClientIsUnknown)
{
    for (const char* payload : {R"({"type":"response","id":1,"body":1})",
                                R"({"type":"response","id":1,"error":{"code":1,"message":"m"}})"}) {
        const auto r = parse_as(payload, sender::client);
        ASSERT_FALSE(r.ec) << r.detail;
        ASSERT_TRUE(std::holds_alternative<wire::unknown>(r.msg));
        EXPECT_EQ(std::get<wire::unknown>(r.msg).type, "response");
    }
}

TEST(ParseUnknown, GoawayFromClientIsUnknown)
{
    for (const char* payload :
         {R"({"type":"goaway","reason":"restart"})", R"({"type":"goaway"})"}) {
        const auto r = parse_as(payload, sender::client);
        ASSERT_FALSE(r.ec) << r.detail;
        ASSERT_TRUE(std::holds_alternative<wire::unknown>(r.msg));
        EXPECT_EQ(std::get<wire::unknown>(r.msg).type, "goaway");
    }
}

TEST(ParseUnknown, WrongDirectionRoundTrips)
{
    // What a server would produce, read as if a client had sent it, and vice versa.
    auto m = round_trip(wire::request{5, json(1)}, sender::server);
    ASSERT_TRUE(std::holds_alternative<wire::unknown>(m));
    EXPECT_EQ(std::get<wire::unknown>(m).type, "request");
    m = round_trip(wire::response{5, json(1), std::nullopt}, sender::client);
    ASSERT_TRUE(std::holds_alternative<wire::unknown>(m));
    EXPECT_EQ(std::get<wire::unknown>(m).type, "response");
    m = round_trip(wire::goaway{"bye"}, sender::client);
    ASSERT_TRUE(std::holds_alternative<wire::unknown>(m));
    EXPECT_EQ(std::get<wire::unknown>(m).type, "goaway");
}

// ---------------------------------------------------------------------------------------------
// goaway, extra members

TEST(ParseGoaway, WithReason)
{
    const auto r = parse_as(R"({"type":"goaway","reason":"restart"})", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    ASSERT_TRUE(std::holds_alternative<wire::goaway>(r.msg));
    EXPECT_EQ(std::get<wire::goaway>(r.msg).reason, "restart");
}

TEST(ParseGoaway, WithoutReason)
{
    const auto r = parse_as(R"({"type":"goaway"})", sender::server);
    ASSERT_FALSE(r.ec) << r.detail;
    ASSERT_TRUE(std::holds_alternative<wire::goaway>(r.msg));
    EXPECT_EQ(std::get<wire::goaway>(r.msg).reason, "");
}

TEST(ParseExtraMembers, AreIgnored)
{
    {
        const auto r = parse_as(
            R"({"type":"ping","id":7,"extra":{"a":[1,2,{"b":null}]},"x":null,"trace":"t"})",
            sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::ping>(r.msg).id, 7u);
    }
    {
        const auto r = parse_as(R"({"v":2,"type":"request","id":8,"body":"b","deadline":100})",
                                sender::client);
        ASSERT_FALSE(r.ec) << r.detail;
        const auto& m = std::get<wire::request>(r.msg);
        EXPECT_EQ(m.id, 8u);
        EXPECT_EQ(m.body, json("b"));
    }
    {
        const auto r = parse_as(
            R"({"type":"response","id":9,"error":{"code":2,"message":"m","data":[1]},"x":1})",
            sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        const auto& m = std::get<wire::response>(r.msg);
        EXPECT_EQ(m.id, 9u);
        ASSERT_TRUE(m.error.has_value());
        EXPECT_EQ(m.error->code, 2);
        EXPECT_EQ(m.error->message, "m");
    }
    {
        const auto r =
            parse_as(R"({"type":"response","id":10,"body":1,"err":{"code":1}})", sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::response>(r.msg).body, json(1));
    }
    {
        const auto r =
            parse_as(R"({"type":"notify","body":{},"id":"not checked"})", sender::client);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::notify>(r.msg).body, json::object());
    }
    {
        const auto r =
            parse_as(R"({"type":"goaway","reason":"r","deadline_ms":500})", sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::goaway>(r.msg).reason, "r");
    }
}

// ---------------------------------------------------------------------------------------------
// Nesting depth

/// A notify whose whole payload nests `depth` levels (the outer object is level 1).
std::string notify_with_depth(std::size_t depth, char open = '[')
{
    const char close = open == '[' ? ']' : '}';
    std::string body;
    for (std::size_t i = 1; i < depth; ++i)
        body += open == '[' ? "[" : "{\"a\":";
    body += "1";
    body += std::string(depth - 1, close);
    return R"({"type":"notify","body":)" + body + "}";
}

TEST(JsonDepth, Counts)
{
    EXPECT_EQ(wire::json_depth("", 64), 0u);
    EXPECT_EQ(wire::json_depth("7", 64), 0u);
    EXPECT_EQ(wire::json_depth("{}", 64), 1u);
    EXPECT_EQ(wire::json_depth("[]", 64), 1u);
    EXPECT_EQ(wire::json_depth("[[],[[]],[]]", 64), 3u);
    EXPECT_EQ(wire::json_depth(R"({"a":[{"b":[]}],"c":{}})", 64), 4u);
    EXPECT_EQ(wire::json_depth(R"({"type":"ping","id":7})", 64), 1u);
    EXPECT_EQ(wire::json_depth(notify_with_depth(64), 1000), 64u);
    EXPECT_EQ(wire::json_depth(notify_with_depth(65, '{'), 1000), 65u);
}

TEST(JsonDepth, BracketsInsideStringsNotCounted)
{
    EXPECT_EQ(wire::json_depth(R"("[[[[{{{{")", 64), 0u);
    EXPECT_EQ(wire::json_depth(R"({"a":"[[[[","b":"{{{{"})", 64), 1u);
    EXPECT_EQ(wire::json_depth(R"({"[[[[":"]]]]"})", 64), 1u);
    EXPECT_EQ(wire::json_depth(R"(["]]]]",["x"]])", 64), 2u);
    EXPECT_EQ(wire::json_depth(R"({"a":"]]]]]]]]","b":[[1]]})", 64), 3u);
    // A string of brackets beyond the limit does not trip it.
    EXPECT_EQ(wire::json_depth("[\"" + std::string(1000, '[') + "\"]", 64), 1u);
}

TEST(JsonDepth, EscapedQuotesInsideStrings)
{
    // \" does not end the string: the brackets after it are still inside.
    EXPECT_EQ(wire::json_depth(R"({"a":"\"[[[[\""})", 64), 1u);
    EXPECT_EQ(wire::json_depth(R"(["\"]]]]\"",[1]])", 64), 2u);
    // \\ is a complete escape: the quote after it does end the string.
    EXPECT_EQ(wire::json_depth(R"(["\\",[[1]]])", 64), 3u);
    EXPECT_EQ(wire::json_depth(R"(["\\\"[[",[1]])", 64), 2u);
    EXPECT_EQ(wire::json_depth(R"(["\\\\",[[[1]]]])", 64), 4u);
}

TEST(JsonDepth, StopsJustPastTheLimit)
{
    const std::string deep(1000000, '[');
    EXPECT_EQ(wire::json_depth(deep, 10), 11u);
    EXPECT_EQ(wire::json_depth(deep, 0), 1u);
    EXPECT_EQ(wire::json_depth(std::string(100, '[') + std::string(100, ']'), 200), 100u);
}

TEST(JsonDepth, UnbalancedClosersDoNotUnderflow)
{
    EXPECT_EQ(wire::json_depth("]]]]}}}}", 64), 0u);
    EXPECT_EQ(wire::json_depth("]]]][[", 64), 2u);
    EXPECT_EQ(wire::json_depth("[]]][[[", 64), 3u);
}

TEST(ParseDepth, ExactlyMaxDepthAccepted)
{
    for (const char open : {'[', '{'}) {
        const auto r =
            parse_as(notify_with_depth(wire::default_max_json_depth, open), sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        // The body holds max_depth-1 levels.
        const json* j = &std::get<wire::notify>(r.msg).body;
        std::size_t levels = 0;
        while (j->is_structured()) {
            ++levels;
            j = j->is_array() ? &(*j)[0] : &(*j)["a"];
        }
        EXPECT_EQ(levels, wire::default_max_json_depth - 1);
        EXPECT_EQ(*j, json(1));
    }
}

TEST(ParseDepth, OneOverMaxDepthRejected)
{
    for (const char open : {'[', '{'}) {
        const auto r =
            parse_as(notify_with_depth(wire::default_max_json_depth + 1, open), sender::server);
        EXPECT_EQ(r.ec, tether::errc::protocol_error);
        EXPECT_FALSE(r.detail.empty());
    }
    // In a request body as well, and in an ignored member.
    std::string request = R"({"type":"request","id":1,"body":)" +
                          std::string(wire::default_max_json_depth, '[') +
                          std::string(wire::default_max_json_depth, ']') + "}";
    EXPECT_EQ(parse_as(request, sender::client).ec, tether::errc::protocol_error);
    std::string extra = R"({"type":"ping","id":1,"x":)" +
                        std::string(wire::default_max_json_depth, '[') +
                        std::string(wire::default_max_json_depth, ']') + "}";
    EXPECT_EQ(parse_as(extra, sender::server).ec, tether::errc::protocol_error);
}

TEST(ParseDepth, HostileDepthRejectedQuickly)
{
    constexpr std::size_t n = 100000;
    const std::vector<std::pair<const char*, std::string>> cases = {
        {"unbalanced", std::string(n, '[')},
        {"balanced", std::string(n, '[') + std::string(n, ']')},
        {"objects",
         [] {
             std::string s;
             for (std::size_t i = 0; i < n; ++i)
                 s += "{\"a\":";
             return s + "1" + std::string(n, '}');
         }()},
        {"in notify body",
         R"({"type":"notify","body":)" + std::string(n, '[') + std::string(n, ']') + "}"},
        {"in notify body, unbalanced", R"({"type":"notify","body":)" + std::string(n, '[')},
        {"mixed",
         [] {
             std::string s;
             for (std::size_t i = 0; i < n; ++i)
                 s += i % 2 ? "{\"k\":" : "[";
             return s;
         }()},
    };
    for (const auto& [name, payload] : cases) {
        SCOPED_TRACE(name);
        const auto start = std::chrono::steady_clock::now();
        const auto r = parse_as(payload, sender::server);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(r.ec, tether::errc::protocol_error);
        EXPECT_LT(elapsed, tether::test::scaled(std::chrono::milliseconds(500)));
    }
}

TEST(ParseDepth, BracketsInStringsDoNotCount)
{
    const std::string brackets(1000, '[');
    {
        const auto r =
            parse_as(R"({"type":"notify","body":")" + brackets + R"("})", sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::notify>(r.msg).body, json(brackets));
    }
    {
        // Escaped quotes inside the string do not end it.
        const auto r =
            parse_as(R"({"type":"notify","body":"\")" + brackets + R"(\"]]]"})", sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::notify>(r.msg).body, json("\"" + brackets + "\"]]]"));
    }
    {
        // Brackets in keys.
        const auto r =
            parse_as(R"({"type":"ping","id":3,")" + brackets + R"(":1})", sender::server);
        ASSERT_FALSE(r.ec) << r.detail;
        EXPECT_EQ(std::get<wire::ping>(r.msg).id, 3u);
    }
    {
        // An escaped backslash before the closing quote: the string ends there, and the real
        // nesting that follows still counts.
        const std::string payload = R"({"type":"notify","body":["\\",)" +
                                    std::string(wire::default_max_json_depth, '[') +
                                    std::string(wire::default_max_json_depth, ']') + "]}";
        EXPECT_EQ(parse_as(payload, sender::server).ec, tether::errc::protocol_error);
    }
}

TEST(ParseDepth, CustomMaxDepthHonoured)
{
    wire::parse_options shallow;
    shallow.max_depth = 2;
    EXPECT_FALSE(wire::parse(R"({"type":"notify","body":[1]})", shallow).ec);
    EXPECT_FALSE(wire::parse(R"({"type":"notify","body":{"a":1}})", shallow).ec);
    EXPECT_EQ(wire::parse(R"({"type":"notify","body":[[1]]})", shallow).ec,
              tether::errc::protocol_error);
    EXPECT_EQ(wire::parse(R"({"type":"response","id":1,"error":{"code":1,"message":"m"},"x":[[]]})",
                          shallow)
                  .ec,
              tether::errc::protocol_error);

    wire::parse_options one;
    one.max_depth = 1;
    EXPECT_FALSE(wire::parse(R"({"type":"ping","id":1})", one).ec);
    EXPECT_EQ(wire::parse(R"({"type":"notify","body":[]})", one).ec, tether::errc::protocol_error);

    wire::parse_options deep;
    deep.max_depth = 200;
    deep.from = sender::client;
    EXPECT_EQ(parse_as(notify_with_depth(65), sender::client).ec, tether::errc::protocol_error);
    const auto r = wire::parse(notify_with_depth(200), deep);
    ASSERT_FALSE(r.ec) << r.detail;
    EXPECT_TRUE(std::holds_alternative<wire::notify>(r.msg));
    EXPECT_EQ(wire::parse(notify_with_depth(201), deep).ec, tether::errc::protocol_error);
}

TEST(ParseResult, ErrorIsOfTetherCategory)
{
    const auto r = parse_as("[]", sender::server);
    ASSERT_EQ(r.ec, tether::errc::protocol_error);
    EXPECT_EQ(r.ec.category().name(), std::string("tether"));
}

} // namespace
