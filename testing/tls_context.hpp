#pragma once

// The reference server's one TLS context (echo_server_options::tls), built once and shared by
// every connection: TLS 1.2 or newer, the server's certificate and key, client certificate
// verification and ALPN when asked for.

#include <tether/testing/echo_server.hpp>

#include <boost/asio/ssl/context.hpp>

#include <string>

namespace tether::testing::detail {

class tls_server_context {
public:
    /// Throws std::invalid_argument naming the setting when a PEM text does not parse, the key
    /// does not match the certificate, an ALPN name is empty or longer than 255 bytes, or the
    /// handshake timeout is not positive.
    explicit tls_server_context(const echo_server_tls& settings);

    // The ALPN callback keeps a pointer to this object.
    tls_server_context(const tls_server_context&) = delete;
    tls_server_context& operator=(const tls_server_context&) = delete;

    boost::asio::ssl::context& context() noexcept { return ctx_; }

private:
    void use_credentials(const echo_server_tls& settings);
    void require_client_certificates(const std::string& ca_pem);
    void require_alpn(const std::vector<std::string>& protocols);

    boost::asio::ssl::context ctx_;
    std::string alpn_wire_; // the accepted protocols in ALPN wire format, preferred first
};

} // namespace tether::testing::detail
