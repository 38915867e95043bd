// The lexer of json_sax_reader: nlohmann 3.11.2's lexer (detail/input/lexer.hpp) token for
// token, reading from a string_view and writing into buffers the reader keeps.

#include "sansio/json_sax_reader.hpp"

#include "sansio/json_scan.hpp"

#include <clocale>
#include <cstdlib>
#include <limits>

namespace tether::wire {
namespace {

// Scratch capacity kept between parses; a bigger buffer (one huge reply) is given back.
constexpr std::size_t keep_capacity = 16 * 1024;

unsigned byte(char c)
{
    return static_cast<unsigned char>(c);
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// Four hex digits at p (both cases), as nlohmann's get_codepoint; -1 if they are not there.
int hex4(const char* p, const char* end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
        const char c = p[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

void append_utf8(std::string& out, unsigned cp)
{
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp <= 0x7FF) {
        out.push_back(static_cast<char>(0xC0u | (cp >> 6u)));
        out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
    } else if (cp <= 0xFFFF) {
        out.push_back(static_cast<char>(0xE0u | (cp >> 12u)));
        out.push_back(static_cast<char>(0x80u | ((cp >> 6u) & 0x3Fu)));
        out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
    } else {
        out.push_back(static_cast<char>(0xF0u | (cp >> 18u)));
        out.push_back(static_cast<char>(0x80u | ((cp >> 12u) & 0x3Fu)));
        out.push_back(static_cast<char>(0x80u | ((cp >> 6u) & 0x3Fu)));
        out.push_back(static_cast<char>(0x80u | (cp & 0x3Fu)));
    }
}

// Length of the well-formed UTF-8 sequence (2 to 4 bytes) starting with lead byte `lead` at p,
// or 0: nlohmann's table (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
std::ptrdiff_t utf8_sequence(const char* p, const char* end)
{
    const unsigned lead = byte(*p);
    std::ptrdiff_t n;
    unsigned lo = 0x80, hi = 0xBF; // range of the second byte; the others are 80..BF
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        if (lead == 0xE0)
            lo = 0xA0;
        else if (lead == 0xED)
            hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        if (lead == 0xF0)
            lo = 0x90;
        else if (lead == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (end - p < n)
        return 0;
    if (byte(p[1]) < lo || byte(p[1]) > hi)
        return 0;
    for (std::ptrdiff_t i = 2; i < n; ++i)
        if (byte(p[i]) < 0x80 || byte(p[i]) > 0xBF)
            return 0;
    return n;
}

void trim(std::string& s)
{
    if (s.capacity() > keep_capacity)
        s = std::string{};
}

} // namespace

void json_sax_reader::begin(std::string_view text)
{
    cur_ = text.data();
    end_ = cur_ + text.size();
    at_start_ = true;
    states_.clear();
}

void json_sax_reader::end()
{
    trim(string_);
    trim(number_);
    trim(states_);
}

json_sax_reader::token json_sax_reader::scan()
{
    // A UTF-8 BOM is skipped at the very start only; a partial one is an error.
    if (at_start_) {
        at_start_ = false;
        if (cur_ != end_ && byte(*cur_) == 0xEF) {
            if (end_ - cur_ < 3 || byte(cur_[1]) != 0xBB || byte(cur_[2]) != 0xBF)
                return token::parse_error;
            cur_ += 3;
        }
    }
    while (cur_ != end_ && (*cur_ == ' ' || *cur_ == '\t' || *cur_ == '\n' || *cur_ == '\r'))
        ++cur_;
    if (cur_ == end_)
        return token::end_of_input;
    switch (*cur_) {
    case '[':
        ++cur_;
        return token::begin_array;
    case ']':
        ++cur_;
        return token::end_array;
    case '{':
        ++cur_;
        return token::begin_object;
    case '}':
        ++cur_;
        return token::end_object;
    case ':':
        ++cur_;
        return token::name_separator;
    case ',':
        ++cur_;
        return token::value_separator;
    case 't':
        return scan_literal("true", token::literal_true);
    case 'f':
        return scan_literal("false", token::literal_false);
    case 'n':
        return scan_literal("null", token::literal_null);
    case '"':
        return scan_string();
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return scan_number();
    case '\0': // nlohmann's lexer takes a NUL for the end of the input
        return token::end_of_input;
    default:
        return token::parse_error;
    }
}

json_sax_reader::token json_sax_reader::scan_literal(std::string_view text, token t)
{
    if (static_cast<std::size_t>(end_ - cur_) < text.size() ||
        std::string_view(cur_, text.size()) != text)
        return token::parse_error;
    cur_ += text.size();
    return t;
}

json_sax_reader::token json_sax_reader::scan_string()
{
    string_.clear();
    const char* p = cur_ + 1; // past the opening quote
    const char* const e = end_;
    for (;;) {
        // Plain printable ASCII is copied a run at a time.
        const char* run = p;
        p += plain_text_run(p, e);
        string_.append(run, p);
        if (p == e)
            return token::parse_error; // missing closing quote
        const unsigned c = byte(*p);
        if (c == '"') {
            cur_ = p + 1;
            return token::value_string;
        }
        if (c < 0x20)
            return token::parse_error; // control characters must be escaped
        if (c >= 0x80) {
            const std::ptrdiff_t n = utf8_sequence(p, e);
            if (n == 0)
                return token::parse_error;
            string_.append(p, p + n);
            p += n;
            continue;
        }
        // An escape.
        if (++p == e)
            return token::parse_error;
        switch (*p++) {
        case '"':
            string_.push_back('"');
            break;
        case '\\':
            string_.push_back('\\');
            break;
        case '/':
            string_.push_back('/');
            break;
        case 'b':
            string_.push_back('\b');
            break;
        case 'f':
            string_.push_back('\f');
            break;
        case 'n':
            string_.push_back('\n');
            break;
        case 'r':
            string_.push_back('\r');
            break;
        case 't':
            string_.push_back('\t');
            break;
        case 'u': {
            const int cp1 = hex4(p, e);
            if (cp1 < 0)
                return token::parse_error;
            p += 4;
            unsigned cp = static_cast<unsigned>(cp1);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                // A high surrogate must be followed by an escaped low one.
                if (e - p < 2 || p[0] != '\\' || p[1] != 'u')
                    return token::parse_error;
                const int cp2 = hex4(p + 2, e);
                if (cp2 < 0xDC00 || cp2 > 0xDFFF)
                    return token::parse_error;
                p += 6;
                cp = ((cp - 0xD800u) << 10u) + (static_cast<unsigned>(cp2) - 0xDC00u) + 0x10000u;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return token::parse_error; // a lone low surrogate
            }
            append_utf8(string_, cp);
            break;
        }
        default:
            return token::parse_error;
        }
    }
}

json_sax_reader::token json_sax_reader::scan_number()
{
    const char* const start = cur_;
    const char* p = cur_;
    const char* const e = end_;
    const bool negative = *p == '-';
    if (negative)
        ++p;
    if (p == e)
        return token::parse_error;
    if (*p == '0') {
        ++p; // a leading zero ends the integer part: "01" is 0, then a stray 1
    } else if (is_digit(*p)) {
        while (p != e && is_digit(*p))
            ++p;
    } else {
        return token::parse_error;
    }
    const char* const int_end = p;
    bool is_float = false;
    if (p != e && *p == '.') {
        ++p;
        if (p == e || !is_digit(*p))
            return token::parse_error;
        while (p != e && is_digit(*p))
            ++p;
        is_float = true;
    }
    if (p != e && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p != e && (*p == '+' || *p == '-'))
            ++p;
        if (p == e || !is_digit(*p))
            return token::parse_error;
        while (p != e && is_digit(*p))
            ++p;
        is_float = true;
    }
    cur_ = p;

    if (!is_float) {
        // nlohmann: strtoull / strtoll, falling back to a float when out of range.
        constexpr auto max = std::numeric_limits<std::uint64_t>::max();
        std::uint64_t v = 0;
        bool overflow = false;
        for (const char* d = start + (negative ? 1 : 0); d != int_end; ++d) {
            const auto digit = static_cast<std::uint64_t>(*d - '0');
            if (v > (max - digit) / 10) {
                overflow = true;
                break;
            }
            v = v * 10 + digit;
        }
        constexpr std::uint64_t min_magnitude = std::uint64_t{1} << 63; // -INT64_MIN
        if (!overflow && !negative) {
            unsigned_ = v;
            return token::value_unsigned;
        }
        if (!overflow && v <= min_magnitude) {
            integer_ = v == min_magnitude ? std::numeric_limits<std::int64_t>::min()
                                          : -static_cast<std::int64_t>(v);
            return token::value_integer;
        }
    }

    // As nlohmann: the text with the locale's decimal point put in, read by strtod; this text
    // is also what number_float() is given.
    number_.assign(start, p);
    const char* point = std::localeconv()->decimal_point;
    const char decimal_point = point == nullptr ? '.' : *point;
    if (decimal_point != '.')
        for (char& c : number_)
            if (c == '.')
                c = decimal_point;
    float_ = std::strtod(number_.c_str(), nullptr);
    return token::value_float;
}

} // namespace tether::wire
