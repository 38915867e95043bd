#pragma once

// Compact JSON out of an nlohmann value, byte for byte what its dump() writes, faster for the
// common case: a string of printable ASCII without quotes or backslashes (most keys, most
// text bodies) is copied in one piece instead of byte by byte through the serializer's UTF-8
// state machine (a 4 KiB string: 13 µs there). Every other string, and every number, boolean
// and null, still goes through nlohmann's serializer (`scalar`), so escapes, UTF-8 checks and
// number formats stay exactly its own.

#include "sansio/json_scan.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace tether::wire {

/// True when `s` can be written between quotes as it is: every byte in 0x20..0x7f except
/// '"' and '\\' (nlohmann escapes those two and the bytes below 0x20; it checks the UTF-8 of
/// bytes from 0x80).
inline bool is_plain_json_text(std::string_view s) noexcept
{
    return plain_text_run(s.data(), s.data() + s.size()) == s.size();
}

/// Appends `j` to `out` as compact JSON; `scalar(const nlohmann::json&)` writes what is not a
/// container or a plain string (and may throw as nlohmann's dump does: invalid UTF-8).
template <class Scalar> void append_json(std::string& out, const nlohmann::json& j, Scalar& scalar)
{
    using nlohmann::json;
    const auto append_string = [&](const std::string& s, const json* node) {
        if (is_plain_json_text(s)) {
            out.push_back('"');
            out.append(s);
            out.push_back('"');
        } else if (node != nullptr) {
            scalar(*node);
        } else {
            scalar(json(s)); // an object key that needs escapes or a UTF-8 check: rare
        }
    };
    switch (j.type()) {
    case json::value_t::object: {
        out.push_back('{');
        bool first = true;
        for (const auto& [key, value] : j.get_ref<const json::object_t&>()) {
            if (!first)
                out.push_back(',');
            first = false;
            append_string(key, nullptr);
            out.push_back(':');
            append_json(out, value, scalar);
        }
        out.push_back('}');
        return;
    }
    case json::value_t::array: {
        out.push_back('[');
        bool first = true;
        for (const auto& value : j.get_ref<const json::array_t&>()) {
            if (!first)
                out.push_back(',');
            first = false;
            append_json(out, value, scalar);
        }
        out.push_back(']');
        return;
    }
    case json::value_t::string:
        append_string(j.get_ref<const std::string&>(), &j);
        return;
    default:
        scalar(j);
        return;
    }
}

} // namespace tether::wire
