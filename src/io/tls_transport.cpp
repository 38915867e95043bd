// TLS under a link: tcp_connector opens the TCP connection, then the handshake runs with the
// shared client context (tls_context.hpp): SNI for DNS names, the peer's name or IP checked
// when verify is full, the ALPN choice checked when protocols were offered. All before
// on_transport_connected, so inside the link's connect deadline and before its proving ping.
//
// The stream lives in a shared state that its operations keep alive: a graceful close (send
// close_notify, wait up to `grace` for the peer's, then close the socket) goes on in the
// background after the link that asked for it is gone.

#include "io/tcp_connector.hpp"
#include "io/tls_context.hpp"
#include "io/transport.hpp"

#include <tether/detail/handler_memory.hpp>
#include <tether/error.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace tether::detail {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;

/// OpenSSL's words for a failed handshake: the certificate check's verdict when that was the
/// cause ("certificate verify failed: certificate has expired"), else the reason of the error.
std::string handshake_reason(SSL* ssl, const error_code& ec)
{
    if (ec == ssl::error::stream_truncated || ec == asio::error::eof)
        return "the server closed the connection during the handshake";
    if (ec.category() != asio::error::get_ssl_category())
        return ec.message();
    const long verdict = SSL_get_verify_result(ssl);
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
        verdict != X509_V_OK)
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verdict);
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    return reason ? reason : ec.message();
}

class tls_transport final : public transport {
public:
    tls_transport(const asio::any_io_executor& strand, const pool_config& config,
                  std::shared_ptr<const tls_client_context> context)
        : s_(std::make_shared<state>(strand, config, std::move(context)))
    {
    }

    void async_connect(const endpoint& ep, std::shared_ptr<transport_user> user) override
    {
        s_->connector.async_connect(
            s_->stream.next_layer(), ep,
            [s = s_, &ep, user = std::move(user)](const error_code& ec, std::string detail) {
                if (ec || s->closing) {
                    user->on_transport_connected(ec ? ec : asio::error::operation_aborted,
                                                 std::move(detail));
                    return;
                }
                s->start_handshake(ep, user);
            });
    }

    void async_read_some(asio::mutable_buffer into, std::shared_ptr<transport_user> user) override
    {
        if (s_->read_failure) { // found by an earlier read_buffered(): reported now, on the strand
            asio::post(s_->stream.get_executor(), [ec = s_->read_failure, user = std::move(user)] {
                user->on_transport_read(ec, 0);
            });
            return;
        }
        s_->stream.async_read_some(
            into, with_handler_memory([s = s_, into, user = std::move(user)](const error_code& ec,
                                                                             std::size_t n) {
                if (!ec) {
                    s->received = true;
                    if (!s->closing) // a close_notify exchange may own the engine now
                        n += s->read_buffered(into + n);
                    user->on_transport_read(ec, n);
                    return;
                }
                // Under TLS 1.3 the server judges the client's certificate after the client
                // finished its handshake: a refusal arrives as an alert on the first read.
                if (!s->received && ec.category() == asio::error::get_ssl_category()) {
                    s->failure = "TLS handshake with " + to_string(*s->peer) + ": " +
                                 handshake_reason(s->stream.native_handle(), ec);
                    user->on_transport_read(make_error_code(errc::tls_handshake_failed), 0);
                    return;
                }
                user->on_transport_read(ec, 0);
            }));
    }

    void async_write(asio::const_buffer data, std::shared_ptr<transport_user> user) override
    {
        asio::async_write(s_->stream, data,
                          with_handler_memory(
                              [s = s_, user = std::move(user)](const error_code& ec, std::size_t) {
                                  user->on_transport_written(ec);
                              }));
    }

    std::size_t write_now(asio::const_buffer, error_code& ec) override
    {
        // A record cannot be half written and resumed later by another operation: everything
        // goes through async_write.
        ec.clear();
        return 0;
    }

    std::size_t available(error_code& ec) override
    {
        return s_->stream.next_layer().available(ec) +
               static_cast<std::size_t>(SSL_pending(s_->stream.native_handle()));
    }

    std::string describe(const error_code& ec) const override
    {
        if (ec == errc::tls_handshake_failed && !s_->failure.empty())
            return s_->failure;
        return ec.message();
    }

    std::string stalled_connect(const endpoint& ep) const override
    {
        return s_->handshaking
                   ? "TLS handshake with " + to_string(ep) + " not finished within connect_timeout"
                   : transport::stalled_connect(ep);
    }

    void close(std::chrono::milliseconds grace) override { s_->close(s_, grace); }

private:
    struct state : std::enable_shared_from_this<state> {
        state(const asio::any_io_executor& strand, const pool_config& config,
              std::shared_ptr<const tls_client_context> ctx)
            : context(std::move(ctx)), stream(strand, context->ssl), connector(strand, config),
              close_timer(strand)
        {
        }

        void start_handshake(const endpoint& ep, const std::shared_ptr<transport_user>& user);
        void on_handshake(const error_code& ec, const std::shared_ptr<transport_user>& user);
        void close(const std::shared_ptr<state>& self, std::chrono::milliseconds grace);
        std::size_t read_buffered(asio::mutable_buffer rest);
        void close_socket()
        {
            error_code ignored;
            stream.next_layer().close(ignored);
        }

        std::shared_ptr<const tls_client_context> context; // outlives the stream using it
        ssl::stream<tcp::socket> stream;
        tcp_connector connector;
        asio::steady_timer close_timer;
        const endpoint* peer = nullptr; // the link's, valid for the link's life
        std::string failure;            // why the handshake failed, in words
        bool handshaking = false;
        bool established = false;
        bool received = false;   // application data arrived
        error_code read_failure; // the stream failed or ended behind data already delivered
        bool closing = false;
    };

    std::shared_ptr<state> s_;
};

// A read of the stream returns one record's data; the records that came with it in the same
// socket read wait, already received, in the engine's memory. Taken now, with plain SSL_read
// calls that never touch the socket (the engine's BIO is memory), they reach the link in one
// delivery: the replies of a pipelined batch complete together and the requests sent in
// their completions leave together, rather than one record and one segment per request. An
// end or error found here is kept and given to the next read.
std::size_t tls_transport::state::read_buffered(asio::mutable_buffer rest)
{
    SSL* ssl = stream.native_handle();
    std::size_t got = 0;
    while (got < rest.size()) {
        ERR_clear_error();
        const int room = static_cast<int>(std::min<std::size_t>(rest.size() - got, 1u << 30));
        const int r = SSL_read(ssl, static_cast<char*>(rest.data()) + got, room);
        if (r > 0) {
            got += static_cast<std::size_t>(r);
            continue;
        }
        const int why = SSL_get_error(ssl, r);
        if (why == SSL_ERROR_ZERO_RETURN) {
            read_failure = asio::error::eof; // close_notify, as the stream itself reports it
        } else if (why != SSL_ERROR_WANT_READ && why != SSL_ERROR_WANT_WRITE) {
            const unsigned long e = ERR_get_error();
            read_failure = e != 0 ? error_code(static_cast<int>(e), asio::error::get_ssl_category())
                                  : error_code(ssl::error::stream_truncated);
        }
        ERR_clear_error();
        break; // nothing whole left in memory: the next read waits for the socket
    }
    return got;
}

void tls_transport::state::start_handshake(const endpoint& ep,
                                           const std::shared_ptr<transport_user>& user)
{
    peer = &ep;
    const tls_options& o = context->options;
    const std::string& name = o.server_name.empty() ? ep.host : o.server_name;
    error_code not_ip;
    asio::ip::make_address(name, not_ip);
    SSL* ssl = stream.native_handle();
    bool ok = true;
    if (not_ip) // SNI carries DNS names only (RFC 6066)
        ok = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                      const_cast<char*>(name.c_str())) == 1; // SSL_set_tlsext_host_name
    if (ok && o.verify == tls_verify::full) {
        if (not_ip) {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl, name.c_str()) == 1;
        } else {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
        }
    }
    if (!ok) {
        ERR_clear_error();
        failure = "TLS handshake with " + to_string(ep) + ": cannot verify the name '" + name + "'";
        user->on_transport_connected(make_error_code(errc::tls_handshake_failed), failure);
        return;
    }
    handshaking = true;
    stream.async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this(), user](const error_code& ec) { self->on_handshake(ec, user); });
}

void tls_transport::state::on_handshake(const error_code& ec,
                                        const std::shared_ptr<transport_user>& user)
{
    handshaking = false;
    SSL* ssl = stream.native_handle();
    if (ec || closing) {
        failure = "TLS handshake with " + to_string(*peer) + ": " +
                  (closing ? std::string("closed") : handshake_reason(ssl, ec));
        user->on_transport_connected(closing ? asio::error::operation_aborted
                                             : make_error_code(errc::tls_handshake_failed),
                                     failure);
        return;
    }
    if (!context->options.alpn.empty()) {
        const unsigned char* chosen = nullptr;
        unsigned chosen_size = 0;
        SSL_get0_alpn_selected(ssl, &chosen, &chosen_size);
        if (chosen_size == 0) {
            failure = "TLS handshake with " + to_string(*peer) +
                      ": no common ALPN protocol (the server chose none of those offered)";
            user->on_transport_connected(make_error_code(errc::tls_handshake_failed), failure);
            return;
        }
    }
    established = true;
    user->on_transport_connected({}, {});
}

void tls_transport::state::close(const std::shared_ptr<state>& self,
                                 std::chrono::milliseconds grace)
{
    if (closing)
        return;
    closing = true;
    connector.cancel();
    if (!established || grace <= std::chrono::milliseconds::zero()) {
        close_socket();
        return;
    }
    // The link's read in flight ends with operation_aborted; then the shutdown has the
    // socket to itself: close_notify out, the peer's awaited, bounded by the timer.
    error_code ignored;
    stream.next_layer().cancel(ignored);
    close_timer.expires_after(grace);
    close_timer.async_wait([self](const error_code& ec) {
        if (!ec) // the peer did not answer in time
            self->close_socket();
    });
    stream.async_shutdown([self](const error_code&) {
        self->close_timer.cancel();
        self->close_socket();
    });
}

} // namespace

std::unique_ptr<transport> make_tls_transport(const asio::any_io_executor& strand,
                                              const pool_config& config,
                                              std::shared_ptr<const tls_client_context> context)
{
    return std::make_unique<tls_transport>(strand, config, std::move(context));
}

} // namespace tether::detail
