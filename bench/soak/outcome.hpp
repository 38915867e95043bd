#pragma once

// Names of operation outcomes: "ok", a tether::errc name ("connection_lost", ...),
// "operation_aborted" for a cancellation, else "<category>:<value>".

#include <boost/system/error_code.hpp>

#include <string>
#include <system_error>

namespace soak {

std::string outcome_of(const boost::system::error_code& ec);
std::string outcome_of(const std::error_code& ec);

/// The failure name of a reply that does not match its request (another caller's response,
/// a corrupted body, an error that was not asked for): always a verdict failure.
inline constexpr const char* wrong_reply = "wrong_reply";

} // namespace soak
