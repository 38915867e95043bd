#pragma once

// The server probe's connection (server_probe.hpp): one blocking TCP socket to 127.0.0.1 with
// TCP_NODELAY and a receive timeout, and against a TLS server an OpenSSL session over it. The
// probe witnesses whether the server answers, not who it is: it does not verify the certificate.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <openssl/ssl.h>
#include <string_view>

namespace tether_scale {

class probe_link {
public:
    /// Connects (over TLS, with the handshake); throws std::runtime_error.
    probe_link(std::uint16_t port, bool tls, std::chrono::seconds receive_timeout);
    ~probe_link();
    probe_link(const probe_link&) = delete;
    probe_link& operator=(const probe_link&) = delete;

    /// Sends all of `bytes`; false when the connection broke.
    bool send_all(std::string_view bytes);
    /// Blocks for bytes: how many were read, 0 when the connection closed or broke or nothing
    /// came within the receive timeout.
    std::size_t receive(char* buffer, std::size_t size);
    /// Makes a receive blocked in another thread return 0 (shuts the socket down).
    void interrupt() noexcept;

private:
    void close() noexcept;

    int fd_ = -1;
    SSL_CTX* tls_context_ = nullptr;
    SSL* tls_ = nullptr;
};

} // namespace tether_scale
