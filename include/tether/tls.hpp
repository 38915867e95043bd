#pragma once

// TLS for the pool's links (design.md §6): the options a pool is built with
// (pool_builder::tls) or reloaded with (pool::reload_tls). Plain values only: OpenSSL stays
// out of the public headers.

#include <string>
#include <vector>

namespace tether {

/// What the client checks of the server's certificate.
enum class tls_verify {
    /// The default: the chain up to a trusted CA, validity dates, and the name: a DNS
    /// subjectAltName matching `server_name` (or the endpoint's host), or for an IP literal an
    /// IP subjectAltName.
    full,
    /// The chain and dates, not the name: for servers reached by an address their certificate
    /// does not carry. Still rejects unknown CAs, expired and self-signed certificates.
    chain_only,
    /// Nothing: any certificate is accepted. Encrypts, but cannot tell the server from an
    /// impostor. The only way to turn verification off.
    none,
};

/// The oldest protocol version the client accepts.
enum class tls_version {
    v1_2, ///< TLS 1.2 and 1.3 (the default)
    v1_3, ///< TLS 1.3 only
};

/// What pool::reload_tls does with links already open.
enum class tls_reload {
    new_links,    ///< they keep their session; links opened from now on use the new options
    rotate_links, ///< they are also replaced, make-before-break (as for max_lifetime)
};

/// How the pool's links speak TLS 1.2+ over the same framing. Every file is read, and every
/// PEM parsed, when the pool is built (or reloaded): a missing or unreadable file, text that
/// is not PEM, or a key that does not match its certificate is a config_error naming the
/// option ("tls.ca_file", "tls.key_pem", ...).
struct tls_options {
    /// Trust anchors: a PEM file with one or more CA certificates, or the PEM text itself.
    /// Both empty: the system's default trust store (Debian: /etc/ssl/certs).
    std::string ca_file;
    std::string ca_pem;

    /// The name verified in the server's certificate and sent as SNI. Empty: the endpoint's
    /// host. SNI goes out for DNS names only; an IP literal is checked against the
    /// certificate's IP subjectAltName.
    std::string server_name;

    /// Mutual TLS: the client's certificate chain (leaf first) and its private key, as files
    /// or PEM text. Both or neither of certificate and key.
    std::string cert_file;
    std::string cert_pem;
    std::string key_file;
    std::string key_pem;

    tls_verify verify = tls_verify::full;
    tls_version min_version = tls_version::v1_2;

    /// ALPN protocols offered, most preferred first (each 1..255 bytes). When set, a server
    /// that selects none of them fails the handshake. Empty: no ALPN.
    std::vector<std::string> alpn;

    friend bool operator==(const tls_options&, const tls_options&) = default;
};

/// "full", "chain_only" or "none".
const char* to_string(tls_verify v) noexcept;
/// "1.2" or "1.3".
const char* to_string(tls_version v) noexcept;

} // namespace tether
