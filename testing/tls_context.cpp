#include "tls_context.hpp"

#include "openssl_handles.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>
#include <stdexcept>
#include <string_view>

namespace tether::testing::detail {
namespace {

namespace ssl = boost::asio::ssl;

constexpr std::string_view session_id_context = "tether-echo-server";

[[noreturn]] void invalid(const std::string& message)
{
    throw std::invalid_argument("echo_server: " + message);
}

/// Does the ALPN wire-format list `offered` contain `wanted` (one length byte + name)?
const unsigned char* find_protocol(std::string_view wanted, const unsigned char* offered,
                                   unsigned int offered_size)
{
    for (unsigned int at = 0; at < offered_size;) {
        const unsigned int size = offered[at];
        if (at + 1 + size > offered_size)
            return nullptr; // malformed: OpenSSL checks, but stay inside the buffer anyway
        const std::string_view name(reinterpret_cast<const char*>(offered + at + 1), size);
        if (name == wanted)
            return offered + at;
        at += 1 + size;
    }
    return nullptr;
}

/// Picks the first of the server's protocols that the client offers; none is fatal
/// (OpenSSL then sends the no_application_protocol alert).
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                unsigned int in_size, void* arg)
{
    const std::string_view accepted = *static_cast<const std::string*>(arg);
    for (std::size_t at = 0; at < accepted.size();) {
        const auto size = static_cast<unsigned char>(accepted[at]);
        if (const auto* hit = find_protocol(accepted.substr(at + 1, size), in, in_size)) {
            *out = hit + 1;
            *out_size = size;
            return SSL_TLSEXT_ERR_OK;
        }
        at += 1 + std::size_t{size};
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/// A ClientHello without the ALPN extension never reaches select_alpn: refuse it here with the
/// same alert, since this server requires ALPN when it has protocols to accept.
int require_alpn_extension(SSL* ssl, int* alert, void*)
{
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &data,
                                  &size) == 1)
        return SSL_CLIENT_HELLO_SUCCESS;
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
}

} // namespace

tls_server_context::tls_server_context(const echo_server_tls& settings)
    : ctx_(ssl::context::tls_server)
{
    if (settings.handshake_timeout.count() <= 0)
        invalid("tls.handshake_timeout must be positive");
    SSL_CTX* native = ctx_.native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
        invalid(openssl_error_text("cannot require TLS 1.2"));
    // No renegotiation: a TLS 1.2 client's second ClientHello would meet the ALPN check again,
    // and Asio's stream has no use for it.
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     SSL_OP_NO_RENEGOTIATION);
    use_credentials(settings);
    if (!settings.client_ca_pem.empty())
        require_client_certificates(settings.client_ca_pem);
    if (!settings.alpn.empty())
        require_alpn(settings.alpn);
}

void tls_server_context::use_credentials(const echo_server_tls& settings)
{
    boost::system::error_code ec;
    if (settings.cert_pem.empty())
        invalid("tls.cert_pem is empty");
    if (ctx_.use_certificate_chain(boost::asio::buffer(settings.cert_pem), ec); ec)
        invalid("tls.cert_pem is not a valid PEM certificate: " + ec.message());
    // Parsed on its own first, so that a key that does not parse and a key that does not match
    // get different messages.
    const bio_ptr key_bio = memory_bio(settings.key_pem);
    const pkey_ptr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!key)
        invalid(openssl_error_text("tls.key_pem is not a valid unencrypted PEM private key"));
    if (SSL_CTX_use_PrivateKey(ctx_.native_handle(), key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx_.native_handle()) != 1)
        invalid(openssl_error_text("tls.key_pem does not match the certificate in tls.cert_pem"));
}

void tls_server_context::require_client_certificates(const std::string& ca_pem)
{
    boost::system::error_code ec;
    if (ctx_.add_certificate_authority(boost::asio::buffer(ca_pem), ec); ec)
        invalid("tls.client_ca_pem is not a valid PEM certificate: " + ec.message());
    ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Without it OpenSSL refuses to resume a session when client certificates are verified.
    SSL_CTX_set_session_id_context(
        ctx_.native_handle(), reinterpret_cast<const unsigned char*>(session_id_context.data()),
        static_cast<unsigned int>(session_id_context.size()));
}

void tls_server_context::require_alpn(const std::vector<std::string>& protocols)
{
    for (const auto& name : protocols) {
        if (name.empty() || name.size() > 255)
            invalid("tls.alpn: a protocol name must have 1..255 bytes, not " +
                    std::to_string(name.size()));
        alpn_wire_ += static_cast<char>(name.size());
        alpn_wire_ += name;
    }
    SSL_CTX_set_alpn_select_cb(ctx_.native_handle(), select_alpn, &alpn_wire_);
    SSL_CTX_set_client_hello_cb(ctx_.native_handle(), require_alpn_extension, nullptr);
}

} // namespace tether::testing::detail
