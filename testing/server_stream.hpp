#pragma once

// The byte stream of one accepted connection: the TCP socket itself, or TLS over it. The
// connection reads, writes and closes through it the same way in both cases; only the TLS
// handshake and close_notify are TLS's own. Every operation runs on the socket's strand.

#include "server.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <utility>
#include <variant>

namespace tether::testing::detail {

class server_stream {
public:
    using tls_stream = asio::ssl::stream<socket_t>;

    /// Plaintext when `tls` is null, else the server's side of TLS over `socket`.
    server_stream(socket_t socket, asio::ssl::context* tls);

    bool is_tls() const noexcept { return std::holds_alternative<tls_stream>(stream_); }

    /// TLS only: the server's side of the handshake. Handler: void(error_code).
    template <class Handler> void async_handshake(Handler&& handler)
    {
        std::get<tls_stream>(stream_).async_handshake(asio::ssl::stream_base::server,
                                                      std::forward<Handler>(handler));
    }

    /// TLS only: sends close_notify, then waits for the peer's. Handler: void(error_code).
    /// Nothing else may be in flight meanwhile.
    template <class Handler> void async_shutdown(Handler&& handler)
    {
        std::get<tls_stream>(stream_).async_shutdown(std::forward<Handler>(handler));
    }

    /// Handler: void(error_code, std::size_t). Over TLS, the peer's close_notify reads as eof
    /// and a TCP close without it as asio::ssl::error::stream_truncated.
    template <class Handler> void async_read_some(asio::mutable_buffer buffer, Handler&& handler)
    {
        std::visit([&](auto& s) { s.async_read_some(buffer, std::forward<Handler>(handler)); },
                   stream_);
    }

    /// Writes all of `buffer`. Handler: void(error_code, std::size_t).
    template <class Handler> void async_write(asio::const_buffer buffer, Handler&& handler)
    {
        std::visit([&](auto& s) { asio::async_write(s, buffer, std::forward<Handler>(handler)); },
                   stream_);
    }

    /// Aborts the reads and writes in flight (they complete with operation_aborted).
    void cancel();

    /// Closes the TCP socket at once, without close_notify: FIN, or RST when `reset`.
    void close(bool reset);

private:
    using any_stream = std::variant<socket_t, tls_stream>;
    static any_stream make(socket_t socket, asio::ssl::context* tls);

    socket_t& socket() noexcept;

    any_stream stream_;
};

} // namespace tether::testing::detail
