// Test certificates made with OpenSSL 3's C API: keys, X.509 v3 certificates and their
// extensions, PEM text and files (certificates.hpp).

#include "openssl_handles.hpp"

#include <tether/testing/certificates.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdexcept>
#include <utility>

namespace tether::testing {
namespace {

using namespace detail;

constexpr std::chrono::seconds ca_not_before_offset{-3600};
constexpr std::chrono::seconds ca_valid_for{10LL * 365 * 24 * 3600};
constexpr int serial_bits = 159; // positive and under the 20 octets RFC 5280 allows

/// Who signs a certificate: its own key (self-signed) or an issuer's certificate and key.
struct signer {
    X509* cert = nullptr; // null: self-signed
    EVP_PKEY* key = nullptr;
};

/// What goes into one certificate besides its key.
struct certificate_plan {
    std::string common_name;
    std::chrono::seconds not_before_offset;
    std::chrono::seconds valid_for;
    bool is_ca = false;
    const certificate_spec* leaf = nullptr; // SANs and key usage of a leaf; null for a CA
};

void check(int ok, const char* what)
{
    if (ok != 1)
        throw_openssl_error(what);
}

pkey_ptr new_p256_key()
{
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key)
        throw_openssl_error("EVP_EC_gen(P-256)");
    return key;
}

x509_name_ptr name_with_common_name(const std::string& common_name)
{
    x509_name_ptr name(X509_NAME_new());
    if (!name)
        throw_openssl_error("X509_NAME_new");
    check(X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(common_name.data()),
                                     static_cast<int>(common_name.size()), -1, 0),
          "X509_NAME_add_entry_by_txt(CN)");
    return name;
}

void set_random_serial(X509* cert)
{
    bignum_ptr serial(BN_new());
    if (!serial)
        throw_openssl_error("BN_new");
    check(BN_rand(serial.get(), serial_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "BN_rand");
    if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)))
        throw_openssl_error("BN_to_ASN1_INTEGER");
}

void set_validity(X509* cert, std::chrono::seconds not_before_offset,
                  std::chrono::seconds valid_for)
{
    if (valid_for.count() <= 0)
        throw std::invalid_argument("certificate_spec: valid_for must be positive");
    const auto not_after_offset = not_before_offset + valid_for;
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(not_before_offset.count())) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(not_after_offset.count())))
        throw_openssl_error("X509_gmtime_adj");
}

void add_extension(X509* cert, X509V3_CTX& ctx, int nid, const char* value)
{
    x509_extension_ptr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext)
        throw_openssl_error(std::string("extension ") + OBJ_nid2sn(nid) + " = " + value);
    check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

void push_name(GENERAL_NAMES* names, int type, void* value)
{
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (!name)
        throw_openssl_error("GENERAL_NAME_new");
    GENERAL_NAME_set0_value(name, type, value);
    if (!sk_GENERAL_NAME_push(names, name)) {
        GENERAL_NAME_free(name);
        throw_openssl_error("sk_GENERAL_NAME_push");
    }
}

void add_subject_alt_names(X509* cert, const certificate_spec& spec)
{
    if (spec.dns_names.empty() && spec.ip_addresses.empty())
        return;
    general_names_ptr names(sk_GENERAL_NAME_new_null());
    if (!names)
        throw_openssl_error("sk_GENERAL_NAME_new_null");
    for (const auto& dns : spec.dns_names) {
        ASN1_IA5STRING* text = ASN1_IA5STRING_new();
        if (!text || ASN1_STRING_set(text, dns.data(), static_cast<int>(dns.size())) != 1) {
            ASN1_IA5STRING_free(text);
            throw_openssl_error("subjectAltName DNS:" + dns);
        }
        push_name(names.get(), GEN_DNS, text);
    }
    for (const auto& ip : spec.ip_addresses) {
        ASN1_OCTET_STRING* address = a2i_IPADDRESS(ip.c_str());
        if (!address) {
            ERR_clear_error();
            throw std::invalid_argument("certificate_spec: '" + ip + "' is not an IP address");
        }
        push_name(names.get(), GEN_IPADD, address);
    }
    check(X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT),
          "X509_add1_ext_i2d(subjectAltName)");
}

void add_extensions(X509* cert, X509* issuer_cert, const certificate_plan& plan)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : cert, cert, nullptr, nullptr, 0);
    if (plan.is_ca) {
        add_extension(cert, ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert, ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert, ctx, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert, ctx, NID_key_usage, "critical,digitalSignature");
        add_extension(cert, ctx, NID_ext_key_usage,
                      plan.leaf->client ? "clientAuth" : "serverAuth");
        add_subject_alt_names(cert, *plan.leaf);
    }
    // The subject key identifier first: a self-signed certificate's authority key identifier
    // is read from it.
    add_extension(cert, ctx, NID_subject_key_identifier, "hash");
    add_extension(cert, ctx, NID_authority_key_identifier, "keyid:always");
}

std::string certificate_pem(X509* cert)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
        throw_openssl_error("PEM_write_bio_X509");
    return bio_text(bio.get());
}

std::string private_key_pem(EVP_PKEY* key)
{
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw_openssl_error("PEM_write_bio_PrivateKey");
    return bio_text(bio.get());
}

pem_credentials make_certificate(const certificate_plan& plan, signer issuer)
{
    pkey_ptr key = new_p256_key();
    x509_ptr cert(X509_new());
    if (!cert)
        throw_openssl_error("X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
    set_random_serial(cert.get());
    set_validity(cert.get(), plan.not_before_offset, plan.valid_for);
    const x509_name_ptr subject = name_with_common_name(plan.common_name);
    check(X509_set_subject_name(cert.get(), subject.get()), "X509_set_subject_name");
    check(X509_set_issuer_name(cert.get(),
                               issuer.cert ? X509_get_subject_name(issuer.cert) : subject.get()),
          "X509_set_issuer_name");
    check(X509_set_pubkey(cert.get(), key.get()), "X509_set_pubkey");
    add_extensions(cert.get(), issuer.cert, plan);
    if (X509_sign(cert.get(), issuer.key ? issuer.key : key.get(), EVP_sha256()) <= 0)
        throw_openssl_error("X509_sign");
    return {certificate_pem(cert.get()), private_key_pem(key.get())};
}

certificate_plan leaf_plan(const certificate_spec& spec)
{
    return {spec.common_name, spec.not_before_offset, spec.valid_for, false, &spec};
}

} // namespace

certificate_spec expired_spec(certificate_spec spec)
{
    spec.not_before_offset = std::chrono::hours(-48);
    spec.valid_for = std::chrono::hours(24);
    return spec;
}

test_ca::test_ca(std::string common_name)
    : ca_(make_certificate({std::move(common_name), ca_not_before_offset, ca_valid_for, true},
                           signer{}))
{
}

pem_credentials test_ca::issue(const certificate_spec& spec) const
{
    const bio_ptr cert_bio = memory_bio(ca_.cert_pem);
    const x509_ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    const bio_ptr key_bio = memory_bio(ca_.key_pem);
    const pkey_ptr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!cert || !key)
        throw_openssl_error("test_ca: cannot read back the CA's own PEM");
    return make_certificate(leaf_plan(spec), signer{cert.get(), key.get()});
}

pem_credentials make_self_signed(const certificate_spec& spec)
{
    return make_certificate(leaf_plan(spec), signer{});
}

void write_text_file(const std::string& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out)
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (out)
        out.close();
    if (!out)
        throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
}

test_ca write_test_pki(const std::string& dir)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw std::runtime_error("cannot create directory '" + dir + "': " + ec.message());
    const std::filesystem::path base(dir);
    const auto write = [&base](const char* name, const std::string& text) {
        write_text_file((base / name).string(), text);
    };
    const auto write_private = [&base, &write](const char* name, const std::string& text) {
        write(name, text);
        std::filesystem::permissions(base / name, std::filesystem::perms::owner_read |
                                                      std::filesystem::perms::owner_write);
    };
    test_ca ca;
    const auto server =
        ca.issue({.dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1", "::1"}});
    const auto client = ca.issue({.common_name = "tether test client", .client = true});
    write("ca.pem", ca.cert_pem());
    write("server.pem", server.cert_pem);
    write_private("server.key", server.key_pem);
    write("client.pem", client.cert_pem);
    write_private("client.key", client.key_pem);
    return ca;
}

} // namespace tether::testing
