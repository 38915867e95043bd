#pragma once

// A SAX handler that writes down every event with its value, so that two SAX drivers (ours,
// wire::json_sax_reader, and nlohmann's json::sax_parse) can be compared byte for byte: floats
// by their bits and text, strings bytewise. It can refuse the n-th event (returns false), to
// check that both stop at the same point. Shared by tests/unit and tests/fuzz.

#include "sansio/json_sax_reader.hpp"

#include <nlohmann/json.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tether::test {

class sax_recorder {
public:
    using json = nlohmann::json;
    static constexpr std::size_t never = static_cast<std::size_t>(-1);

    explicit sax_recorder(std::size_t refuse_at = never) : refuse_at_(refuse_at) {}

    std::string log;        ///< the events, encoded
    std::size_t events = 0; ///< how many were offered
    bool refused = false;   ///< the handler said stop

    bool null() { return put('n'); }
    bool boolean(bool v) { return put(v ? 'T' : 'F'); }
    bool number_integer(json::number_integer_t v) { return put('i', &v, sizeof v); }
    bool number_unsigned(json::number_unsigned_t v) { return put('u', &v, sizeof v); }
    bool number_float(json::number_float_t v, const json::string_t& text)
    {
        const auto bits = std::bit_cast<std::uint64_t>(v);
        return put('f', &bits, sizeof bits, text);
    }
    bool string(json::string_t& v) { return put('s', nullptr, 0, v); }
    bool binary(json::binary_t&) { return put('B'); } // never from JSON text
    bool key(json::string_t& v) { return put('k', nullptr, 0, v); }
    bool start_object(std::size_t n) { return put('{', &n, sizeof n); }
    bool end_object() { return put('}'); }
    bool start_array(std::size_t n) { return put('[', &n, sizeof n); }
    bool end_array() { return put(']'); }
    template <class Exception> bool parse_error(std::size_t, const std::string&, const Exception&)
    {
        log += 'E'; // not an offered event: it cannot be refused
        return false;
    }

private:
    bool put(char tag, const void* value = nullptr, std::size_t size = 0,
             std::string_view text = {})
    {
        log += tag;
        log.append(static_cast<const char*>(value), size);
        if (tag == 'f' || tag == 's' || tag == 'k') {
            const std::uint64_t n = text.size();
            log.append(reinterpret_cast<const char*>(&n), sizeof n);
            log.append(text);
        }
        if (events++ == refuse_at_) {
            log += 'R';
            refused = true;
            return false;
        }
        return true;
    }

    std::size_t refuse_at_;
};

// One driver's verdict and events for a text.
struct sax_outcome {
    bool ok = false;
    std::string log;
    std::size_t events = 0;
    bool operator==(const sax_outcome&) const = default;
};

inline sax_outcome nlohmann_sax(std::string_view text, std::size_t refuse_at = sax_recorder::never)
{
    sax_recorder r(refuse_at);
    const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &r);
    return {ok, std::move(r.log), r.events};
}

// Our driver; a failure it does not owe to a refusal is logged as nlohmann's parse_error is.
inline sax_outcome our_sax(wire::json_sax_reader& reader, std::string_view text,
                           std::size_t refuse_at = sax_recorder::never)
{
    sax_recorder r(refuse_at);
    const bool ok = reader.parse(text, r);
    if (!ok && !r.refused)
        r.log += 'E';
    return {ok, std::move(r.log), r.events};
}

} // namespace tether::test
