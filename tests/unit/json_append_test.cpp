// append_json writes exactly what nlohmann's dump() writes: plain ASCII strings are copied in
// one piece, everything else goes through the serializer. Checked on hand-picked values (every
// escape, UTF-8, numbers of every kind, keys needing escapes, empty containers), on every
// single byte in every position of an 8-byte block and its tail, and on random documents.

#include "sansio/json_append.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

using json = nlohmann::json;
using tether::wire::append_json;
using tether::wire::is_plain_json_text;

std::string appended(const json& j)
{
    std::string out = "prefix";
    const auto scalar = [&out](const json& v) { out += v.dump(); };
    append_json(out, j, scalar);
    return out.substr(6);
}

TEST(JsonAppend, HandPickedValuesMatchDump)
{
    const json cases[] = {
        json::object(),
        json::array(),
        json(nullptr),
        json(true),
        json(false),
        json(0),
        json(-42),
        json(18446744073709551615ull),
        json(-9223372036854775807ll - 1),
        json(3.25),
        json(-0.0),
        json(1e300),
        json(""),
        json("plain text, spaces and ~!@#$%^&*()"),
        json("quote \" backslash \\ slash /"),
        json("controls \b\f\n\r\t \x01\x1f end"),
        json("del \x7f"),
        json("utf-8: h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
        json{{"a", 1}, {"b", json::array({1, "two", nullptr, 3.5})}, {"c", json::object()}},
        json{{"key \"quoted\"", 1}, {"k\xc3\xa9y", "v"}, {"tab\tkey", json::array()}},
        json{{"nested", {{"deeper", {{"deepest", std::string(100, 'x')}}}}}},
        json::array({json::array({json::array()}), json::object({{"", ""}})}),
        json::binary({1, 2, 3}),
    };
    for (const auto& j : cases)
        EXPECT_EQ(appended(j), j.dump()) << j.dump();
}

TEST(JsonAppend, EveryByteInEveryPositionMatchesDump)
{
    for (std::size_t length : {1u, 7u, 8u, 9u, 16u, 23u}) {
        for (std::size_t pos = 0; pos < length; ++pos) {
            for (int b = 1; b < 256; ++b) {
                std::string s(length, 'a');
                s[pos] = static_cast<char>(b);
                const bool plain = b >= 0x20 && b < 0x80 && b != '"' && b != '\\';
                ASSERT_EQ(is_plain_json_text(s), plain) << "byte " << b << " at " << pos;
                if (b >= 0x80)
                    continue; // a lone high byte is invalid UTF-8: checked below
                ASSERT_EQ(appended(json(s)), json(s).dump()) << "byte " << b << " at " << pos;
            }
        }
    }
}

TEST(JsonAppend, InvalidUtf8ThrowsAsDumpDoes)
{
    const json bad = json{{"k", std::string("ok \xff no")}};
    EXPECT_THROW((void)bad.dump(), json::type_error);
    EXPECT_THROW((void)appended(bad), json::type_error);
    const json bad_key = json{{std::string("\xc3"), 1}};
    EXPECT_THROW((void)appended(bad_key), json::type_error);
}

json random_value(std::mt19937& rng, int depth)
{
    std::uniform_int_distribution<int> kind(0, depth > 3 ? 5 : 7);
    switch (kind(rng)) {
    case 0:
        return nullptr;
    case 1:
        return rng() % 2 == 0;
    case 2:
        return static_cast<std::int64_t>(rng()) - (1ll << 31);
    case 3:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    case 4:
    case 5: {
        static const std::string alphabet = "abcXYZ 019\"\\/\n\t\x01~\x7f\xc3\xa9";
        std::string s;
        const auto n = rng() % 40;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = alphabet[rng() % (alphabet.size() - 2)];
            if (rng() % 16 == 0)
                s += "\xc3\xa9"; // é, valid UTF-8 as a pair only
            else
                s += c;
        }
        return s;
    }
    case 6: {
        json a = json::array();
        for (std::size_t i = 0, n = rng() % 5; i < n; ++i)
            a.push_back(random_value(rng, depth + 1));
        return a;
    }
    default: {
        json o = json::object();
        for (std::size_t i = 0, n = rng() % 5; i < n; ++i)
            o[random_value(rng, 99).dump()] = random_value(rng, depth + 1); // keys with escapes
        return o;
    }
    }
}

TEST(JsonAppend, RandomDocumentsMatchDump)
{
    std::mt19937 rng(20261206);
    for (int i = 0; i < 3000; ++i) {
        const json j = random_value(rng, 0);
        ASSERT_EQ(appended(j), j.dump()) << j.dump();
    }
}

} // namespace
