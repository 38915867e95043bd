// The runs of json_scan.hpp (16-byte blocks, then 8-byte words, then bytes) against a plain
// byte loop: every byte value at every position of strings long enough to take each path,
// runs starting at every alignment, and json_depth (which skips string contents with them)
// against the byte-at-a-time count it replaced, on random texts of brackets, quotes and
// backslashes.

#include "sansio/json_scan.hpp"
#include "sansio/message.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace {

namespace wire = tether::wire;

bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

template <class Stop> std::size_t reference_run(const std::string& s, std::size_t from, Stop stop)
{
    std::size_t i = from;
    while (i < s.size() && !stop(static_cast<unsigned char>(s[i])))
        ++i;
    return i - from;
}

std::size_t plain_run(const std::string& s, std::size_t from)
{
    return wire::plain_text_run(s.data() + from, s.data() + s.size());
}

std::size_t quote_run(const std::string& s, std::size_t from)
{
    return wire::run_before_quote_or_backslash(s.data() + from, s.data() + s.size());
}

TEST(JsonScan, EveryByteAtEveryPositionEndsTheRunsItShould)
{
    for (std::size_t length : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 24u, 31u, 32u, 33u, 40u}) {
        const std::string clean(length, 'a');
        ASSERT_EQ(plain_run(clean, 0), length);
        ASSERT_EQ(quote_run(clean, 0), length);
        for (std::size_t pos = 0; pos < length; ++pos) {
            for (int b = 0; b < 256; ++b) {
                std::string s = clean;
                s[pos] = static_cast<char>(b);
                const auto c = static_cast<unsigned char>(b);
                ASSERT_EQ(plain_run(s, 0), plain(c) ? length : pos)
                    << "byte " << b << " at " << pos << " of " << length;
                ASSERT_EQ(quote_run(s, 0), c == '"' || c == '\\' ? pos : length)
                    << "byte " << b << " at " << pos << " of " << length;
            }
        }
    }
}

TEST(JsonScan, TheFirstOfSeveralStopsIsFoundFromAnyStart)
{
    std::mt19937 rng(7);
    const std::string alphabet = std::string("abc XYZ~{}[]:,\"\\\x01\x1f\x7f\x80\xc3\xff") + '\0';
    for (int round = 0; round < 20000; ++round) {
        std::string s(rng() % 70, 'x');
        for (auto& c : s)
            if (rng() % 6 == 0)
                c = alphabet[rng() % alphabet.size()];
        for (std::size_t from = 0; from <= s.size(); ++from) {
            ASSERT_EQ(plain_run(s, from),
                      reference_run(s, from, [](unsigned char c) { return !plain(c); }))
                << s;
            ASSERT_EQ(quote_run(s, from),
                      reference_run(s, from, [](unsigned char c) { return c == '"' || c == '\\'; }))
                << s;
        }
    }
}

// The depth count as it was, a byte at a time.
std::size_t reference_depth(const std::string& text, std::size_t limit)
{
    std::size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > limit)
                    return deepest;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

TEST(JsonScan, DepthMatchesTheByteAtATimeCount)
{
    std::mt19937 rng(11);
    const std::string alphabet = "[]{}\"\\ab:,";
    for (int round = 0; round < 50000; ++round) {
        std::string s(rng() % 90, 'x');
        for (auto& c : s)
            if (rng() % 3 != 0)
                c = alphabet[rng() % alphabet.size()];
        for (std::size_t limit : {1u, 3u, 64u})
            ASSERT_EQ(wire::json_depth(s, limit), reference_depth(s, limit)) << s;
    }
}

} // namespace
