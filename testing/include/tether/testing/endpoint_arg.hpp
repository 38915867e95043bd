#pragma once

// "host:port" as a command line or an environment variable gives it, read into a
// tether::endpoint: the samples' --endpoint and the tests that are told where a server is.

#include <tether/config.hpp>

#include <string_view>

namespace tether::testing {

/// Reads "host:port". An IPv6 literal comes in brackets, "[::1]:7000"; the brackets are dropped
/// (tether::endpoint holds the bare address, as tether::to_string expects). The port is a whole
/// number in 1..65535. Throws std::invalid_argument whose message starts with `what` (the
/// option or variable that gave `text`, e.g. "--endpoint") and quotes `text`.
tether::endpoint parse_endpoint_arg(std::string_view text, std::string_view what);

} // namespace tether::testing
