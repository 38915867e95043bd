#pragma once

// The protocol side of the raw test clients of the reference server (echo_server_test.cpp over
// TCP, echo_server_tls_test.cpp over TLS): messages out, messages back within a deadline, and
// how a read ended. A subclass moves the bytes.

#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tether::test {

enum class rx { frame, timeout, closed, bad_frame };

const char* to_string(rx r);

struct received {
    rx status = rx::timeout;
    wire::message msg;
    boost::system::error_code ec; ///< why the connection closed (eof, connection_reset, ...)
};

class wire_client {
public:
    virtual ~wire_client() = default;

    virtual void send_raw(std::string_view bytes) = 0;
    /// Throws std::runtime_error when `m` cannot be serialized.
    void send(const wire::message& m);
    void ping(std::uint64_t id) { send(wire::ping{id}); }
    void request(std::uint64_t id, const wire::json& body) { send(wire::request{id, body}); }

    /// The next message within `timeout`; else timeout, closed (with the reason) or bad_frame
    /// (a test failure is added when the server sent an invalid payload).
    received read(std::chrono::milliseconds timeout);

protected:
    /// Waits at most `timeout` for bytes and reads them into `space`: returns how many (0 when
    /// none came in time), or sets `ec` to what ended the stream.
    virtual std::size_t read_some(std::span<char> space, std::chrono::milliseconds timeout,
                                  boost::system::error_code& ec) = 0;

private:
    wire::frame_decoder dec_{64u << 20};
};

} // namespace tether::test
