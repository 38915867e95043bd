#pragma once

// Runs of JSON text that need no attention, measured sixteen bytes at a time (SSE2, on every
// x86-64) and then eight (any 64-bit word). A 4 KiB string body went through the depth check
// and the reader byte by byte: 7-8 µs a reply. A word is tested for the bytes that end a run
// with the classic "has a zero byte" arithmetic (x - 0x01..01) & ~x & 0x80..80, whose lowest
// set bit marks the first such byte exactly (a borrow only runs upward from a true match).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tether::wire {
namespace scan_detail {

inline constexpr std::uint64_t ones = 0x0101010101010101ull;
inline constexpr std::uint64_t highs = 0x8080808080808080ull;

/// High bit of each byte of `x` that equals `byte`.
inline std::uint64_t bytes_equal(std::uint64_t x, unsigned char byte) noexcept
{
    const std::uint64_t y = x ^ (ones * byte);
    return (y - ones) & ~y & highs;
}

inline std::uint64_t load_word(const char* p) noexcept
{
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    return x;
}

#if defined(__SSE2__)
using block = __m128i;
inline block load_block(const char* p) noexcept
{
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
#endif

// The bytes that end a run, for a 16-byte block (a byte of all ones each), an 8-byte word (the
// high bit of each, exact at the lowest) and a single byte.
struct quote_or_backslash {
#if defined(__SSE2__)
    static block in(block b) noexcept
    {
        return _mm_or_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('"')),
                            _mm_cmpeq_epi8(b, _mm_set1_epi8('\\')));
    }
#endif
    static std::uint64_t in(std::uint64_t x) noexcept
    {
        return bytes_equal(x, '"') | bytes_equal(x, '\\');
    }
    static bool at(unsigned char c) noexcept
    {
        return c == '"' || c == '\\';
    }
};

struct not_plain_text {
#if defined(__SSE2__)
    static block in(block b) noexcept
    {
        // Signed bytes: below 0x20 is also every byte from 0x80.
        return _mm_or_si128(_mm_cmplt_epi8(b, _mm_set1_epi8(0x20)), quote_or_backslash::in(b));
    }
#endif
    static std::uint64_t in(std::uint64_t x) noexcept
    {
        return (x & highs) | ((x - ones * 0x20) & ~x & highs) | quote_or_backslash::in(x);
    }
    static bool at(unsigned char c) noexcept
    {
        return c < 0x20 || c >= 0x80 || quote_or_backslash::at(c);
    }
};

/// Bytes of [p, e) before the first one that `Stops` marks.
template <class Stops> std::size_t run_length(const char* p, const char* e) noexcept
{
    const char* const start = p;
#if defined(__SSE2__)
    for (; e - p >= 16; p += 16) {
        if (const auto m = static_cast<unsigned>(_mm_movemask_epi8(Stops::in(load_block(p))));
            m != 0)
            return static_cast<std::size_t>(p - start) +
                   static_cast<std::size_t>(std::countr_zero(m));
    }
#endif
    if constexpr (std::endian::native == std::endian::little) {
        for (; e - p >= 8; p += 8) {
            if (const std::uint64_t m = Stops::in(load_word(p)); m != 0)
                return static_cast<std::size_t>(p - start) +
                       static_cast<std::size_t>(std::countr_zero(m) / 8);
        }
    }
    while (p != e && !Stops::at(static_cast<unsigned char>(*p)))
        ++p;
    return static_cast<std::size_t>(p - start);
}

} // namespace scan_detail

/// Length of the leading run of [p, e) that a JSON string holds as it is written: bytes
/// 0x20..0x7f other than '"' and '\\' (no escape, no control byte, no UTF-8 to check).
inline std::size_t plain_text_run(const char* p, const char* e) noexcept
{
    return scan_detail::run_length<scan_detail::not_plain_text>(p, e);
}

/// Length of the leading run of [p, e) holding neither '"' nor '\\'.
inline std::size_t run_before_quote_or_backslash(const char* p, const char* e) noexcept
{
    return scan_detail::run_length<scan_detail::quote_or_backslash>(p, e);
}

} // namespace tether::wire
