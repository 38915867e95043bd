// libFuzzer target for wire::parse / wire::serialize / wire::json_depth.
//
// The whole input is one payload. It is parsed as sent by the server and by the client, with a
// small depth limit and with the default one. Whatever the input, nothing may crash, leak or
// throw. When a parse succeeds:
//   - serialize() succeeds (parse accepts only valid UTF-8 JSON, so there is no string the
//     strict serializer could refuse) and writes one well-formed frame after what `out` held;
//   - parsing the serialized payload again, with the same options, yields an equal message;
//   - a too-small max_frame_size gives frame_too_large and leaves `out` untouched;
//   - a success under the small depth limit is also a success, with the same message, under
//     the default limit.
// json_depth(text, limit) never returns more than limit + 1, and agrees with itself across
// limits. Whatever the ping/pong fast path accepts, the full parser reads the same way.

#include "sansio/control_fast_path.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"

#include <tether/error.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace {

namespace wire = tether::wire;

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

constexpr std::size_t small_depth = 16;

bool same(const wire::message& a, const wire::message& b)
{
    if (a.index() != b.index())
        return false;
    return std::visit(
        [&](const auto& x) -> bool {
            using T = std::decay_t<decltype(x)>;
            const auto& y = std::get<T>(b);
            if constexpr (std::is_same_v<T, wire::ping> || std::is_same_v<T, wire::pong>) {
                return x.id == y.id;
            } else if constexpr (std::is_same_v<T, wire::request>) {
                return x.id == y.id && x.body == y.body;
            } else if constexpr (std::is_same_v<T, wire::response>) {
                if (x.id != y.id || x.error.has_value() != y.error.has_value())
                    return false;
                if (x.error)
                    return x.error->code == y.error->code && x.error->message == y.error->message;
                return x.body == y.body;
            } else if constexpr (std::is_same_v<T, wire::notify>) {
                return x.body == y.body;
            } else if constexpr (std::is_same_v<T, wire::goaway>) {
                return x.reason == y.reason;
            } else {
                static_assert(std::is_same_v<T, wire::unknown>);
                return x.type == y.type;
            }
        },
        a);
}

void check_json_depth(std::string_view text)
{
    constexpr std::size_t limits[] = {0, 1, 2, small_depth, wire::default_max_json_depth, 100000};
    const std::size_t full = wire::json_depth(text, std::numeric_limits<std::size_t>::max() - 1);
    for (const std::size_t limit : limits) {
        const std::size_t d = wire::json_depth(text, limit);
        FUZZ_CHECK(d <= limit + 1);
        // Below the limit the scan is complete; above it, it stops at limit + 1.
        FUZZ_CHECK(d == (full <= limit ? full : limit + 1));
    }
}

// serialize() then parse() again, plus the frame-size limit and the shorthands.
void round_trip(const wire::message& msg, const wire::parse_options& options)
{
    // `out` already holds something: serialize appends and must not touch it.
    const std::string prefix = "prefix";
    std::string out = prefix;
    const auto ec = wire::serialize(msg, out, std::numeric_limits<std::uint32_t>::max());
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(out.size() > prefix.size() + wire::frame_header_size);
    FUZZ_CHECK(out.compare(0, prefix.size(), prefix) == 0);
    const std::string_view frame = std::string_view(out).substr(prefix.size());
    const std::uint32_t length = wire::read_frame_length(frame.data());
    FUZZ_CHECK(length == frame.size() - wire::frame_header_size);
    const std::string_view payload = frame.substr(wire::frame_header_size);

    const auto again = wire::parse(payload, options);
    FUZZ_CHECK(!again.ec);
    FUZZ_CHECK(same(msg, again.msg));
    FUZZ_CHECK(wire::type_name(msg) == wire::type_name(again.msg));
    FUZZ_CHECK(wire::to_payload(msg) == payload);

    // One byte short of the limit: refused, and `out` is exactly as it was.
    std::string tight = prefix;
    const auto too_large = wire::serialize(msg, tight, length - 1);
    FUZZ_CHECK(too_large == tether::errc::frame_too_large);
    FUZZ_CHECK(tight == prefix);
    // Exactly at the limit: accepted, byte for byte the same frame.
    std::string exact;
    FUZZ_CHECK(!wire::serialize(msg, exact, length));
    FUZZ_CHECK(exact == frame);

    // The hot-path shorthands write what serialize() writes.
    if (const auto* req = std::get_if<wire::request>(&msg)) {
        std::string s;
        FUZZ_CHECK(!wire::serialize_request(req->id, req->body, s, length));
        FUZZ_CHECK(s == frame);
    } else if (const auto* resp = std::get_if<wire::response>(&msg); resp && !resp->error) {
        std::string s;
        FUZZ_CHECK(!wire::serialize_response(resp->id, resp->body, s, length));
        FUZZ_CHECK(s == frame);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    check_json_depth(text);

    for (const auto from : {wire::sender::server, wire::sender::client}) {
        const wire::parse_options small{from, small_depth};
        const wire::parse_options deflt{from, wire::default_max_json_depth};
        const auto r_small = wire::parse(text, small);
        const auto r_default = wire::parse(text, deflt);

        if (r_small.ec) {
            FUZZ_CHECK(r_small.ec == tether::errc::protocol_error);
            FUZZ_CHECK(!r_small.detail.empty());
        } else {
            round_trip(r_small.msg, small);
            FUZZ_CHECK(!r_default.ec);
            FUZZ_CHECK(same(r_small.msg, r_default.msg));
        }
        if (r_default.ec) {
            FUZZ_CHECK(r_default.ec == tether::errc::protocol_error);
            FUZZ_CHECK(!r_default.detail.empty());
        } else {
            round_trip(r_default.msg, deflt);
        }
        // The ping/pong fast path accepts only what the full parser reads the same way.
        if (const auto fast = wire::parse_canonical_control(text)) {
            FUZZ_CHECK(!r_default.ec);
            FUZZ_CHECK(same(*fast, r_default.msg));
        }
    }
    return 0;
}
