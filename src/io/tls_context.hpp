#pragma once

// The client side of TLS, built once from tls_options and shared, immutable, by every link
// opened while it is in force (OpenSSL's SSL_CTX may be shared across threads once set up).
// tls_context_source holds the one in force; pool::reload_tls swaps it.

#include <tether/tls.hpp>

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>

namespace tether::detail {

struct tls_client_context {
    tls_options options;
    /// Mutable only because Asio's ssl::stream takes a non-const context; never changed after
    /// make_tls_client_context() returns.
    mutable boost::asio::ssl::context ssl;
};

/// Validates `options` (validate_tls), reads every file, parses every PEM and checks the key
/// against its certificate. Throws config_error naming the option at fault.
std::shared_ptr<const tls_client_context> make_tls_client_context(const tls_options& options);

/// The context new links use; swapped by reload. Thread-safe.
class tls_context_source {
public:
    explicit tls_context_source(std::shared_ptr<const tls_client_context> first)
        : current_(std::move(first))
    {
    }
    std::shared_ptr<const tls_client_context> current() const
    {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void replace(std::shared_ptr<const tls_client_context> next)
    {
        std::lock_guard lock(mutex_);
        current_.swap(next);
        ++reloads_;
    } // the old context goes when its last link does
    unsigned reloads() const
    {
        std::lock_guard lock(mutex_);
        return reloads_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const tls_client_context> current_;
    unsigned reloads_ = 0;
};

} // namespace tether::detail
