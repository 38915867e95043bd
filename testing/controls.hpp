#pragma once

// The test controls of the reference server: what the member "$test" of an object request body
// asks for (docs/echo_server.md, "Test controls"), read into a reply_plan. No sockets.

#include "sansio/message.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tether::testing::detail {

/// The error code a malformed or unknown control is answered with.
inline constexpr std::int64_t bad_control_code = 400;
/// The error code of a refused login, or of a request before the login (login_token).
inline constexpr std::int64_t login_refused_code = 401;

/// What to do about one request, read from its "$test" controls.
struct reply_plan {
    std::uint64_t id = 0;
    wire::json body;
    std::optional<wire::error_object> error;
    std::chrono::milliseconds sleep{0};
    std::uint64_t notifies = 0;
    bool close = false;
    bool reset = false;
    bool hang = false;
    bool no_reply = false;
    bool goaway = false;
    bool truncate = false;
};

/// Reads the "$test" member of an object body into `plan`. Returns why the controls are invalid,
/// or an empty string when they are fine (or absent).
std::string read_controls(const wire::json& body, reply_plan& plan);

} // namespace tether::testing::detail
