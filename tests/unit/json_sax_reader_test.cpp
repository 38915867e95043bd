// Unit tests of wire::json_sax_reader: the tricky inputs, each checked two ways: the verdict
// and value we expect, and the same verdict and event sequence as nlohmann::json::sax_parse
// (tests/fuzz/fuzz_json_sax.cpp does the latter on generated inputs).

#include "sansio/json_sax_reader.hpp"
#include "sax_recorder.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace wire = tether::wire;
namespace test = tether::test;
using json = nlohmann::json;
using namespace std::string_literals;

// Our events equal nlohmann's, with no refusal and with each event refused in turn.
void expect_same_as_nlohmann(std::string_view text)
{
    wire::json_sax_reader reader;
    const test::sax_outcome theirs = test::nlohmann_sax(text);
    EXPECT_EQ(test::our_sax(reader, text), theirs) << "input: " << text;
    for (std::size_t i = 0; i < theirs.events; ++i)
        EXPECT_EQ(test::our_sax(reader, text, i), test::nlohmann_sax(text, i))
            << "input: " << text << ", refusing event " << i;
}

// The value our reader builds through nlohmann's DOM builder (the envelope_reader's way).
bool parse_dom(std::string_view text, json& out)
{
    wire::json_sax_reader reader;
    nlohmann::detail::json_sax_dom_parser<json> dom(out, /*allow_exceptions=*/false);
    return reader.parse(text, dom);
}

bool accepts(std::string_view text)
{
    expect_same_as_nlohmann(text);
    json j;
    return parse_dom(text, j);
}

json value_of(std::string_view text)
{
    expect_same_as_nlohmann(text);
    json j;
    EXPECT_TRUE(parse_dom(text, j)) << text;
    return j;
}

TEST(JsonSaxReader, IntegersAreUnsignedOrSignedByRange)
{
    EXPECT_TRUE(value_of("0").is_number_unsigned());
    EXPECT_EQ(value_of("0").get<std::uint64_t>(), 0u);
    const json minus_zero = value_of("-0");
    EXPECT_TRUE(minus_zero.is_number_integer() && !minus_zero.is_number_unsigned());
    EXPECT_EQ(minus_zero.get<std::int64_t>(), 0);
    EXPECT_EQ(value_of("18446744073709551615").get<std::uint64_t>(),
              std::numeric_limits<std::uint64_t>::max());
    EXPECT_TRUE(value_of("18446744073709551616").is_number_float());
    EXPECT_EQ(value_of("18446744073709551616").get<double>(), 18446744073709551616.0);
    const json int_min = value_of("-9223372036854775808");
    EXPECT_TRUE(int_min.is_number_integer() && !int_min.is_number_unsigned());
    EXPECT_EQ(int_min.get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
    EXPECT_TRUE(value_of("-9223372036854775809").is_number_float());
    EXPECT_EQ(value_of("-9223372036854775807").get<std::int64_t>(), -9223372036854775807);
}

TEST(JsonSaxReader, FractionsAndExponentsAreFloats)
{
    EXPECT_EQ(value_of("1e5").get<double>(), 1e5);
    EXPECT_TRUE(value_of("1e5").is_number_float());
    EXPECT_EQ(value_of("1E+2").get<double>(), 100.0);
    EXPECT_EQ(value_of("-1.5e-3").get<double>(), -1.5e-3);
    EXPECT_TRUE(value_of("0e0").is_number_float());
    const json negative_zero = value_of("-0.0");
    EXPECT_TRUE(negative_zero.is_number_float() && std::signbit(negative_zero.get<double>()));
    EXPECT_EQ(value_of("1e-400").get<double>(), 0.0); // underflow is accepted
    EXPECT_EQ(value_of("2.2250738585072011e-308").get<double>(), 2.2250738585072011e-308);
    expect_same_as_nlohmann("[1.0,1.5E3,0.1e-1,123456789012345678901234567890.5]");
}

TEST(JsonSaxReader, MalformedNumbersAreRefused)
{
    for (const char* text : {"01",      "-01",  "1.",    ".1",     "-",
                             "1e",      "1e+",  "1E-",   "+1",     "-a",
                             "1.e5",    "0x10", "1e400", "-1e400", "1e99999999999999999999",
                             "[1e309]", "--1",  "1.5.3", "[01]",   "Infinity",
                             "NaN",     "[-]"})
        EXPECT_FALSE(accepts(text)) << text;
}

TEST(JsonSaxReader, EscapesAreDecoded)
{
    EXPECT_EQ(value_of(R"("\"\\\/\b\f\n\r\t")").get<std::string>(), "\"\\/\b\f\n\r\t");
    EXPECT_EQ(value_of(R"("a\u0000b")").get<std::string>(), "a\0b"s);
    EXPECT_EQ(value_of(R"("\u00e9\u20AC\u007F")").get<std::string>(), "\xc3\xa9\xe2\x82\xac\x7f");
    EXPECT_EQ(value_of(R"("\ud83d\ude00")").get<std::string>(), "\xf0\x9f\x98\x80");
    EXPECT_EQ(value_of(R"("\uDBFF\uDFFF")").get<std::string>(), "\xf4\x8f\xbf\xbf");
}

TEST(JsonSaxReader, BadEscapesAndSurrogatesAreRefused)
{
    for (const char* text : {R"("\ud83d")", R"("\ud83dx")", R"("\ud83d\u0041")", R"("\ude00")",
                             R"("\ud83d\ud83d")", R"("\u12")", R"("\u12G4")", R"("\x41")",
                             R"("\a")", R"("\U0041")", R"("\)", R"("\ud83d\)", R"("\ud83d\u)"})
        EXPECT_FALSE(accepts(text)) << text;
}

TEST(JsonSaxReader, Utf8IsValidated)
{
    EXPECT_TRUE(
        accepts("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""));
    for (const char* text : {
             "\"\x80\"",             // lone continuation byte
             "\"\xc0\xaf\"",         // overlong '/'
             "\"\xc1\xbf\"",         // overlong
             "\"\xe0\x80\xaf\"",     // overlong, 3 bytes
             "\"\xf0\x80\x80\xaf\"", // overlong, 4 bytes
             "\"\xed\xa0\x80\"",     // UTF-16 surrogate encoded
             "\"\xf4\x90\x80\x80\"", // above U+10FFFF
             "\"\xf5\x80\x80\x80\"", // invalid lead byte
             "\"\xff\"",             // never valid
             "\"\xc3\"",             // truncated by the quote
             "\"\xe2\x82\"",         // truncated
             "\"\xc3",               // truncated by the end
             "\xc3\xa9",             // outside a string
         })
        EXPECT_FALSE(accepts(text)) << text;
}

TEST(JsonSaxReader, RawControlCharactersAreRefused)
{
    for (int c = 0; c < 0x20; ++c)
        EXPECT_FALSE(accepts("\"a"s + static_cast<char>(c) + "b\"")) << c;
    EXPECT_TRUE(accepts("\"\x7f\""));
}

TEST(JsonSaxReader, Structure)
{
    const json nested = value_of(R"({"a":{"b":[[],{},[{"c":null}]]},"d":[true,false]})");
    EXPECT_EQ(nested["a"]["b"][2][0]["c"], nullptr);
    EXPECT_TRUE(value_of("{}").is_object());
    EXPECT_TRUE(value_of("[]").is_array());
    EXPECT_TRUE(value_of("[[[]]]")[0][0].empty());
    for (const char* text : {"[1,]",     "{\"a\":1,}", "[,1]",  "{,}",       "{\"a\" 1}",
                             "{\"a\":}", "{\"a\"}",    "{1:2}", "[1 2]",     "{\"a\":1 \"b\":2}",
                             "[",        "{",          "]",     "}",         "[1",
                             "{\"a\":1", "[}",         "{]",    "{\"a\":1]", ":",
                             ","})
        EXPECT_FALSE(accepts(text)) << text;
}

TEST(JsonSaxReader, DuplicateKeysReachTheHandlerInOrder)
{
    wire::json_sax_reader reader;
    test::sax_recorder r;
    ASSERT_TRUE(reader.parse(R"({"k":1,"k":2})", r));
    const test::sax_outcome theirs = test::nlohmann_sax(R"({"k":1,"k":2})");
    EXPECT_EQ(r.log, theirs.log);
    EXPECT_EQ(r.events, 6u); // {, k, 1, k, 2, }
    EXPECT_EQ(value_of(R"({"k":1,"k":2})")["k"], 2);
}

TEST(JsonSaxReader, TopLevelScalarsAndWhitespace)
{
    EXPECT_EQ(value_of("\"s\""), "s");
    EXPECT_EQ(value_of("true"), true);
    EXPECT_EQ(value_of("false"), false);
    EXPECT_EQ(value_of("null"), nullptr);
    EXPECT_EQ(value_of("42"), 42);
    EXPECT_EQ(value_of(" \t\r\n[ 1 , { \"a\" : 2 } ] \t\r\n")[1]["a"], 2);
    for (const char* text :
         {"", " ", "\f1", "\v1", "1\f",
          "\xc2\xa0"
          "1",
          "tru", "truex", "nul", "True", "{} x", "[] []", "1 2", "\"a\" \"b\"", "{}}", "1,"})
        EXPECT_FALSE(accepts(text)) << text;
}

TEST(JsonSaxReader, NlohmannQuirksAreKept)
{
    // A UTF-8 BOM at the very start is skipped; elsewhere, or partial, it is an error.
    EXPECT_EQ(value_of("\xef\xbb\xbf{\"a\":1}")["a"], 1);
    EXPECT_FALSE(accepts(" \xef\xbb\xbf{}"));
    EXPECT_FALSE(accepts("\xef\xbb{}"));
    EXPECT_FALSE(accepts("\xef"));
    // A NUL where a token would start ends the input (wire::parse refuses NULs beforehand).
    EXPECT_EQ(value_of("1\0garbage"s), 1);
}

TEST(JsonSaxReader, RefusalStopsAtOnce)
{
    expect_same_as_nlohmann(R"({"a":[1,-2,3.5,"x",true,null,{}],"b":{"c":[]}})");
    wire::json_sax_reader reader;
    test::sax_recorder r(2);
    EXPECT_FALSE(reader.parse(R"([1,2,3,4])", r));
    EXPECT_EQ(r.events, 3u);
}

TEST(JsonSaxReader, ReusedReaderGivesTheSameResults)
{
    wire::json_sax_reader reader;
    const std::vector<std::string> texts = {
        R"({"a":"a long string value that grows the buffer","b":1.25})",
        "[",
        R"("\ud83d\ude00")",
        std::string(40000, '['),
        "\"" + std::string(40000, 'x') + "\"",
        "1e5",
        "{\"a\":1}"};
    for (int round = 0; round < 2; ++round)
        for (const std::string& t : texts)
            EXPECT_EQ(test::our_sax(reader, t), test::nlohmann_sax(t)) << t.substr(0, 40);
}

} // namespace
