#pragma once

// Typed protocol v1 messages, their strict validation (parse) and their encoding straight into
// an output buffer as complete frames (serialize). No sockets, no Asio.

#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tether::wire {

using json = nlohmann::json;

/// Largest id the protocol allows: 2^53-1 (exact in every JSON implementation).
inline constexpr std::uint64_t max_id = (std::uint64_t{1} << 53) - 1;
inline constexpr std::size_t default_max_json_depth = 64;

struct ping {
    std::uint64_t id = 0;
};
struct pong {
    std::uint64_t id = 0;
};
struct request {
    std::uint64_t id = 0;
    json body;
};
struct error_object {
    std::int64_t code = 0;
    std::string message;
};
struct response {
    std::uint64_t id = 0;
    json body;                         ///< the result, when `error` is empty
    std::optional<error_object> error; ///< the server's error, when set
};
struct notify {
    json body;
};
struct goaway {
    std::string reason;
};
/// A message of an unknown type, or of a known type sent in the wrong direction: the receiver
/// ignores it and counts it.
struct unknown {
    std::string type;
};

using message = std::variant<ping, pong, request, response, notify, goaway, unknown>;

/// Who sent the payload being parsed; decides which known types are in the right direction.
enum class sender { client, server };

struct parse_options {
    sender from = sender::server;
    std::size_t max_depth = default_max_json_depth;
};

struct parse_result {
    boost::system::error_code ec; ///< errc::protocol_error when the payload is invalid
    std::string detail;           ///< why it is invalid, for logs and diagnostics
    message msg;                  ///< valid when !ec
};

/// Validates and decodes one payload per protocol.md "Rules a receiver follows".
parse_result parse(std::string_view payload, const parse_options& options = {});

/// The deepest nesting of arrays/objects in JSON text, scanning no further than `limit + 1`
/// levels; a lexical scan that needs no parse, so hostile depth is refused before any tree
/// (and any recursive destructor) exists.
std::size_t json_depth(std::string_view text, std::size_t limit);

/// Appends `msg` as one complete frame (header + payload) to `out`. On failure (`frame_too_large`
/// when the payload exceeds `max_frame_size`, `invalid_argument` when a string is not valid UTF-8)
/// `out` is left exactly as it was.
boost::system::error_code serialize(const message& msg, std::string& out,
                                    std::uint32_t max_frame_size);

/// Shorthands for the hot paths: no variant, no copy of the body.
boost::system::error_code serialize_request(std::uint64_t id, const json& body, std::string& out,
                                            std::uint32_t max_frame_size);
boost::system::error_code serialize_response(std::uint64_t id, const json& body, std::string& out,
                                             std::uint32_t max_frame_size);

/// The payload alone, without the frame header (tests, logs).
std::string to_payload(const message& msg);

/// The protocol name of a message's type ("ping", "response", ...).
std::string_view type_name(const message& msg);

} // namespace tether::wire
