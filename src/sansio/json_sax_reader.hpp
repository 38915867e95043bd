#pragma once

// A JSON SAX driver of our own, a drop-in for `nlohmann::json::sax_parse` over a complete text.
//
// Why: nlohmann builds a fresh lexer per parse, whose token buffers regrow for every reply
// (about 10 allocations for a 64-byte one). This reader keeps its scratch buffers (the string
// being unescaped, the number text, the container stack) across parses, so in steady state a
// parse allocates nothing by itself; only the handler's values do.
//
// Contract: for every input, the same accept/reject decision and the same sequence of SAX
// events with the same values as `json::sax_parse(text.begin(), text.end(), &sax)` in
// nlohmann 3.11.2 (strict, no comments). The grammar below mirrors nlohmann's
// parser::sax_parse_internal and the lexer mirrors nlohmann's lexer, quirks included: a UTF-8
// BOM at the very start is skipped, a NUL byte where a token would start counts as the end of
// the input, numbers that overflow a double are rejected, floats are read by strtod with the
// C locale's decimal point put in. tests/fuzz/fuzz_json_sax.cpp checks this differentially.
// One difference: on malformed input parse() returns false without calling the handler's
// parse_error() (nlohmann calls it and returns what it returns; our handlers return false).

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tether::wire {

class json_sax_reader {
public:
    using json = nlohmann::json;

    // Parses `text` and reports it to `sax`, nlohmann's SAX interface (null, boolean,
    // number_integer, number_unsigned, number_float, string, key, start/end_object,
    // start/end_array). Returns false on malformed input or as soon as a handler returns false.
    // Not reentrant: a handler must not call parse() on the same reader.
    template <class Sax> bool parse(std::string_view text, Sax& sax)
    {
        begin(text);
        const bool ok = run(sax);
        end();
        return ok;
    }

private:
    enum class token {
        begin_array,
        begin_object,
        end_array,
        end_object,
        name_separator,
        value_separator,
        literal_true,
        literal_false,
        literal_null,
        value_string,
        value_unsigned,
        value_integer,
        value_float,
        end_of_input,
        parse_error
    };

    void begin(std::string_view text);
    void end(); // gives back scratch capacity above the keep limit
    token scan();
    token scan_string();
    token scan_number();
    token scan_literal(std::string_view rest, token t);

    // nlohmann's sax_parse_internal, with its `states` stack and control flow kept as they are
    // so that the events, and the point where they stop, match it one for one.
    template <class Sax> bool run(Sax& sax)
    {
        token t = scan();
        bool skip_to_state_evaluation = false;
        for (;;) {
            if (!skip_to_state_evaluation) {
                switch (t) {
                case token::begin_object:
                    if (!sax.start_object(static_cast<std::size_t>(-1)))
                        return false;
                    if ((t = scan()) == token::end_object) {
                        if (!sax.end_object())
                            return false;
                        break;
                    }
                    if (t != token::value_string || !sax.key(string_) ||
                        scan() != token::name_separator)
                        return false;
                    states_.push_back('o');
                    t = scan();
                    continue;
                case token::begin_array:
                    if (!sax.start_array(static_cast<std::size_t>(-1)))
                        return false;
                    if ((t = scan()) == token::end_array) {
                        if (!sax.end_array())
                            return false;
                        break;
                    }
                    states_.push_back('a');
                    continue;
                case token::value_float:
                    // nlohmann refuses a number that overflows a double.
                    if (!std::isfinite(float_) || !sax.number_float(float_, number_))
                        return false;
                    break;
                case token::literal_false:
                    if (!sax.boolean(false))
                        return false;
                    break;
                case token::literal_null:
                    if (!sax.null())
                        return false;
                    break;
                case token::literal_true:
                    if (!sax.boolean(true))
                        return false;
                    break;
                case token::value_integer:
                    if (!sax.number_integer(integer_))
                        return false;
                    break;
                case token::value_string:
                    if (!sax.string(string_))
                        return false;
                    break;
                case token::value_unsigned:
                    if (!sax.number_unsigned(unsigned_))
                        return false;
                    break;
                default: // a structural token where a value belongs, end of input, lexer error
                    return false;
                }
            } else {
                skip_to_state_evaluation = false;
            }

            if (states_.empty()) // the top-level value is complete: only the end may follow
                return scan() == token::end_of_input;

            if (states_.back() == 'a') { // in an array
                if ((t = scan()) == token::value_separator) {
                    t = scan();
                    continue;
                }
                if (t != token::end_array || !sax.end_array())
                    return false;
                states_.pop_back();
                skip_to_state_evaluation = true;
                continue;
            }
            // in an object
            if ((t = scan()) == token::value_separator) {
                if (scan() != token::value_string || !sax.key(string_) ||
                    scan() != token::name_separator)
                    return false;
                t = scan();
                continue;
            }
            if (t != token::end_object || !sax.end_object())
                return false;
            states_.pop_back();
            skip_to_state_evaluation = true;
        }
    }

    const char* cur_ = nullptr;
    const char* end_ = nullptr;
    bool at_start_ = true; // nothing scanned yet (where a BOM may be)

    // The last token's value. Reused from parse to parse: capacity is the point.
    std::string string_; // string or key, unescaped
    std::string number_; // a float's text as nlohmann passes it
    double float_ = 0;
    std::int64_t integer_ = 0;
    std::uint64_t unsigned_ = 0;
    std::string states_; // open containers, innermost last: 'a' array, 'o' object
};

} // namespace tether::wire
