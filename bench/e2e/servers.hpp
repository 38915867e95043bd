#pragma once

// The reference servers tether_e2e measures against: child processes (the echo_server
// program) pinned to the same CPU. The plaintext one always; a second one over TLS when a
// selected row needs it, on test certificates made for the run in a temporary directory (removed
// once the server has read them; the clients get the CA's PEM).

#include "server_process.hpp" // bench/common
#include "test_pki.hpp"       // bench/common

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tether_bench {

class bench_servers {
public:
    /// Starts them (throws std::runtime_error when one cannot start). Call it before starting
    /// threads: it forks.
    bench_servers(const std::string& path, int pin_cpu, bool tls);

    std::uint16_t port() const noexcept { return plain_.port(); }
    /// 0 without the TLS server.
    std::uint16_t tls_port() const noexcept { return tls_ ? tls_->port() : 0; }
    pid_t pid() const noexcept { return plain_.pid(); }
    /// -1 without the TLS server.
    pid_t tls_pid() const noexcept { return tls_ ? tls_->pid() : -1; }
    /// The CA of the TLS server's certificate ("" without it).
    const std::string& ca_pem() const noexcept { return ca_pem_; }
    /// "pid P port N" and, with TLS, "; TLS: pid P port N".
    std::string describe() const;

    /// SIGTERM to each (they drain), SIGKILL after `grace`.
    void terminate(std::chrono::milliseconds grace);

private:
    server_process plain_;
    std::optional<server_process> tls_;
    std::string ca_pem_;
};

} // namespace tether_bench
