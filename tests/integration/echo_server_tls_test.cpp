// The reference server over TLS, driven by a small client over a raw Asio ssl::stream (not the
// pool), and the run-time test certificates (certificates.hpp) checked with OpenSSL's own
// verifier. Every wait is bounded: a broken server fails a test instead of hanging it.

#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"
#include "test_env.hpp"
#include "wire_client.hpp"

#include <tether/testing/certificates.hpp>
#include <tether/testing/echo_server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace wire = tether::wire;
using tcp = asio::ip::tcp;
using json = wire::json;
using boost::system::error_code;
using tether::test::must_happen;
using tether::test::must_not_happen;
using tether::test::received;
using tether::test::rx;
using tether::test::scaled;
using tether::testing::certificate_spec;
using tether::testing::echo_server;
using tether::testing::echo_server_options;
using tether::testing::echo_server_tls;
using tether::testing::pem_credentials;
using tether::testing::test_ca;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// One CA and the leaves it issued, made once for the whole file (key generation is cheap, but
/// there is no need to repeat it).
struct test_pki {
    test_ca ca;
    pem_credentials server =
        ca.issue({.dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1", "::1"}});
    pem_credentials client = ca.issue({.common_name = "tls test client", .client = true});
};

const test_pki& pki()
{
    static const test_pki instance;
    return instance;
}

echo_server_tls server_tls()
{
    return {.cert_pem = pki().server.cert_pem, .key_pem = pki().server.key_pem};
}

/// What a client presents and offers; the server's certificate is always verified against the
/// test CA and the name the client connects with.
struct client_settings {
    std::optional<pem_credentials> certificate{};
    std::vector<std::string> alpn{};
};

std::shared_ptr<ssl::context> client_context(const client_settings& settings = {})
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->add_certificate_authority(asio::buffer(pki().ca.cert_pem()));
    ctx->set_verify_mode(ssl::verify_peer);
    if (settings.certificate) {
        ctx->use_certificate_chain(asio::buffer(settings.certificate->cert_pem));
        ctx->use_private_key(asio::buffer(settings.certificate->key_pem), ssl::context::pem);
    }
    if (!settings.alpn.empty()) {
        std::string protocols;
        for (const auto& name : settings.alpn)
            protocols += static_cast<char>(name.size()) + name;
        // SSL_CTX_set_alpn_protos returns 0 on success.
        EXPECT_EQ(SSL_CTX_set_alpn_protos(ctx->native_handle(),
                                          reinterpret_cast<const unsigned char*>(protocols.data()),
                                          static_cast<unsigned int>(protocols.size())),
                  0);
    }
    return ctx;
}

/// A client over an ssl::stream that can also stay plaintext (never handshake). Each operation
/// runs the io_context for at most its timeout, then cancels and reports timed_out.
class test_client : public tether::test::wire_client {
public:
    explicit test_client(std::uint16_t port, std::shared_ptr<ssl::context> ctx = client_context(),
                         const std::string& host = "127.0.0.1")
        : ctx_(std::move(ctx)), stream_(io_, *ctx_)
    {
        stream_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        stream_.next_layer().set_option(tcp::no_delay(true));
        stream_.set_verify_callback(ssl::host_name_verification(host));
    }

    error_code handshake()
    {
        tls_ = true;
        return run_bounded(
                   [this](auto done) { stream_.async_handshake(ssl::stream_base::client, done); },
                   must_happen())
            .ec;
    }

    /// The ALPN protocol the server selected ("" for none).
    std::string alpn()
    {
        const unsigned char* data = nullptr;
        unsigned int size = 0;
        SSL_get0_alpn_selected(stream_.native_handle(), &data, &size);
        return std::string(reinterpret_cast<const char*>(data), size);
    }

    /// A write that fails is not a test failure by itself (a refused client may still write
    /// once): write_error() tells, and the next read reports the end of the stream.
    void send_raw(std::string_view bytes) override
    {
        const auto buffer = asio::buffer(bytes.data(), bytes.size());
        write_error_ = run_bounded(
                           [&](auto done) {
                               if (tls_)
                                   asio::async_write(stream_, buffer, done);
                               else
                                   asio::async_write(stream_.next_layer(), buffer, done);
                           },
                           must_happen())
                           .ec;
    }
    error_code write_error() const noexcept { return write_error_; }

    /// Sends close_notify and waits for the server's (timed_out when it never comes).
    error_code shutdown(std::chrono::milliseconds timeout)
    {
        return run_bounded([this](auto done) { stream_.async_shutdown(done); }, timeout).ec;
    }

    /// Every byte received so far (decrypted), frames already decoded included.
    const std::string& raw() const noexcept { return raw_; }

private:
    std::size_t read_some(std::span<char> space, std::chrono::milliseconds timeout,
                          error_code& ec) override
    {
        const auto buffer = asio::buffer(space.data(), space.size());
        const auto got = run_bounded(
            [&](auto done) {
                if (tls_)
                    stream_.async_read_some(buffer, done);
                else
                    stream_.next_layer().async_read_some(buffer, done);
            },
            timeout);
        if (got.ec != asio::error::timed_out)
            ec = got.ec;
        raw_.append(space.data(), got.bytes);
        return got.bytes;
    }

    struct outcome {
        error_code ec;
        std::size_t bytes = 0;
    };

    struct completion {
        std::optional<outcome>* result;
        void operator()(const error_code& ec, std::size_t bytes = 0) const
        {
            *result = outcome{ec, bytes};
        }
    };

    template <class Start> outcome run_bounded(Start start, std::chrono::milliseconds timeout)
    {
        std::optional<outcome> result;
        start(completion{&result});
        io_.restart();
        io_.run_for(timeout);
        if (result)
            return *result;
        error_code ignored;
        stream_.next_layer().cancel(ignored);
        io_.restart();
        io_.run();
        return {asio::error::timed_out, 0};
    }

    asio::io_context io_;
    std::shared_ptr<ssl::context> ctx_;
    ssl::stream<tcp::socket> stream_;
    bool tls_ = false;
    error_code write_error_;
    std::string raw_;
};

/// The handshake succeeds and a ping comes back as a pong: the server serves this client.
::testing::AssertionResult served(test_client& c)
{
    if (const auto ec = c.handshake())
        return ::testing::AssertionFailure() << "handshake: " << ec.message();
    c.ping(1);
    if (const auto ec = c.write_error())
        return ::testing::AssertionFailure() << "ping not sent: " << ec.message();
    const auto r = c.read(must_happen());
    if (r.status != rx::frame || !std::holds_alternative<wire::pong>(r.msg))
        return ::testing::AssertionFailure() << "no pong" << (r.ec ? ": " + r.ec.message() : "");
    return ::testing::AssertionSuccess();
}

json with_test(json controls)
{
    return json{{"$test", std::move(controls)}};
}

/// The OpenSSL reason code of a TLS error (0 for errors of other categories).
int ssl_reason(const error_code& ec)
{
    if (ec.category() != asio::error::get_ssl_category())
        return 0;
    return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

class EchoServerTls : public ::testing::Test {
protected:
    echo_server& start(echo_server_tls tls = server_tls(), echo_server_options options = {})
    {
        options.tls = std::move(tls);
        server_ = std::make_unique<echo_server>(std::move(options));
        server_->start();
        return *server_;
    }
    std::uint16_t port() const { return server_->port(); }

    bool all_closed() const
    {
        return tether::test::poll_until([&] { return server_->connections_open() == 0; },
                                        must_happen());
    }

    std::unique_ptr<echo_server> server_;
};

TEST_F(EchoServerTls, HandshakeThenPingAndEchoByAddressOrName)
{
    start();
    test_client by_address(port());
    ASSERT_TRUE(served(by_address));
    by_address.request(7, json{{"hello", "tls"}});
    const auto r = by_address.read(must_happen());
    ASSERT_EQ(r.status, rx::frame);
    const auto* response = std::get_if<wire::response>(&r.msg);
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(response->id, 7u);
    EXPECT_EQ(response->body, (json{{"hello", "tls"}}));

    test_client by_name(port(), client_context(), "localhost");
    EXPECT_TRUE(served(by_name));
    test_client wrong_name(port(), client_context(), "example.com");
    EXPECT_TRUE(wrong_name.handshake())
        << "the client should refuse a certificate for another host";

    EXPECT_EQ(server_->requests(), 1u);
    EXPECT_EQ(server_->pings_received(), 2u);
    EXPECT_TRUE(tether::test::poll_until([&] { return server_->tls_handshake_failures() == 1; },
                                         must_happen()));
}

TEST_F(EchoServerTls, RequiredClientCertificateAbsentFailsTheHandshake)
{
    auto tls = server_tls();
    tls.client_ca_pem = pki().ca.cert_pem();
    start(tls);
    test_client anonymous(port());
    // TLS 1.3: the client may finish its side before the server refuses it; then its first
    // read gets the alert. Either way it is never served.
    EXPECT_FALSE(served(anonymous));
    EXPECT_TRUE(tether::test::poll_until([&] { return server_->tls_handshake_failures() == 1; },
                                         must_happen()));
    EXPECT_EQ(server_->pings_received(), 0u);
    EXPECT_TRUE(all_closed());
}

TEST_F(EchoServerTls, MutualTlsAcceptsOnlyClientCertificatesOfTheClientCa)
{
    auto tls = server_tls();
    tls.client_ca_pem = pki().ca.cert_pem();
    start(tls);
    test_client with_cert(port(), client_context({.certificate = pki().client}));
    EXPECT_TRUE(served(with_cert));

    const auto stranger = tether::testing::make_self_signed({.client = true});
    test_client self_signed(port(), client_context({.certificate = stranger}));
    EXPECT_FALSE(served(self_signed));
    // A certificate of the right CA but for servers only (extendedKeyUsage serverAuth).
    test_client server_cert(port(), client_context({.certificate = pki().server}));
    EXPECT_FALSE(served(server_cert));

    EXPECT_TRUE(tether::test::poll_until([&] { return server_->tls_handshake_failures() == 2; },
                                         must_happen()));
    EXPECT_EQ(server_->pings_received(), 1u);
}

TEST_F(EchoServerTls, AlpnPicksTheServersFirstChoiceAndRefusesAMismatch)
{
    auto tls = server_tls();
    tls.alpn = {"tether/1", "tether/0"};
    start(tls);

    test_client both(port(), client_context({.alpn = {"x", "tether/0", "tether/1"}}));
    ASSERT_TRUE(served(both));
    EXPECT_EQ(both.alpn(), "tether/1");

    test_client other(port(), client_context({.alpn = {"h2"}}));
    const auto mismatch = other.handshake();
    EXPECT_EQ(ssl_reason(mismatch), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL)
        << mismatch.message();

    test_client none(port()); // no ALPN at all: this server requires it
    const auto missing = none.handshake();
    EXPECT_EQ(ssl_reason(missing), SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) << missing.message();

    EXPECT_TRUE(tether::test::poll_until([&] { return server_->tls_handshake_failures() == 2; },
                                         must_happen()));
}

/// The stream holds the start of one frame and no more: its length prefix and part of the
/// payload it announces.
void expect_half_a_frame(const std::string& bytes)
{
    ASSERT_GT(bytes.size(), wire::frame_header_size);
    const std::uint32_t announced = wire::read_frame_length(bytes.data());
    EXPECT_LT(bytes.size() - wire::frame_header_size, announced) << "a whole frame arrived";
}

TEST_F(EchoServerTls, TruncateControlCutsTheFrameAndSkipsCloseNotify)
{
    start();
    test_client c(port());
    ASSERT_TRUE(served(c));
    const auto before = c.raw().size();
    c.request(2, with_test({{"truncate", true}}));
    const auto r = c.read(must_happen());
    ASSERT_EQ(r.status, rx::closed);
    EXPECT_EQ(r.ec, ssl::error::stream_truncated) << r.ec.message();
    expect_half_a_frame(c.raw().substr(before));
    EXPECT_TRUE(all_closed());
}

TEST(EchoServerTruncate, PlaintextTruncateControlCutsTheFrameThenFin)
{
    echo_server server;
    server.start();
    test_client c(server.port()); // never handshakes: plaintext
    c.request(1, with_test({{"truncate", true}, {"notify", 1}}));
    const auto notify = c.read(must_happen());
    ASSERT_EQ(notify.status, rx::frame);
    EXPECT_TRUE(std::holds_alternative<wire::notify>(notify.msg)); // whole, before the cut
    const auto r = c.read(must_happen());
    ASSERT_EQ(r.status, rx::closed);
    EXPECT_EQ(r.ec, asio::error::eof) << r.ec.message();
    const auto notify_size = wire::frame_header_size + wire::read_frame_length(c.raw().data());
    expect_half_a_frame(c.raw().substr(notify_size));
}

TEST_F(EchoServerTls, ClientCloseNotifyIsAnswered)
{
    start();
    test_client c(port());
    ASSERT_TRUE(served(c));
    const auto ec = c.shutdown(must_happen());
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(all_closed());
}

TEST_F(EchoServerTls, CloseControlAndProtocolErrorEndWithCloseNotify)
{
    start();
    test_client closing(port());
    ASSERT_TRUE(served(closing));
    closing.request(2, with_test({{"close", true}}));
    const auto r = closing.read(must_happen());
    ASSERT_EQ(r.status, rx::closed);
    EXPECT_EQ(r.ec, asio::error::eof) << "expected close_notify, got: " << r.ec.message();
    EXPECT_FALSE(closing.shutdown(must_happen()));

    test_client bad(port());
    ASSERT_TRUE(served(bad));
    const std::string not_json = "{oops";
    std::string frame(wire::frame_header_size, '\0');
    wire::write_frame_length(frame.data(), static_cast<std::uint32_t>(not_json.size()));
    bad.send_raw(frame + not_json);
    const auto end = bad.read(must_happen());
    ASSERT_EQ(end.status, rx::closed);
    EXPECT_EQ(end.ec, asio::error::eof) << "expected close_notify, got: " << end.ec.message();
    EXPECT_EQ(server_->protocol_errors(), 1u);
    // This client never answers the close_notify: the server closes after its 1 s bound.
    EXPECT_TRUE(all_closed());
}

TEST_F(EchoServerTls, CloseAllConnectionsTruncatesWithFinOrResets)
{
    start();
    test_client fin(port());
    ASSERT_TRUE(served(fin));
    server_->close_all_connections(false);
    const auto truncated = fin.read(must_happen());
    ASSERT_EQ(truncated.status, rx::closed);
    EXPECT_EQ(truncated.ec, ssl::error::stream_truncated) << truncated.ec.message();

    test_client rst(port());
    ASSERT_TRUE(served(rst));
    server_->close_all_connections(true);
    const auto reset = rst.read(must_happen());
    ASSERT_EQ(reset.status, rx::closed);
    EXPECT_EQ(reset.ec, asio::error::connection_reset) << reset.ec.message();
    EXPECT_TRUE(all_closed());
}

TEST_F(EchoServerTls, SilentClientIsClosedAfterTheHandshakeTimeout)
{
    auto tls = server_tls();
    tls.handshake_timeout = 200ms;
    start(tls);
    const auto before = clock_type::now();
    test_client silent(port()); // TCP only: sends nothing at all
    const auto r = silent.read(must_happen() + 200ms);
    ASSERT_EQ(r.status, rx::closed);
    EXPECT_EQ(r.ec, asio::error::eof) << r.ec.message();
    const auto waited = clock_type::now() - before;
    EXPECT_GE(waited, 190ms);
    EXPECT_LT(waited, 200ms + scaled(1s));
    EXPECT_EQ(server_->tls_handshake_failures(), 1u);
    EXPECT_TRUE(all_closed());
}

TEST_F(EchoServerTls, HungOrUnresponsiveConnectionDoesNotAnswerCloseNotify)
{
    start();
    test_client hung(port());
    ASSERT_TRUE(served(hung));
    hung.request(2, with_test({{"hang", true}}));
    EXPECT_EQ(hung.shutdown(must_not_happen()), asio::error::timed_out);

    test_client paused(port());
    ASSERT_TRUE(served(paused));
    server_->set_unresponsive(true);
    EXPECT_EQ(paused.shutdown(must_not_happen()), asio::error::timed_out);
    EXPECT_EQ(server_->connections_open(), 2u);
    // Resumed, the server answers the close_notify that waited and closes that connection.
    server_->set_unresponsive(false);
    EXPECT_TRUE(
        tether::test::poll_until([&] { return server_->connections_open() == 1; }, must_happen()));
}

TEST_F(EchoServerTls, DrainSendsGoawayThenEndsWithCloseNotify)
{
    start(server_tls(), {.drain_timeout = 100ms});
    test_client c(port());
    ASSERT_TRUE(served(c));
    server_->begin_drain();
    const auto goaway = c.read(must_happen());
    ASSERT_EQ(goaway.status, rx::frame);
    EXPECT_TRUE(std::holds_alternative<wire::goaway>(goaway.msg));
    const auto end = c.read(must_happen());
    ASSERT_EQ(end.status, rx::closed);
    EXPECT_EQ(end.ec, asio::error::eof) << "expected close_notify, got: " << end.ec.message();
    EXPECT_FALSE(c.shutdown(must_happen()));
    const auto before = clock_type::now();
    server_->wait();
    EXPECT_LT(clock_type::now() - before, scaled(1s));
}

TEST(EchoServerTlsOptions, BadCredentialsAndSettingsAreRefusedByTheConstructor)
{
    const auto make = [](echo_server_tls tls) {
        echo_server_options o;
        o.tls = std::move(tls);
        echo_server server(std::move(o));
    };
    const auto message_of = [&](echo_server_tls tls) -> std::string {
        try {
            make(std::move(tls));
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(accepted)";
    };
    EXPECT_NO_THROW(make(server_tls()));

    auto garbage = server_tls();
    garbage.cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    EXPECT_NE(message_of(garbage).find("tls.cert_pem"), std::string::npos) << message_of(garbage);

    auto no_key = server_tls();
    no_key.key_pem = "";
    EXPECT_NE(message_of(no_key).find("tls.key_pem is not"), std::string::npos);

    auto other_key = server_tls();
    other_key.key_pem = pki().client.key_pem;
    EXPECT_NE(message_of(other_key).find("does not match"), std::string::npos)
        << message_of(other_key);

    auto bad_ca = server_tls();
    bad_ca.client_ca_pem = "not PEM";
    EXPECT_NE(message_of(bad_ca).find("tls.client_ca_pem"), std::string::npos);

    auto empty_alpn = server_tls();
    empty_alpn.alpn = {""};
    EXPECT_NE(message_of(empty_alpn).find("tls.alpn"), std::string::npos);

    auto no_timeout = server_tls();
    no_timeout.handshake_timeout = 0ms;
    EXPECT_NE(message_of(no_timeout).find("handshake_timeout"), std::string::npos);
}

// --- The certificate generator, checked with X509_verify_cert ---------------------------------

using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

x509_ptr parse_certificate(const std::string& pem)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    EXPECT_TRUE(cert) << "not a PEM certificate";
    return cert;
}

/// X509_verify_cert's verdict on `leaf` with `ca_pem` (if any) as the only trusted
/// certificate; `purpose` 0 checks no purpose.
int verify(const std::string& leaf, const std::string& ca_pem, int purpose = 0)
{
    const auto cert = parse_certificate(leaf);
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  &X509_STORE_free);
    if (!ca_pem.empty()) {
        EXPECT_EQ(X509_STORE_add_cert(store.get(), parse_certificate(ca_pem).get()), 1);
    }
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        &X509_STORE_CTX_free);
    EXPECT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
    if (purpose != 0) {
        EXPECT_EQ(X509_STORE_CTX_set_purpose(ctx.get(), purpose), 1);
    }
    X509_verify_cert(ctx.get());
    return X509_STORE_CTX_get_error(ctx.get());
}

TEST(TestCertificates, IssuedCertificateVerifiesAgainstItsCaAndNamesItsHosts)
{
    EXPECT_EQ(verify(pki().server.cert_pem, pki().ca.cert_pem(), X509_PURPOSE_SSL_SERVER),
              X509_V_OK);
    const auto cert = parse_certificate(pki().server.cert_pem);
    EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
    EXPECT_EQ(X509_check_host(cert.get(), "example.com", 0, 0, nullptr), 0);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 0);
    EXPECT_EQ(X509_check_ca(parse_certificate(pki().ca.cert_pem()).get()), 1);
    EXPECT_EQ(X509_check_ca(cert.get()), 0);

    // Another CA does not vouch for it.
    const test_ca other("another CA");
    EXPECT_NE(verify(pki().server.cert_pem, other.cert_pem()), X509_V_OK);
}

TEST(TestCertificates, ClientCertificateIsForClientAuthenticationOnly)
{
    EXPECT_EQ(verify(pki().client.cert_pem, pki().ca.cert_pem(), X509_PURPOSE_SSL_CLIENT),
              X509_V_OK);
    EXPECT_EQ(verify(pki().client.cert_pem, pki().ca.cert_pem(), X509_PURPOSE_SSL_SERVER),
              X509_V_ERR_INVALID_PURPOSE);
}

TEST(TestCertificates, ExpiredCertificateFailsWithCertHasExpired)
{
    const auto expired = pki().ca.issue(tether::testing::expired_spec());
    EXPECT_EQ(verify(expired.cert_pem, pki().ca.cert_pem()), X509_V_ERR_CERT_HAS_EXPIRED);
    const auto not_yet = pki().ca.issue({.not_before_offset = 24h});
    EXPECT_EQ(verify(not_yet.cert_pem, pki().ca.cert_pem()), X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST(TestCertificates, SelfSignedLeafFailsAsDepthZeroSelfSigned)
{
    const auto self_signed = tether::testing::make_self_signed({.dns_names = {"localhost"}});
    EXPECT_EQ(verify(self_signed.cert_pem, ""), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    EXPECT_EQ(X509_check_ca(parse_certificate(self_signed.cert_pem).get()), 0);
}

TEST(TestCertificates, BadSpecsAreRefused)
{
    EXPECT_THROW(pki().ca.issue({.ip_addresses = {"not-an-ip"}}), std::invalid_argument);
    EXPECT_THROW(pki().ca.issue({.valid_for = 0s}), std::invalid_argument);
}

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// A fresh directory under the system's temporary directory, removed at the end of the scope.
struct temp_dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("tether-tls-test-" + std::to_string(::getpid()));
    temp_dir() { std::filesystem::remove_all(path); }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

TEST(TestCertificates, WriteTestPkiWritesFilesAServerLoads)
{
    const temp_dir dir;
    const auto sub = dir.path / "nested";
    const test_ca ca = tether::testing::write_test_pki(sub.string());
    EXPECT_EQ(read_text(sub / "ca.pem"), ca.cert_pem());
    EXPECT_EQ(verify(read_text(sub / "server.pem"), ca.cert_pem(), X509_PURPOSE_SSL_SERVER),
              X509_V_OK);
    EXPECT_EQ(verify(read_text(sub / "client.pem"), ca.cert_pem(), X509_PURPOSE_SSL_CLIENT),
              X509_V_OK);

    echo_server_options o;
    o.tls = echo_server_tls{.cert_pem = read_text(sub / "server.pem"),
                            .key_pem = read_text(sub / "server.key"),
                            .client_ca_pem = ca.cert_pem()};
    echo_server server(o);
    server.start();
    auto ctx = client_context({.certificate = pem_credentials{read_text(sub / "client.pem"),
                                                              read_text(sub / "client.key")}});
    ctx->add_certificate_authority(asio::buffer(ca.cert_pem()));
    test_client c(server.port(), ctx);
    EXPECT_TRUE(served(c));

    EXPECT_THROW(tether::testing::write_text_file((dir.path / "no" / "such" / "dir").string(), "x"),
                 std::runtime_error);
}

// --- The program's TLS options ------------------------------------------------------------------

#ifdef TETHER_ECHO_SERVER_CLI
/// The program's exit status with these arguments (stderr silenced).
int cli_exit_status(const std::string& args)
{
    const std::string command =
        std::string("'") + TETHER_ECHO_SERVER_CLI + "' " + args + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

TEST(EchoServerCliTls, TlsOptionsServeTlsAndMisuseExitsTwo)
{
#ifndef TETHER_ECHO_SERVER_CLI
    GTEST_SKIP() << "the echo_server program is not built in this configuration";
#else
    const temp_dir dir;
    const test_ca ca_on_disk = tether::testing::write_test_pki(dir.path.string());
    const std::string cert = (dir.path / "server.pem").string();
    const std::string key = (dir.path / "server.key").string();
    const std::string ca = (dir.path / "ca.pem").string();
    EXPECT_EQ(cli_exit_status("--tls-cert " + cert), 2);
    EXPECT_EQ(cli_exit_status("--tls-key " + key), 2);
    EXPECT_EQ(cli_exit_status("--tls-alpn x"), 2);
    EXPECT_EQ(cli_exit_status("--tls-cert /nonexistent/cert.pem --tls-key " + key), 2);
    EXPECT_EQ(cli_exit_status("--tls-cert " + ca + " --tls-key " + key), 2); // key mismatch
    EXPECT_EQ(cli_exit_status("--tls-cert " + cert + " --tls-key " + key + " --tls-alpn ''"), 2);

    // The shell prints its pid, then becomes the server: we can stop it whatever happens.
    const std::string command = "sh -c 'echo $$; exec \"$0\" \"$@\"' '" +
                                std::string(TETHER_ECHO_SERVER_CLI) + "' --tls-cert " + cert +
                                " --tls-key " + key + " --tls-alpn tether/1";
    FILE* out = ::popen(command.c_str(), "r");
    ASSERT_NE(out, nullptr);
    char line[128] = {};
    pid_t pid = 0;
    unsigned port = 0;
    if (std::fgets(line, sizeof line, out))
        pid = static_cast<pid_t>(std::atoi(line));
    if (std::fgets(line, sizeof line, out))
        std::sscanf(line, "LISTENING %u", &port);
    EXPECT_GT(pid, 0);
    if (port != 0) {
        auto ctx = client_context({.alpn = {"tether/1"}});
        ctx->add_certificate_authority(asio::buffer(ca_on_disk.cert_pem()));
        test_client c(static_cast<std::uint16_t>(port), ctx);
        EXPECT_TRUE(served(c));
        EXPECT_EQ(c.alpn(), "tether/1");
    } else {
        ADD_FAILURE() << "no LISTENING line: " << line;
    }
    if (pid > 0)
        ::kill(pid, SIGTERM);
    const int status = ::pclose(out);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
#endif
}

} // namespace
