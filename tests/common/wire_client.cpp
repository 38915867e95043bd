#include "wire_client.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace tether::test {
namespace {

/// The next message in `dec`, or nullopt when it needs more bytes.
std::optional<received> next_received(wire::frame_decoder& dec)
{
    std::string_view payload;
    boost::system::error_code ec;
    const auto status = dec.next(payload, ec);
    if (status == wire::decode_status::need_more)
        return std::nullopt;
    if (status == wire::decode_status::error)
        return received{rx::bad_frame, {}, ec};
    auto parsed = wire::parse(payload, {.from = wire::sender::server});
    if (parsed.ec) {
        ADD_FAILURE() << "server sent an invalid payload (" << parsed.detail << "): " << payload;
        return received{rx::bad_frame, {}, parsed.ec};
    }
    return received{rx::frame, std::move(parsed.msg), {}};
}

} // namespace

const char* to_string(rx r)
{
    switch (r) {
    case rx::frame:
        return "frame";
    case rx::timeout:
        return "timeout";
    case rx::closed:
        return "closed";
    case rx::bad_frame:
        return "bad frame";
    }
    return "?";
}

void wire_client::send(const wire::message& m)
{
    std::string out;
    const auto ec = wire::serialize(m, out, std::numeric_limits<std::uint32_t>::max());
    if (ec)
        throw std::runtime_error("cannot serialize: " + ec.message());
    send_raw(out);
}

received wire_client::read(std::chrono::milliseconds timeout)
{
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    for (;;) {
        if (auto next = next_received(dec_))
            return std::move(*next);
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0)
            return {rx::timeout, {}, {}};
        boost::system::error_code ec;
        const std::size_t got = read_some(dec_.prepare(), left, ec);
        if (ec)
            return {rx::closed, {}, ec};
        dec_.commit(got);
    }
}

} // namespace tether::test
