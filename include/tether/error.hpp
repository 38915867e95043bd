#pragma once

#include <boost/system/error_code.hpp>

#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace tether {

/// Every error tether reports. Registered with both `std::` and `boost::system::` so that
/// `ec == tether::errc::x` holds for a `std::error_code` and a `boost::system::error_code`.
/// Values never change meaning between releases; zero is not used (it means success).
enum class errc {
    acquire_timeout = 1,   ///< no link became available within `acquire_timeout`
    pool_closed,           ///< the pool was shut down (or is shutting down)
    connect_failed,        ///< resolve, TCP connect or the proving ping/pong failed
    no_endpoint_available, ///< nothing idle, leased or connecting, and every endpoint backs off
    connection_lost,       ///< the link broke (peer closed, reset, or found dead by probing)
    connection_draining,   ///< the link received `goaway`; nothing was sent; retry on another lease
    request_timeout,       ///< no response within `request_timeout`; the link stays usable
    protocol_error,        ///< the peer broke protocol v1; the link was closed
    frame_too_large,       ///< a frame over `max_frame_size` (outgoing: the link is kept)
    server_error,          ///< the server answered with an `error` object
    too_many_waiters,      ///< the acquire queue is full (`max_waiters`)
    too_many_requests,     ///< the link already has `max_outstanding_per_link` requests in flight
    invalid_lease,         ///< the lease is empty, moved-from or released
    would_block_io_thread, ///< a blocking call was made on one of the pool's own io threads
    invalid_argument, ///< a value cannot be sent as protocol v1 (e.g. a string that is not UTF-8)
    tls_handshake_failed, ///< the TLS handshake or the server's certificate was refused (a
                          ///< connect failure: the endpoint backs off; the reason is in
                          ///< endpoint_stats::last_error and the diagnostics)
};

/// The category of tether::errc; its name() is "tether".
const boost::system::error_category& error_category() noexcept;

/// Makes an error code of tether's category. Found by ADL for both std and boost codes.
inline boost::system::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

/// Thrown by tether's throwing calls. `code()` compares equal to a tether::errc. `what()` reads
/// "tether: <call> failed [<diagnostics, for acquires>]: <the error code's message>".
class error : public std::system_error {
public:
    error(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}
    explicit error(std::error_code ec) : std::system_error(ec) {}
};

/// Thrown by `lease::request` when the server answered with an `error` object.
class server_error : public error {
public:
    server_error(long long server_code, std::string server_message);
    /// The `code` member of the server's error object.
    long long server_code() const noexcept { return server_code_; }
    /// The `message` member of the server's error object.
    const std::string& server_message() const noexcept { return server_message_; }

private:
    long long server_code_;
    std::string server_message_;
};

/// Thrown by `pool_builder::build()`: `setting()` names the offending setting, `what()` says
/// which rule it broke.
class config_error : public std::invalid_argument {
public:
    config_error(std::string setting, const std::string& rule);
    const std::string& setting() const noexcept { return setting_; }

private:
    std::string setting_;
};

} // namespace tether

template <> struct boost::system::is_error_code_enum<tether::errc> : std::true_type {
};
template <> struct std::is_error_code_enum<tether::errc> : std::true_type {
};
