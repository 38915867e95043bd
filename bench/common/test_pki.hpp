#pragma once

// Test certificates for a reference server over TLS started by a bench: a fresh CA and a
// server certificate for localhost/127.0.0.1 (tether::testing::write_test_pki) in a new
// temporary directory, removed with this object. The CA's PEM stays in memory for the clients,
// so the directory may go as soon as the server has read its files.

#include <string>
#include <vector>

namespace tether_bench {

class temporary_pki {
public:
    /// Makes the directory under the system's temporary directory and writes the files.
    /// Throws std::runtime_error (or std::filesystem::filesystem_error) when it cannot.
    temporary_pki();
    ~temporary_pki();
    temporary_pki(const temporary_pki&) = delete;
    temporary_pki& operator=(const temporary_pki&) = delete;

    /// The options of tether-echo-server that make it speak TLS with the server certificate.
    std::vector<std::string> server_args() const;
    /// The CA certificate that issued it (PEM text).
    const std::string& ca_pem() const noexcept { return ca_pem_; }
    /// Removes the directory now (idempotent; the destructor does it too).
    void remove() noexcept;

private:
    std::string dir_;
    std::string ca_pem_;
};

} // namespace tether_bench
