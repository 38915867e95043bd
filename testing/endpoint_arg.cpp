#include <tether/testing/endpoint_arg.hpp>

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tether::testing {

tether::endpoint parse_endpoint_arg(std::string_view text, std::string_view what)
{
    const auto bad = [&](std::string_view why) {
        return std::invalid_argument(std::string(what) + ": expected host:port, got '" +
                                     std::string(text) + "' (" + std::string(why) + ")");
    };
    // The last colon: an unbracketed IPv6 literal still ends with the port.
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
        throw bad("no port");
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty())
        throw bad("no host");
    unsigned port = 0;
    const char* const last = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), last, port);
    if (port_text.empty() || ec != std::errc{} || ptr != last || port == 0 || port > 65535)
        throw bad("the port must be a whole number in 1..65535");
    return {std::string(host), static_cast<std::uint16_t>(port)};
}

} // namespace tether::testing
