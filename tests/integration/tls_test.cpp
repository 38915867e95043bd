// The pool over TLS against the reference server on loopback, with certificates made at test
// time: verification (chain, name, dates) on by default and its failures named, mutual TLS,
// ALPN, the connect budget holding through a stalled handshake, hostile peers, truncation,
// close_notify within its bound, reload (with and without rotation) under load, and the
// health behaviours of design.md §2 over TLS. Bounds are scaled by TETHER_TEST_TIME_SCALE.

#include "acquire_failure.hpp"
#include "test_env.hpp"

#include <tether/testing/certificates.hpp>
#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <optional>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using tether::test::poll_until;
using tether::test::scaled;
using json = nlohmann::json;
namespace tt = tether::testing;

namespace {

/// Certificates shared by every test (making keys takes a few milliseconds each).
struct pki {
    tt::test_ca ca{"tether test CA"};
    tt::test_ca other_ca{"some other CA"};
    tt::pem_credentials server = ca.issue(server_spec());
    tt::pem_credentials other_name = ca.issue(name_spec("other.example"));
    tt::pem_credentials expired = ca.issue(tt::expired_spec(server_spec()));
    tt::pem_credentials self_signed = tt::make_self_signed(server_spec());
    tt::pem_credentials from_other_ca = other_ca.issue(server_spec());
    tt::pem_credentials client = ca.issue(client_spec());

    static tt::certificate_spec server_spec()
    {
        tt::certificate_spec s;
        s.dns_names = {"localhost"};
        s.ip_addresses = {"127.0.0.1"};
        return s;
    }
    static tt::certificate_spec name_spec(const std::string& name)
    {
        tt::certificate_spec s;
        s.common_name = name;
        s.dns_names = {name};
        return s;
    }
    static tt::certificate_spec client_spec()
    {
        tt::certificate_spec s;
        s.common_name = "tether test client";
        s.client = true;
        return s;
    }
};

const pki& certs()
{
    static const pki instance;
    return instance;
}

tt::echo_server_tls server_tls(const tt::pem_credentials& creds)
{
    tt::echo_server_tls t;
    t.cert_pem = creds.cert_pem;
    t.key_pem = creds.key_pem;
    return t;
}

std::unique_ptr<tt::echo_server> start_tls_server(tt::echo_server_tls tls,
                                                  std::chrono::milliseconds ping_interval = 0ms,
                                                  std::uint16_t port = 0)
{
    tt::echo_server_options o;
    o.threads = 2;
    o.port = port;
    o.ping_interval = ping_interval;
    o.tls = std::move(tls);
    auto s = std::make_unique<tt::echo_server>(o);
    s->start();
    return s;
}

tether::tls_options trusting(const std::string& ca_pem)
{
    tether::tls_options t;
    t.ca_pem = ca_pem;
    return t;
}

/// A pool that fails fast on a refused handshake (one endpoint, short backoff).
tether::pool_builder builder_for(std::uint16_t port, tether::tls_options tls,
                                 const std::string& host = "localhost")
{
    tether::pool_builder b;
    b.endpoint(host, port)
        .io_threads(2)
        .min_connections(1)
        .max_connections(4)
        .connect_timeout(scaled(2s))
        .acquire_timeout(scaled(3s))
        .backoff(scaled(50ms), 2.0, scaled(400ms), 0.2)
        .tls(std::move(tls));
    return b;
}

struct connect_failures final : tether::pool_observer {
    std::mutex mutex;
    std::vector<std::pair<std::error_code, std::string>> seen;
    std::atomic<int> backoffs{0};

    void on_connect_failure(const tether::endpoint&, std::error_code reason,
                            const std::string& detail) override
    {
        std::lock_guard lock(mutex);
        seen.emplace_back(reason, detail);
    }
    void on_backoff(const tether::endpoint&, std::chrono::milliseconds, unsigned) override
    {
        ++backoffs;
    }
    std::pair<std::error_code, std::string> first()
    {
        std::lock_guard lock(mutex);
        return seen.empty() ? std::pair<std::error_code, std::string>{} : seen.front();
    }
};

/// Expects the pool to refuse the server's handshake with a reason containing `words`,
/// reported everywhere design.md §6 says, and the endpoint to back off.
void expect_refused(tether::pool_builder builder, const std::string& words)
{
    auto observer = std::make_shared<connect_failures>();
    auto pool = builder.observer(observer).build();
    const auto [ec, what] = tether::test::failed_acquire(pool);
    EXPECT_TRUE(ec == tether::errc::no_endpoint_available || ec == tether::errc::acquire_timeout)
        << ec.message();
    EXPECT_NE(what.find(words), std::string::npos) << what;
    ASSERT_TRUE(poll_until([&] { return observer->backoffs > 0; }, scaled(2s)));
    const auto [reason, detail] = observer->first();
    EXPECT_EQ(reason, tether::errc::tls_handshake_failed) << reason.message();
    EXPECT_NE(detail.find("TLS handshake with"), std::string::npos) << detail;
    EXPECT_NE(detail.find(words), std::string::npos) << detail;
    const auto stats = pool.stats();
    EXPECT_EQ(stats.connects, 0u);
    EXPECT_GE(stats.connect_failures, 1u);
    ASSERT_EQ(stats.endpoints.size(), 1u);
    EXPECT_NE(stats.endpoints[0].last_error.find(words), std::string::npos)
        << stats.endpoints[0].last_error;
    EXPECT_NE(pool.diagnostics().find(words), std::string::npos) << pool.diagnostics();
}

// ---- success ------------------------------------------------------------------------------------

TEST(Tls, RequestsSyncAsyncPipelinedNotifiesAndServerPings)
{
    auto server = start_tls_server(server_tls(certs().server), scaled(50ms));
    std::atomic<int> notifies{0};
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem()))
                    .on_notify([&](const json&) { ++notifies; })
                    .build();
    auto lease = pool.acquire();
    EXPECT_EQ(lease.request(json{{"a", 1}}), (json{{"a", 1}}));
    auto async_reply = lease.async_request(json{{"b", 2}}, boost::asio::use_future);
    EXPECT_EQ(async_reply.get(), (json{{"b", 2}}));

    std::vector<std::future<json>> pipelined;
    for (int i = 0; i < 200; ++i)
        pipelined.push_back(lease.async_request(json{{"i", i}}, boost::asio::use_future));
    for (int i = 0; i < 200; ++i)
        EXPECT_EQ(pipelined[static_cast<std::size_t>(i)].get()["i"], i);

    const json big = {{"data", std::string(100'000, 'x')}}; // several TLS records each way
    EXPECT_EQ(lease.request(big), big);

    EXPECT_EQ(lease.request(json{{"$test", {{"notify", 3}}}})["$test"]["notify"], 3);
    EXPECT_TRUE(poll_until([&] { return notifies == 3; }, scaled(2s)));
    EXPECT_TRUE(poll_until([&] { return server->pongs_received() >= 2; }, scaled(3s)))
        << "the pool answers the server's pings over TLS";
    EXPECT_EQ(pool.stats().connections_lost, 0u);
    EXPECT_EQ(server->tls_handshake_failures(), 0u);
}

TEST(Tls, AnIpLiteralIsVerifiedAgainstTheIpSubjectAltName)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem()), "127.0.0.1").build();
    EXPECT_EQ(pool.acquire().request(json{{"ip", true}}), (json{{"ip", true}}));
}

TEST(Tls, TrustFromFilesAndTheServerNameOption)
{
    const auto dir =
        std::filesystem::temp_directory_path() / ("tether-tls-" + std::to_string(::getpid()));
    tt::write_test_pki(dir.string());
    tt::echo_server_tls tls;
    tls.cert_pem = certs().other_name.cert_pem;
    tls.key_pem = certs().other_name.key_pem;
    auto server = start_tls_server(tls);
    tether::tls_options opts;
    opts.ca_file = (dir / "ca.pem").string();
    // The file's CA did not issue the server's certificate: it is refused ...
    expect_refused(builder_for(server->port(), opts), "unable to get local issuer certificate");
    // ... and with the right CA and the name the certificate carries, accepted.
    tt::write_text_file((dir / "ca.pem").string(), certs().ca.cert_pem());
    opts.server_name = "other.example";
    auto pool = builder_for(server->port(), opts, "127.0.0.1").build();
    EXPECT_EQ(pool.acquire().request(json{{"named", 1}}), (json{{"named", 1}}));
    std::filesystem::remove_all(dir);
}

// ---- verification -------------------------------------------------------------------------------

TEST(Tls, UnknownCaIsRefused)
{
    auto server = start_tls_server(server_tls(certs().from_other_ca));
    expect_refused(builder_for(server->port(), trusting(certs().ca.cert_pem())),
                   "certificate verify failed: unable to get local issuer certificate");
}

TEST(Tls, WrongHostIsRefused)
{
    auto server = start_tls_server(server_tls(certs().other_name));
    expect_refused(builder_for(server->port(), trusting(certs().ca.cert_pem())),
                   "certificate verify failed: hostname mismatch");
    expect_refused(builder_for(server->port(), trusting(certs().ca.cert_pem()), "127.0.0.1"),
                   "certificate verify failed: IP address mismatch");
}

TEST(Tls, ExpiredCertificateIsRefused)
{
    auto server = start_tls_server(server_tls(certs().expired));
    expect_refused(builder_for(server->port(), trusting(certs().ca.cert_pem())),
                   "certificate verify failed: certificate has expired");
}

TEST(Tls, SelfSignedCertificateIsRefused)
{
    auto server = start_tls_server(server_tls(certs().self_signed));
    expect_refused(builder_for(server->port(), trusting(certs().ca.cert_pem())),
                   "certificate verify failed: self-signed certificate");
}

TEST(Tls, ChainOnlyAcceptsTheWrongHostButNotAnUnknownCa)
{
    auto server = start_tls_server(server_tls(certs().other_name));
    auto opts = trusting(certs().ca.cert_pem());
    opts.verify = tether::tls_verify::chain_only;
    auto pool = builder_for(server->port(), opts).build();
    EXPECT_EQ(pool.acquire().request(json{{"chain", 1}}), (json{{"chain", 1}}));

    auto stranger = start_tls_server(server_tls(certs().from_other_ca));
    expect_refused(builder_for(stranger->port(), opts), "unable to get local issuer certificate");
}

TEST(Tls, VerifyNoneAcceptsAnything)
{
    auto server = start_tls_server(server_tls(certs().self_signed));
    auto opts = trusting(certs().ca.cert_pem());
    opts.verify = tether::tls_verify::none;
    auto pool = builder_for(server->port(), opts, "127.0.0.1").build();
    EXPECT_EQ(pool.acquire().request(json{{"none", 1}}), (json{{"none", 1}}));
    EXPECT_EQ(tether::to_json(pool.config())["tls"]["verify"], "none");
}

TEST(Tls, ConfigShowsTheVerificationMode)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem())).build();
    const json shown = tether::to_json(pool.config());
    EXPECT_EQ(shown["tls"]["verify"], "full") << "verification is on by default";
    EXPECT_EQ(shown["tls"]["trust"], "PEM text");
    EXPECT_EQ(shown["tls"]["min_version"], "1.2");
    EXPECT_EQ(tether::to_json(tether::pool_config{})["tls"], "off");
}

// ---- mutual TLS and ALPN ------------------------------------------------------------------------

TEST(Tls, ClientCertificateRequiredButAbsentFails)
{
    auto tls = server_tls(certs().server);
    tls.client_ca_pem = certs().ca.cert_pem();
    auto server = start_tls_server(tls);
    // TLS 1.3: the refusal comes as an alert after the client finished its handshake.
    expect_refused(builder_for(server->port(), trusting(certs().ca.cert_pem())),
                   "certificate required");
}

TEST(Tls, MutualTlsWorks)
{
    auto tls = server_tls(certs().server);
    tls.client_ca_pem = certs().ca.cert_pem();
    auto server = start_tls_server(tls);
    auto opts = trusting(certs().ca.cert_pem());
    opts.cert_pem = certs().client.cert_pem;
    opts.key_pem = certs().client.key_pem;
    auto pool = builder_for(server->port(), opts).build();
    EXPECT_EQ(pool.acquire().request(json{{"mutual", 1}}), (json{{"mutual", 1}}));
    opts.min_version = tether::tls_version::v1_3;
    auto pool13 = builder_for(server->port(), opts).build();
    EXPECT_EQ(pool13.acquire().request(json{{"v1_3", 1}}), (json{{"v1_3", 1}}));
}

TEST(Tls, AlpnWithNoCommonProtocolFails)
{
    auto tls = server_tls(certs().server);
    tls.alpn = {"other/1"};
    auto server = start_tls_server(tls);
    auto opts = trusting(certs().ca.cert_pem());
    opts.alpn = {"tether/1"};
    expect_refused(builder_for(server->port(), opts), "no application protocol");

    // A server that does not speak ALPN at all chooses nothing: refused too.
    auto plain_alpn = start_tls_server(server_tls(certs().server));
    expect_refused(builder_for(plain_alpn->port(), opts), "no common ALPN protocol");

    auto agreeing = server_tls(certs().server);
    agreeing.alpn = {"tether/1"};
    auto good = start_tls_server(agreeing);
    auto pool = builder_for(good->port(), opts).build();
    EXPECT_EQ(pool.acquire().request(json{{"alpn", 1}}), (json{{"alpn", 1}}));
}

// ---- hostile peers ------------------------------------------------------------------------------

/// A TCP listener on 127.0.0.1 whose accepted sockets get `greeting` (maybe nothing) and are
/// then kept open, unanswered, until the peer is destroyed.
class raw_peer {
public:
    explicit raw_peer(std::string greeting)
        : greeting_(std::move(greeting)),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0})
    {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~raw_peer()
    {
        io_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    void accept()
    {
        acceptor_.async_accept(
            [this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
                if (ec)
                    return;
                auto& kept = sockets_.emplace_back(std::move(s));
                if (!greeting_.empty())
                    boost::asio::async_write(kept, boost::asio::buffer(greeting_),
                                             [](boost::system::error_code, std::size_t) {});
                accept();
            });
    }

    std::string greeting_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::vector<boost::asio::ip::tcp::socket> sockets_;
    std::thread thread_;
};

TEST(Tls, PeerStallingMidHandshakeIsBoundByConnectTimeout)
{
    raw_peer silent(""); // accepts, reads nothing, answers nothing
    const auto budget = scaled(300ms);
    auto pool = builder_for(silent.port(), trusting(certs().ca.cert_pem()))
                    .connect_timeout(budget)
                    .acquire_timeout(scaled(5s))
                    .build();
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    (void)pool.acquire(ec);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(ec, tether::errc::no_endpoint_available) << ec.message();
    EXPECT_LE(took, budget + scaled(500ms));
    EXPECT_NE(pool.diagnostics().find("TLS handshake with"), std::string::npos)
        << pool.diagnostics();
    EXPECT_NE(pool.diagnostics().find("not finished within connect_timeout"), std::string::npos);
}

TEST(Tls, PeerAnsweringWithGarbageOrPlaintextIsAConnectFailure)
{
    raw_peer garbage(std::string(64, '\x7f'));
    expect_refused(builder_for(garbage.port(), trusting(certs().ca.cert_pem())), "TLS handshake");

    // A plaintext reference server reads the ClientHello as a frame and hangs up.
    auto plaintext = tt::start_echo_server();
    expect_refused(builder_for(plaintext->port(), trusting(certs().ca.cert_pem())),
                   "TLS handshake");

    std::string frame = R"({"type":"pong","id":1})";
    const auto n = static_cast<std::uint32_t>(frame.size());
    frame.insert(0, std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                static_cast<char>(n >> 8), static_cast<char>(n)});
    raw_peer json_peer(frame);
    expect_refused(builder_for(json_peer.port(), trusting(certs().ca.cert_pem())), "TLS handshake");
}

TEST(Tls, StreamTruncatedMidFrameLosesThatLinkOnly)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool =
        builder_for(server->port(), trusting(certs().ca.cert_pem())).min_connections(2).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    auto healthy = pool.acquire();
    auto doomed = pool.acquire();
    std::error_code ec;
    (void)doomed.request(json{{"$test", {{"truncate", true}}}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_lost) << ec.message();
    EXPECT_EQ(healthy.request(json{{"still", 1}}), (json{{"still", 1}}));
    EXPECT_EQ(pool.stats().connections_lost, 1u);
}

/// A TLS server of one connection, scripted on a thread with blocking calls: it answers pings
/// and echoes requests. The reply to a request whose body has "last" goes out in the same
/// segment as its close_notify (TCP_CORK), so that the client reads both at once. The reply
/// to one whose body has "key_update" waits for the next request; then both replies go out
/// in one segment with a TLS 1.3 KeyUpdate (update requested) between them.
class scripted_tls_peer {
public:
    scripted_tls_peer()
        : ctx_(boost::asio::ssl::context::tls_server),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0})
    {
        const auto& creds = certs().server;
        ctx_.use_certificate_chain(boost::asio::buffer(creds.cert_pem));
        ctx_.use_private_key(boost::asio::buffer(creds.key_pem), boost::asio::ssl::context::pem);
        thread_ = std::thread([this] { serve(); });
    }
    ~scripted_tls_peer()
    {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    /// KeyUpdate messages the peer sent, and received from the client.
    int key_updates_sent() const { return key_updates_sent_.load(); }
    int key_updates_received() const { return key_updates_received_.load(); }

private:
    static void on_tls_message(int write, int, int content_type, const void* buf, std::size_t len,
                               SSL*, void* self)
    {
        const auto* bytes = static_cast<const unsigned char*>(buf);
        if (!write && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
            bytes[0] == SSL3_MT_KEY_UPDATE)
            ++static_cast<scripted_tls_peer*>(self)->key_updates_received_;
    }

    // Plain OpenSSL on the blocking socket: each record goes straight to the socket, so the
    // cork can gather the reply and the close_notify into one segment.
    void serve()
    {
        boost::asio::ip::tcp::socket socket(io_);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec)
            return;
        SSL* ssl = SSL_new(ctx_.native_handle());
        SSL_set_fd(ssl, socket.native_handle());
        SSL_set_msg_callback(ssl, &scripted_tls_peer::on_tls_message);
        SSL_set_msg_callback_arg(ssl, this);
        const auto read_exact = [ssl](void* into, std::size_t n) {
            auto* p = static_cast<char*>(into);
            for (std::size_t got = 0; got < n;) {
                const int r = SSL_read(ssl, p + got, static_cast<int>(n - got));
                if (r <= 0)
                    return false;
                got += static_cast<std::size_t>(r);
            }
            return true;
        };
        const auto write_frame = [ssl](const json& out) {
            const std::string text = out.dump();
            std::string frame(4, '\0');
            for (std::size_t i = 0; i < 4; ++i)
                frame[i] = static_cast<char>((text.size() >> (24 - 8 * i)) & 0xff);
            frame += text;
            SSL_write(ssl, frame.data(), static_cast<int>(frame.size()));
        };
        unsigned char prefix[4];
        std::optional<json> held; // the reply waiting for the next request's (key_update)
        while (SSL_accept(ssl) == 1 && read_exact(prefix, 4)) {
            std::string payload((std::size_t{prefix[0]} << 24) | (std::size_t{prefix[1]} << 16) |
                                    (std::size_t{prefix[2]} << 8) | prefix[3],
                                '\0');
            if (!read_exact(payload.data(), payload.size()))
                break;
            const json m = json::parse(payload);
            const json out = m["type"] == "ping"
                                 ? json{{"type", "pong"}, {"id", m["id"]}}
                                 : json{{"type", "response"}, {"id", m["id"]}, {"body", m["body"]}};
            const bool request = m["type"] == "request";
            if (request && m["body"].contains("key_update") && !held) {
                held = out;
                continue;
            }
            const bool last = request && m["body"].contains("last");
            const int cork = last || held ? 1 : 0, uncork = 0;
            ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_CORK, &cork, sizeof cork);
            if (held) {
                write_frame(*held);
                held.reset();
                key_updates_sent_ += SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED);
            }
            write_frame(out); // after a key update: the KeyUpdate record, then this one
            if (last)
                SSL_shutdown(ssl); // close_notify, not waiting for the client's
            ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_CORK, &uncork, sizeof uncork);
            if (!last)
                continue;
            char rest[256];
            while (!ec) // until the client closes
                socket.read_some(boost::asio::buffer(rest), ec);
            break;
        }
        SSL_free(ssl);
    }

    boost::asio::io_context io_;
    boost::asio::ssl::context ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = acceptor_.local_endpoint().port();
    std::atomic<int> key_updates_sent_{0};
    std::atomic<int> key_updates_received_{0};
    std::thread thread_;
};

// Records that came in one socket read reach the link together; an end behind them (here the
// server's close_notify right after a reply) is kept for the next read: the reply is
// delivered, then the link ends as lost, and the pool replaces it.
TEST(Tls, AReplyArrivingWithCloseNotifyIsDeliveredAndTheEndReportedAfterIt)
{
    scripted_tls_peer peer;
    auto pool = builder_for(peer.port(), trusting(certs().ca.cert_pem())).build();
    auto lease = pool.acquire();
    EXPECT_EQ(lease.request(json{{"n", 1}}), (json{{"n", 1}}));
    EXPECT_EQ(lease.request(json{{"last", true}}), (json{{"last", true}}));
    std::error_code ec;
    (void)lease.request(json{{"n", 2}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_lost) << ec.message();
    EXPECT_TRUE(poll_until([&] { return pool.stats().connections_lost == 1; }, scaled(2s)));
}

// A TLS 1.3 KeyUpdate between two replies of one segment is taken by the buffered read (the
// second reply's record follows it in the engine's memory). OpenSSL keeps the client's own
// KeyUpdate, which answers it, for the next write: it goes out ahead of the next request, in
// the order the server needs to read that request and the ones after it.
TEST(Tls, AKeyUpdateBetweenTwoRepliesIsAnsweredAndTheLinkGoesOn)
{
    scripted_tls_peer peer;
    auto pool = builder_for(peer.port(), trusting(certs().ca.cert_pem())).build();
    auto lease = pool.acquire();
    auto first = lease.async_request(json{{"key_update", 1}}, boost::asio::use_future);
    auto second = lease.async_request(json{{"n", 2}}, boost::asio::use_future);
    EXPECT_EQ(first.get(), (json{{"key_update", 1}}));
    EXPECT_EQ(second.get(), (json{{"n", 2}}));
    EXPECT_EQ(peer.key_updates_sent(), 1);
    EXPECT_EQ(lease.request(json{{"n", 3}}), (json{{"n", 3}}));
    EXPECT_EQ(peer.key_updates_received(), 1) << "the client's answer went out with request 3";
    EXPECT_EQ(lease.request(json{{"n", 4}}), (json{{"n", 4}}));
    EXPECT_EQ(pool.stats().connections_lost, 0u);
}

TEST(Tls, ServerDroppingTheConnectionWithoutCloseNotifyIsConnectionLost)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem())).build();
    auto lease = pool.acquire();
    auto pending =
        lease.async_request(json{{"$test", {{"sleep_ms", 2000}}}}, boost::asio::use_future);
    ASSERT_TRUE(poll_until([&] { return server->requests() >= 1; }, scaled(2s)));
    server->close_all_connections(false); // FIN, no close_notify
    try {
        (void)pending.get();
        ADD_FAILURE() << "expected connection_lost";
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), tether::errc::connection_lost) << e.what();
    }
    lease = {};
    EXPECT_EQ(pool.acquire().request(json{{"again", 1}}), (json{{"again", 1}}));
}

TEST(Tls, PeerNeverAnsweringCloseNotifyDoesNotHoldShutdown)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool =
        builder_for(server->port(), trusting(certs().ca.cert_pem())).min_connections(3).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    server->set_unresponsive(true); // reads nothing: our close_notify is never answered
    auto start = std::chrono::steady_clock::now();
    pool.shutdown(scaled(5s));
    EXPECT_LE(std::chrono::steady_clock::now() - start, 1s + scaled(500ms))
        << "at most 1 s for the peer's close_notify";

    auto server2 = start_tls_server(server_tls(certs().server));
    auto pool2 = builder_for(server2->port(), trusting(certs().ca.cert_pem())).build();
    ASSERT_TRUE(pool2.wait_ready(scaled(3s)));
    server2->set_unresponsive(true);
    start = std::chrono::steady_clock::now();
    pool2.shutdown(100ms);
    EXPECT_LE(std::chrono::steady_clock::now() - start, 100ms + scaled(400ms))
        << "never past the drain deadline";
}

TEST(Tls, CloseNotifyIsAnsweredOnAGracefulShutdown)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem())).build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    const auto start = std::chrono::steady_clock::now();
    pool.shutdown(scaled(5s));
    EXPECT_LE(std::chrono::steady_clock::now() - start, scaled(500ms))
        << "the server answers close_notify at once";
    EXPECT_TRUE(poll_until([&] { return server->connections_open() == 0; }, scaled(2s)));
    EXPECT_EQ(server->tls_handshake_failures(), 0u);
}

// ---- configuration ------------------------------------------------------------------------------

std::string setting_of(const tether::pool_builder& b)
{
    try {
        (void)b.build();
    } catch (const tether::config_error& e) {
        return e.setting();
    }
    return "(built)";
}

TEST(Tls, BadConfigurationIsAConfigErrorNamingTheOption)
{
    auto with = [](auto change) {
        tether::tls_options o = trusting(certs().ca.cert_pem());
        change(o);
        return tether::pool_builder{}.endpoint("localhost", 1).tls(o);
    };
    EXPECT_EQ(setting_of(with([](auto& o) {
                  o.ca_pem.clear();
                  o.ca_file = "/nonexistent/ca.pem";
              })),
              "tls.ca_file");
    EXPECT_EQ(setting_of(with([](auto& o) { o.ca_pem = "not a certificate"; })), "tls.ca_pem");
    EXPECT_EQ(setting_of(with([](auto& o) {
                  o.cert_pem = certs().client.cert_pem;
                  o.key_pem = certs().server.key_pem; // another certificate's key
              })),
              "tls.key_pem");
    EXPECT_EQ(setting_of(with([](auto& o) {
                  o.cert_pem = certs().client.cert_pem;
                  o.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
              })),
              "tls.key_pem");
    EXPECT_EQ(setting_of(with([](auto& o) { o.cert_pem = certs().client.cert_pem; })),
              "tls.key_file");
    EXPECT_EQ(setting_of(with([](auto& o) {
                  o.cert_file = "/nonexistent/client.pem";
                  o.key_pem = "x";
              })),
              "tls.cert_file");
    EXPECT_EQ(setting_of(with([](auto& o) { o.alpn = {""}; })), "tls.alpn");
    EXPECT_EQ(setting_of(with([](auto& o) { o.alpn = {std::string(256, 'a')}; })), "tls.alpn");
    EXPECT_EQ(setting_of(with([](auto& o) { o.ca_file = "/etc/hostname"; })), "tls.ca_pem")
        << "ca_file and ca_pem together";
}

TEST(Tls, BadReloadChangesNothing)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem())).build();
    auto bad = trusting("garbage");
    try {
        pool.reload_tls(bad, tether::tls_reload::rotate_links);
        ADD_FAILURE() << "expected config_error";
    } catch (const tether::config_error& e) {
        EXPECT_EQ(e.setting(), "tls.ca_pem");
    }
    // Links opened from now on still use the options in force.
    auto lease = pool.acquire();
    lease.discard();
    lease = {};
    EXPECT_EQ(pool.acquire().request(json{{"same", 1}}), (json{{"same", 1}}));
    EXPECT_EQ(pool.stats().connect_failures, 0u);

    auto plaintext_server = tt::start_echo_server();
    auto plaintext = tether::pool_builder{}.endpoint("127.0.0.1", plaintext_server->port()).build();
    EXPECT_THROW(plaintext.reload_tls(trusting(certs().ca.cert_pem())), tether::config_error);
}

// ---- reload -------------------------------------------------------------------------------------

TEST(Tls, ReloadUnderLoadRotatesLinksWithoutLosingARequest)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem()))
                    .min_connections(4)
                    .max_connections(6)
                    .build();
    ASSERT_TRUE(pool.wait_ready(scaled(3s)));
    std::atomic<bool> stop{false};
    std::atomic<int> served{0}, failed{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&, t] {
            for (int i = 0; !stop && i < 100'000; ++i) {
                std::error_code ec;
                auto lease = pool.acquire(ec);
                if (!ec)
                    (void)lease.request(json{{"t", t}, {"i", i}}, ec);
                ++(ec ? failed : served);
            }
        });
    }
    ASSERT_TRUE(poll_until([&] { return served > 200; }, scaled(5s)));
    const auto connects_before = pool.stats().connects;
    // The bundle trusts the old CA and a new one: every link is replaced, no request fails.
    pool.reload_tls(trusting(certs().ca.cert_pem() + certs().other_ca.cert_pem()),
                    tether::tls_reload::rotate_links);
    EXPECT_TRUE(
        poll_until([&] { return pool.stats().connects >= connects_before + 4; }, scaled(5s)))
        << pool.diagnostics() << "\nconnects before " << connects_before << ", now "
        << pool.stats().connects;
    const int served_at_rotation = served;
    ASSERT_TRUE(poll_until([&] { return served > served_at_rotation + 200; }, scaled(5s)));

    // Trusting only the new CA: links open keep working, new ones are refused.
    pool.reload_tls(trusting(certs().other_ca.cert_pem()));
    const int served_after = served;
    ASSERT_TRUE(poll_until([&] { return served > served_after + 200; }, scaled(5s)));
    stop = true;
    for (auto& c : callers)
        c.join();
    EXPECT_EQ(failed, 0) << pool.diagnostics();
    EXPECT_EQ(pool.stats().connect_failures, 0u);
    auto lease = pool.acquire();
    lease.discard(); // its replacement is made with the new options, and refused
    lease = {};
    EXPECT_TRUE(poll_until([&] { return pool.stats().connect_failures >= 1; }, scaled(3s)));
    EXPECT_NE(pool.diagnostics().find("unable to get local issuer certificate"), std::string::npos)
        << pool.diagnostics();
}

// ---- health over TLS ----------------------------------------------------------------------------

TEST(Tls, HungPeerIsDetectedWithinPingIntervalPlusTimeout)
{
    auto server = start_tls_server(server_tls(certs().server));
    const auto interval = scaled(200ms), timeout = scaled(200ms);
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem()))
                    .ping_interval(interval)
                    .ping_timeout(timeout)
                    .request_timeout(scaled(10s))
                    .build();
    auto l = pool.acquire();
    ASSERT_EQ(l.request(json{{"a", 1}}), (json{{"a", 1}}));
    server->set_unresponsive(true);
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    (void)l.request(json{{"b", 2}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_lost);
    EXPECT_LE(std::chrono::steady_clock::now() - start, interval + timeout + scaled(200ms));
    EXPECT_EQ(pool.stats().dead_links_detected, 1u);
}

TEST(Tls, GoawayDrainsAndReplacesTheLink)
{
    auto server = start_tls_server(server_tls(certs().server));
    auto pool = builder_for(server->port(), trusting(certs().ca.cert_pem())).build();
    auto l = pool.acquire();
    EXPECT_EQ(l.request(json{{"$test", {{"goaway", true}}}})["$test"]["goaway"], true);
    ASSERT_TRUE(poll_until([&] { return pool.stats().goaways == 1; }, scaled(2s)));
    std::error_code ec;
    (void)l.request(json{{"x", 1}}, ec);
    EXPECT_EQ(ec, tether::errc::connection_draining);
    l = {};
    EXPECT_EQ(pool.acquire().request(json{{"y", 2}}), (json{{"y", 2}}));
    EXPECT_EQ(pool.stats().connections_lost, 0u);
}

TEST(Tls, ServerRestartIsSurvived)
{
    auto server = start_tls_server(server_tls(certs().server));
    const auto port = server->port();
    auto pool = builder_for(port, trusting(certs().ca.cert_pem())).build();
    EXPECT_EQ(pool.acquire().request(json{{"before", 1}}), (json{{"before", 1}}));
    server->stop();
    server.reset();
    server = start_tls_server(server_tls(certs().server), 0ms, port);
    json reply;
    ASSERT_TRUE(poll_until(
        [&] {
            std::error_code ec;
            auto l = pool.acquire(ec);
            if (!ec)
                reply = l.request(json{{"after", 1}}, ec);
            return !ec;
        },
        scaled(5s)));
    EXPECT_EQ(reply, (json{{"after", 1}}));
}

} // namespace
