#pragma once

// The demo's TLS: the command-line options, and the certificates it makes for itself when it
// runs its own server (no --endpoint).

#include <tether/testing/echo_server.hpp>
#include <tether/tls.hpp>

#include <string>

namespace demo {

struct tls_args {
    bool on = false;         ///< --tls, or any --tls-* option
    std::string ca_file;     ///< --tls-ca: trust anchors (default: the system's store)
    std::string cert_file;   ///< --tls-cert: client certificate (mutual TLS)
    std::string key_file;    ///< --tls-key: its key
    std::string server_name; ///< --tls-server-name: name verified and sent as SNI
};

/// The pool's TLS options from the command line (verification stays full).
tether::tls_options client_options(const tls_args& args);

/// For the in-process server: a fresh CA and a certificate for localhost and 127.0.0.1 that it
/// issued, given to the server; the pool trusts that CA. Returns a line saying so.
std::string use_own_certificates(tether::testing::echo_server_options& server,
                                 tether::tls_options& client);

} // namespace demo
