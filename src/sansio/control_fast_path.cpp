#include "sansio/control_fast_path.hpp"

namespace tether::wire {
namespace {

// Consumes a JSON integer id (no sign, no leading zero, within max_id) from the front of `s`.
bool take_id(std::string_view& s, std::uint64_t& id) noexcept
{
    std::size_t n = 0;
    std::uint64_t value = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
        if (n == 16)
            return false; // max_id has 16 digits
        value = value * 10 + static_cast<std::uint64_t>(s[n] - '0');
        ++n;
    }
    if (n == 0 || (n > 1 && s[0] == '0') || value > max_id)
        return false;
    s.remove_prefix(n);
    id = value;
    return true;
}

bool take(std::string_view& s, std::string_view literal) noexcept
{
    if (!s.starts_with(literal))
        return false;
    s.remove_prefix(literal.size());
    return true;
}

// "ping" or "pong" with its closing quote; true for ping.
bool take_type(std::string_view& s, bool& is_ping) noexcept
{
    if (take(s, R"(ping")")) {
        is_ping = true;
        return true;
    }
    is_ping = false;
    return take(s, R"(pong")");
}

} // namespace

std::optional<message> parse_canonical_control(std::string_view s) noexcept
{
    bool is_ping = false;
    std::uint64_t id = 0;
    if (take(s, R"({"type":")")) {
        if (!take_type(s, is_ping) || !take(s, R"(,"id":)") || !take_id(s, id))
            return std::nullopt;
    } else if (take(s, R"({"id":)")) {
        if (!take_id(s, id) || !take(s, R"(,"type":")") || !take_type(s, is_ping))
            return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (s != "}")
        return std::nullopt;
    if (is_ping)
        return message{ping{id}};
    return message{pong{id}};
}

} // namespace tether::wire
