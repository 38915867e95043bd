#pragma once

// Test certificates made at run time (OpenSSL 3), so that no key is ever checked in: a small
// certificate authority that issues server and client certificates, self-signed leaves, and a
// directory of PEM files for the tether-echo-server program.
//
// Keys are EC P-256, certificates X.509 v3 signed with SHA-256, with a random 159-bit serial
// and subject/authority key identifiers (OpenSSL 3 builds chains with them). A spec that cannot
// be expressed (valid_for not positive, an IP entry that is no address) throws
// std::invalid_argument; an OpenSSL or file failure std::runtime_error with OpenSSL's own text.

#include <chrono>
#include <string>
#include <vector>

namespace tether::testing {

/// A certificate and its private key, both PEM (the key unencrypted PKCS#8).
struct pem_credentials {
    std::string cert_pem{};
    std::string key_pem{};
};

/// What a leaf certificate says.
struct certificate_spec {
    std::string common_name = "localhost";   ///< subject CN
    std::vector<std::string> dns_names{};    ///< subjectAltName DNS entries
    std::vector<std::string> ip_addresses{}; ///< subjectAltName IP entries ("127.0.0.1", "::1")
    std::chrono::seconds not_before_offset{-3600}; ///< from now; negative = in the past
    std::chrono::seconds valid_for{24 * 3600};     ///< notAfter = notBefore + valid_for
    /// extendedKeyUsage clientAuth (a client certificate) instead of serverAuth.
    bool client = false;
};

/// The spec of a certificate that expired yesterday (valid from two days ago, for one day).
certificate_spec expired_spec(certificate_spec spec = {});

/// A self-signed certificate authority (basicConstraints CA:TRUE, keyUsage keyCertSign and
/// cRLSign, valid from an hour ago for ten years) that issues leaf certificates.
/// A value: a copy is the same CA (it holds the certificate and key as PEM).
class test_ca {
public:
    explicit test_ca(std::string common_name = "tether test CA");

    const std::string& cert_pem() const noexcept { return ca_.cert_pem; }
    const std::string& key_pem() const noexcept { return ca_.key_pem; }

    /// A leaf certificate (CA:FALSE) with a fresh key, signed by this CA.
    pem_credentials issue(const certificate_spec& spec) const;

private:
    pem_credentials ca_;
};

/// A leaf certificate (CA:FALSE) signed by its own fresh key: a chain that no CA vouches for.
pem_credentials make_self_signed(const certificate_spec& spec);

/// Writes `text` to `path`, replacing the file. Throws std::runtime_error naming the path.
void write_text_file(const std::string& path, const std::string& text);

/// Writes into `dir` (created with its parents if missing) a fresh CA and two leaves it issued:
/// ca.pem; server.pem and server.key (CN and SAN DNS localhost, SAN IP 127.0.0.1 and ::1,
/// serverAuth); client.pem and client.key (CN "tether test client", clientAuth). The keys are
/// readable by their owner only. Returns the CA.
test_ca write_test_pki(const std::string& dir);

} // namespace tether::testing
