#pragma once

// tether's reference server (wire protocol v1): answers every `ping` with
// `pong` and every `request` with a `response` echoing its body, and offers test controls under
// the reserved member "$test" of an object request body (see docs/echo_server.md).
//
// Tests, samples and benches start it in-process; the tether-echo-server program wraps it.
// Every member function is thread-safe and may be called from any thread except the server's
// own io threads (wait(), stop() and drain_and_stop() block).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tether::testing {

/// TLS for every connection of the server (docs/echo_server.md, "TLS"): TLS 1.2 or newer, the
/// handshake first, then protocol v1 inside it.
struct echo_server_tls {
    std::string cert_pem{}; ///< the server's certificate, optionally followed by its chain (PEM)
    std::string key_pem{};  ///< the certificate's private key (PEM, unencrypted)
    /// Non-empty: client certificates are required and verified against these CA
    /// certificates (PEM, one or more).
    std::string client_ca_pem{};
    /// Non-empty: the ALPN protocols the server accepts, preferred first. A client that offers
    /// none of them, or no ALPN at all, gets a fatal no_application_protocol alert.
    std::vector<std::string> alpn{};
    /// A handshake not done by then (a client that connects and stays silent) is a failure:
    /// the socket is closed and tls_handshake_failures() counts it.
    std::chrono::milliseconds handshake_timeout{10000};
};

struct echo_server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0; ///< 0 = ephemeral (see port())
    int threads = 1;        ///< io threads, >= 1
    std::chrono::milliseconds ping_interval{
        0}; ///< 0 = server never pings; else pings every connection this often
    std::uint32_t max_frame_size = 4u << 20;       ///< largest frame accepted and sent
    std::size_t max_json_depth = 64;               ///< deeper payloads are a protocol error
    std::chrono::milliseconds drain_timeout{5000}; ///< how long a drain waits for clients to close
    std::optional<echo_server_tls> tls{};          ///< none = plaintext
    /// Set (not empty): a connection must log in before anything else is answered. Its first
    /// request must be {"op":"login","token":<this>}, answered {"op":"login","ok":true};
    /// a login with another token is answered with the error {401, "bad token"}, any other
    /// request before a login with {401, "login required"}. Pings are answered regardless.
    std::optional<std::string> login_token{};
};

class echo_server {
public:
    /// Validates `options` (std::invalid_argument on a nonsensical value, and on TLS PEM text
    /// that does not parse or a key that does not match its certificate); does not bind yet.
    explicit echo_server(echo_server_options options = {});
    /// Hard stop if still running, joins the threads. Never hangs.
    ~echo_server();

    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;

    /// Resolves, binds, listens and starts the io threads. Throws std::system_error on failure,
    /// std::logic_error when called twice.
    void start();

    /// The bound port (the ephemeral one when options.port was 0); 0 before start().
    std::uint16_t port() const;

    /// Non-blocking: stops accepting, sends goaway{"reason":"shutdown"} on every connection,
    /// keeps answering requests that still arrive, closes each connection when its client
    /// closes it or when drain_timeout passes. The server stops once no connection is left.
    void begin_drain();

    /// Blocks until the server is fully stopped (all connections closed, threads joined).
    /// Returns at once when it was never started.
    void wait();

    /// begin_drain() + wait(): what the CLI does on SIGTERM/SIGINT.
    void drain_and_stop();

    /// Hard stop now: closes every socket and joins the threads.
    void stop();

    /// true: simulates a hung process. Every connection stops reading and answering (pings
    /// too, and server pings are not sent); sockets stay open; new connections are still
    /// completed by the kernel (listen backlog) but not served. false resumes everything,
    /// answering what arrived in the meantime.
    void set_unresponsive(bool unresponsive);

    /// Abruptly closes every open connection: reset=true sends RST (SO_LINGER 0), else FIN.
    /// Over TLS neither sends close_notify (with FIN the client sees a truncated stream).
    /// The server keeps accepting.
    void close_all_connections(bool reset);

    // Counters (monotonic except connections_open).
    std::uint64_t connections_accepted() const;
    std::uint64_t connections_open() const;
    std::uint64_t requests() const; ///< valid `request` messages received
    std::uint64_t pings_received() const;
    std::uint64_t pongs_received() const;
    std::uint64_t pings_sent() const;             ///< server-initiated pings (ping_interval)
    std::uint64_t protocol_errors() const;        ///< connections closed for breaking protocol v1
    std::uint64_t unknown_messages() const;       ///< unknown or wrong-direction types, ignored
    std::uint64_t tls_handshake_failures() const; ///< failed or timed out, each socket closed

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// A started server on 127.0.0.1 with `threads` io threads, on `port` (0 = ephemeral): the
/// one-liner tests use.
std::unique_ptr<echo_server> start_echo_server(std::uint16_t port = 0, int threads = 2);

} // namespace tether::testing
