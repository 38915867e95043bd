// Unit tests of the ping/pong fast path: it accepts exactly the canonical forms, and whatever it
// accepts the full parser reads the same way.

#include "sansio/control_fast_path.hpp"
#include "sansio/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace {

namespace wire = tether::wire;

// The fast path may decline anything, but what it accepts must be what the full parser says.
void expect_agrees_with_full_parse(const std::string& payload)
{
    const auto fast = wire::parse_canonical_control(payload);
    if (!fast)
        return;
    for (const auto from : {wire::sender::server, wire::sender::client}) {
        const auto full = wire::parse(payload, {from, wire::default_max_json_depth});
        ASSERT_FALSE(full.ec) << payload << ": " << full.detail;
        ASSERT_EQ(full.msg.index(), fast->index()) << payload;
        if (const auto* p = std::get_if<wire::ping>(&full.msg))
            EXPECT_EQ(p->id, std::get<wire::ping>(*fast).id) << payload;
        else
            EXPECT_EQ(std::get<wire::pong>(full.msg).id, std::get<wire::pong>(*fast).id) << payload;
    }
}

TEST(ControlFastPath, AcceptsTheCanonicalFormsInEitherMemberOrder)
{
    const auto a = wire::parse_canonical_control(R"({"type":"pong","id":7})");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(std::get<wire::pong>(*a).id, 7u);
    const auto b = wire::parse_canonical_control(R"({"id":9007199254740991,"type":"ping"})");
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(std::get<wire::ping>(*b).id, wire::max_id);
    const auto c = wire::parse_canonical_control(R"({"type":"ping","id":0})");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(std::get<wire::ping>(*c).id, 0u);
}

TEST(ControlFastPath, WhatTetherWritesTakesTheFastPath)
{
    for (const std::uint64_t id :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{123456789}, wire::max_id}) {
        for (const wire::message& msg :
             {wire::message{wire::ping{id}}, wire::message{wire::pong{id}}}) {
            const std::string payload = wire::to_payload(msg);
            const auto fast = wire::parse_canonical_control(payload);
            ASSERT_TRUE(fast.has_value()) << payload;
            EXPECT_EQ(fast->index(), msg.index());
            expect_agrees_with_full_parse(payload);
        }
    }
}

TEST(ControlFastPath, DeclinesEverythingElse)
{
    const std::vector<std::string> declined = {
        R"({"type": "pong","id":7})", // whitespace
        R"( {"type":"pong","id":7})",
        R"({"type":"pong","id":7} )",
        R"({"type":"pong","id":7,"x":1})", // extra member
        R"({"type":"pong","id":07})",      // leading zero (invalid JSON)
        R"({"type":"pong","id":-1})",
        R"({"type":"pong","id":7.0})",
        R"({"type":"pong","id":1e3})",
        R"({"type":"pong","id":9007199254740992})",  // max_id + 1
        R"({"type":"pong","id":12345678901234567})", // 17 digits
        R"({"type":"pong","id":})",
        R"({"type":"pong","id":"7"})",
        R"({"type":"pon\u0067","id":7})", // escapes
        R"({"type":"Pong","id":7})",
        R"({"type":"request","id":7})",
        R"({"type":"pong"})",
        R"({"id":7})",
        R"({"type":"pong","id":7)",
        R"({"type":"pong","id":7}})",
        "",
        "{",
    };
    for (const auto& payload : declined) {
        EXPECT_FALSE(wire::parse_canonical_control(payload).has_value()) << payload;
        expect_agrees_with_full_parse(payload);
    }
}

// Every prefix and single-byte corruption of canonical frames: accepted only when the full
// parser reads the same message.
TEST(ControlFastPath, MutationsNeverDisagreeWithTheFullParser)
{
    const std::string bases[] = {R"({"type":"pong","id":4503599627370496})",
                                 R"({"id":42,"type":"ping"})"};
    const std::string alphabet = "{}\":,0123456789 -.eEptyingodx\\";
    for (const auto& base : bases) {
        for (std::size_t n = 0; n <= base.size(); ++n)
            expect_agrees_with_full_parse(base.substr(0, n));
        for (std::size_t i = 0; i < base.size(); ++i) {
            for (const char c : alphabet) {
                std::string mutated = base;
                mutated[i] = c;
                expect_agrees_with_full_parse(mutated);
            }
        }
    }
}

} // namespace
