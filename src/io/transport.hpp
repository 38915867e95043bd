#pragma once

// The transport seam: one connection's byte stream under a link. Plain TCP is the first
// implementation (tcp_transport), TLS (tls_transport) the second; tests use a scriptable fake. The
// link's logic does not know which one it runs on.
//
// Every function is called on the link's strand, and every completion is delivered there,
// exactly once, to the transport_user given with the call (kept alive until then). After
// close(), pending operations complete with an error (operation_aborted or the like).

#include <tether/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace tether::detail {

/// Receives a transport's completions (the link).
class transport_user {
public:
    /// Connected (and, over TLS, the handshake done) and ready for bytes, or not: `detail`
    /// says why in words ("resolve h:p: ...", "connect h:p: ...", "TLS handshake with h:p:
    /// ..."). A refused handshake or certificate is errc::tls_handshake_failed.
    virtual void on_transport_connected(const boost::system::error_code& ec,
                                        std::string detail) = 0;
    virtual void on_transport_read(const boost::system::error_code& ec, std::size_t n) = 0;
    /// The whole buffer of async_write was written, or the write failed.
    virtual void on_transport_written(const boost::system::error_code& ec) = 0;

protected:
    ~transport_user() = default;
};

class transport {
public:
    virtual ~transport() = default;
    /// Resolves `ep` if its host is not numeric, connects, applies the socket options.
    virtual void async_connect(const endpoint& ep, std::shared_ptr<transport_user> user) = 0;
    /// Reads what is there (at least one byte) into `into`.
    virtual void async_read_some(boost::asio::mutable_buffer into,
                                 std::shared_ptr<transport_user> user) = 0;
    /// Writes all of `data`; the buffer stays valid until the completion.
    virtual void async_write(boost::asio::const_buffer data,
                             std::shared_ptr<transport_user> user) = 0;
    /// Writes what the connection takes right now without waiting; returns the bytes taken
    /// (0 and no error when it would block).
    virtual std::size_t write_now(boost::asio::const_buffer data,
                                  boost::system::error_code& ec) = 0;
    /// Bytes received and not read yet.
    virtual std::size_t available(boost::system::error_code& ec) = 0;
    /// `ec` of a completion of this transport in words: for errc::tls_handshake_failed the
    /// whole story ("TLS handshake with h:p: certificate verify failed: ...").
    virtual std::string describe(const boost::system::error_code& ec) const { return ec.message(); }
    /// Why a connect still pending at connect_timeout has not finished, in words.
    virtual std::string stalled_connect(const endpoint& ep) const
    {
        return "no TCP connection to " + to_string(ep) + " within connect_timeout";
    }
    /// Hands the connected socket's descriptor to the caller (the pool's idle watch): the
    /// transport forgets it without closing it, and its pending operations complete with
    /// operation_aborted. Returns -1 when this transport cannot (TLS, test fakes).
    virtual int release_descriptor(boost::system::error_code& ec)
    {
        ec.clear();
        return -1;
    }
    /// Takes back a descriptor from release_descriptor(), ready for operations again.
    virtual void reattach(int fd, boost::system::error_code& ec)
    {
        (void)fd;
        ec = boost::asio::error::operation_not_supported;
    }
    /// Shuts the connection down; pending operations complete with an error. `grace`: how long
    /// a TLS transport may wait for the peer's close_notify after sending its own (in the
    /// background; 0: close at once, as plain TCP always does).
    virtual void close(std::chrono::milliseconds grace) = 0;
};

/// Makes the transport of a new link, bound to the link's strand.
using transport_factory = std::function<std::unique_ptr<transport>(
    const boost::asio::any_io_executor& strand, const pool_config& config)>;

/// Plain TCP through Asio: the resolver (or config.resolver), TCP_NODELAY, keep-alive,
/// TCP_USER_TIMEOUT.
std::unique_ptr<transport> make_tcp_transport(const boost::asio::any_io_executor& strand,
                                              const pool_config& config);

struct tls_client_context;

/// TLS over TCP through Asio's ssl::stream with `context` (shared, immutable): SNI, peer
/// verification by the context's options, the handshake before on_transport_connected,
/// close_notify on a graceful close.
std::unique_ptr<transport> make_tls_transport(const boost::asio::any_io_executor& strand,
                                              const pool_config& config,
                                              std::shared_ptr<const tls_client_context> context);

} // namespace tether::detail
