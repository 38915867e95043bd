#pragma once

// Owning handles for the OpenSSL objects tether_testing creates (keys, certificates, names,
// memory BIOs) and the one way it reports an OpenSSL failure: a std::runtime_error carrying
// OpenSSL's own error text.

#include <memory>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string>
#include <string_view>

namespace tether::testing::detail {

template <auto free_function> struct openssl_deleter {
    template <class T> void operator()(T* p) const noexcept { free_function(p); }
};

using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO_free_all>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BN_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509_free>>;
using x509_name_ptr = std::unique_ptr<X509_NAME, openssl_deleter<X509_NAME_free>>;
using x509_extension_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION_free>>;
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, openssl_deleter<GENERAL_NAMES_free>>;

/// "what: <OpenSSL's queued errors>" (the queue is emptied), or "what" when none is queued.
std::string openssl_error_text(std::string_view what);

/// Throws std::runtime_error(openssl_error_text(what)).
[[noreturn]] void throw_openssl_error(std::string_view what);

/// A read-only memory BIO over `text` (which must outlive it).
bio_ptr memory_bio(std::string_view text);

/// Everything written so far into a memory BIO.
std::string bio_text(BIO* bio);

} // namespace tether::testing::detail
