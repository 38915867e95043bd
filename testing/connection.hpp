#pragma once

// One accepted client connection of the reference server: the read loop and framing, the
// replies (test controls included), the server's pings, goaway and close.

#include "controls.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"
#include "server.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tether::testing::detail {

/// One accepted connection. Every member function not marked otherwise runs on strand_.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(server& srv, socket_t socket);

    std::uint64_t id() const noexcept { return id_; }

    // Thread-safe entry points: hop onto the strand.
    void post_start();
    void post_goaway();
    void post_close(bool reset);
    void post_resume();

    /// Only once no io thread runs any more (final cleanup after join).
    void close_after_join() { close(false); }

private:
    bool paused() const noexcept;
    bool output_backlogged() const noexcept;

    void start();
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
    void deliver(reply_plan& plan);
    void hang();
    void queue(const wire::message& m);
    void queue_body(std::uint64_t id, const wire::json& body);
    void queue_error(std::uint64_t id, std::int64_t code, std::string message);
    void flush();
    void on_write(const error_code& ec);

    void schedule_ping();
    void close(bool reset);

    server& srv_;
    const std::uint64_t id_;
    strand_t strand_;
    socket_t sock_;
    timer_t ping_timer_;
    wire::frame_decoder dec_;
    std::string out_pending_;
    std::string out_inflight_;
    std::unordered_map<std::uint64_t, std::unique_ptr<timer_t>> sleepers_;
    std::uint64_t next_sleeper_ = 0;
    std::uint64_t next_ping_id_ = 1;
    bool reading_ = false;
    bool writing_ = false;
    bool closed_ = false;
    bool hung_ = false;
    bool peer_finished_sending_ = false; // EOF read: owed replies go out, then close
};

} // namespace tether::testing::detail
