#pragma once

// One accepted client connection of the reference server: the TLS handshake when the server
// has TLS, the read loop and framing, the replies (test controls included), the server's pings,
// goaway and close.

#include "controls.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"
#include "server.hpp"
#include "server_stream.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tether::testing::detail {

/// How a connection ends.
enum class close_mode {
    graceful, ///< over TLS: close_notify first (bounded), then FIN; plaintext: FIN
    fin,      ///< FIN at once (over TLS without close_notify: the client sees a truncated stream)
    reset,    ///< RST at once (SO_LINGER 0)
};

/// One accepted connection. Every member function not marked otherwise runs on strand_.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(server& srv, socket_t socket);

    std::uint64_t id() const noexcept { return id_; }

    // Thread-safe entry points: hop onto the strand.
    void post_start();
    void post_goaway();
    void post_close(close_mode how);
    void post_resume();

    /// Only once no io thread runs any more (final cleanup after join).
    void close_after_join() { close_socket(close_mode::fin); }

private:
    bool paused() const noexcept;
    bool output_backlogged() const noexcept;

    void start();
    void on_handshake(const error_code& ec);
    void handshake_failed();
    void serve();
    void resume();

    // Reading and framing.
    void read();
    void on_read(const error_code& ec, std::size_t n);
    void close_if_done();
    void process();
    void protocol_error();
    void handle(std::string_view payload);

    // Replies.
    void on_request(wire::request& r);
    /// Before the connection logged in (login_token set): answers `r` as a login attempt.
    void on_request_before_login(const wire::request& r);
    void deliver(reply_plan& plan);
    void queue_truncated_reply(const reply_plan& plan);
    void hang();
    void queue(const wire::message& m);
    void queue_reply(const reply_plan& plan); // the response or error the plan asks for
    void queue_body(std::uint64_t id, const wire::json& body);
    void queue_error(std::uint64_t id, std::int64_t code, std::string message);
    void flush();
    void on_write(const error_code& ec);

    void schedule_ping();

    // Closing.
    void close(close_mode how);
    void stop_serving();
    void continue_tls_shutdown();
    void close_socket(close_mode how);

    server& srv_;
    const std::uint64_t id_;
    strand_t strand_;
    server_stream stream_;
    timer_t ping_timer_;
    timer_t tls_deadline_; // bounds the TLS handshake, later the TLS shutdown
    wire::frame_decoder dec_;
    std::string out_pending_;
    std::string out_inflight_;
    std::unordered_map<std::uint64_t, std::unique_ptr<timer_t>> sleepers_;
    std::uint64_t next_sleeper_ = 0;
    std::uint64_t next_ping_id_ = 1;
    bool established_ = false; // plaintext: at once; TLS: once the handshake is done
    bool reading_ = false;
    bool writing_ = false;
    bool closed_ = false;        // nothing more is read or answered (close_notify may be going out)
    bool socket_closed_ = false; // the socket is closed and the server no longer counts it
    bool tls_shutdown_started_ = false;
    bool hung_ = false;
    bool logged_in_ = false;             // only looked at when the server requires a login
    bool close_after_output_ = false;    // "truncate": what is queued goes out, then FIN
    bool peer_finished_sending_ = false; // EOF read: owed replies go out, then close
};

} // namespace tether::testing::detail
