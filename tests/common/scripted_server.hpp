#pragma once

// A scripted, possibly hostile, protocol v1 server for integration tests: listens on 127.0.0.1
// (ephemeral port) and, on every accepted connection, behaves correctly for the pool's PROVING
// step (each `ping` is answered with a `pong` by default) and then hands every `request` it
// receives to a test callback that decides what goes back: valid messages, arbitrary bytes,
// bytes dribbled out in pieces, a close, or nothing at all.
//
// It runs its own io_context on its own threads (1 or 2); each connection lives on its own
// strand and every callback for it runs there. Bytes a connection sends leave in the order the
// send_* / close calls were made: they go through one FIFO queue per connection (a close waits
// for what was queued before it). The server's sockets set TCP_NODELAY, so each queued piece
// is its own segment.
//
// Every member function is thread-safe. The constructor, destructor and close_all() must not be
// called on the server's own io threads.

#include "sansio/message.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tether::test {

class scripted_server {
public:
    /// One accepted connection, as the script sees it. Held by shared_ptr (shared_from_this()
    /// keeps one past a callback, e.g. for a thread that floods it). A connection must not
    /// outlive its server: state that outlives the server keeps weak_ptrs.
    class connection : public std::enable_shared_from_this<connection> {
    public:
        virtual ~connection() = default;

        /// Queues `bytes` as they are: no framing.
        virtual void send_raw(std::string bytes) = 0;
        /// Queues a frame: 4-byte big-endian length + `payload`.
        virtual void send_frame(std::string_view payload) = 0;
        /// Queues `msg` as a valid frame (wire::serialize, no size limit).
        virtual void send_message(const wire::message& msg) = 0;
        /// send_message(wire::response{id, body}).
        virtual void respond(std::uint64_t id, const nlohmann::json& body) = 0;
        /// Queues `bytes` as `pieces` writes of (nearly) equal size, each written no earlier
        /// than `delay` after what was queued before it has been written (the first piece
        /// too: one piece with a delay is a late send). `pieces` is capped at bytes.size()
        /// (one byte per write at the finest). Later sends queue behind the pieces.
        virtual void send_raw_in_pieces(std::string bytes, std::size_t pieces,
                                        std::chrono::microseconds delay) = 0;
        /// Closes the connection with FIN once everything queued before has been written.
        virtual void close() = 0;

        /// Server-local number of the connection (0, 1, ... in accept order).
        virtual std::uint64_t id() const = 0;
        /// False once closed by either side.
        virtual bool is_open() const = 0;
        /// Requests received on this connection.
        virtual std::uint64_t requests_received() const = 0;
        /// Pongs received on this connection (answers to pings sent with send_message).
        virtual std::uint64_t pongs_received() const = 0;
        /// Bytes of queued output not yet written.
        virtual std::size_t bytes_queued() const = 0;
    };

    /// Called for every valid `request` (on the connection's strand). The default (no handler)
    /// echoes the body back.
    using request_handler =
        std::function<void(connection&, std::uint64_t request_id, const nlohmann::json& body)>;
    /// Called for every other valid message (after a ping was answered, when it is).
    using message_handler = std::function<void(connection&, const wire::message&)>;
    /// Called once per accepted connection before anything is read.
    using accept_handler = std::function<void(connection&)>;

    struct options {
        /// Answer each `ping` with a `pong` (the proving step needs it). false: a server that
        /// never answers a ping.
        bool answer_pings = true;
        request_handler on_request;
        message_handler on_message;
        accept_handler on_accept;
        /// io threads: 1 or 2.
        unsigned threads = 1;
        /// Largest frame accepted from the client (a bigger one closes the connection).
        std::uint32_t max_frame_size = 64u << 20;
    };

    /// Binds 127.0.0.1:0 and starts accepting (std::system_error on failure).
    explicit scripted_server(options opts);
    /// A server whose every request is handed to `on_request`.
    explicit scripted_server(request_handler on_request);
    /// Stops accepting, closes every socket, stops and joins the io threads. Never hangs.
    ~scripted_server();

    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    /// The port the server listens on (127.0.0.1).
    std::uint16_t port() const;

    /// Connections accepted so far (monotonic).
    std::size_t connections_accepted() const;
    /// Connections currently open.
    std::size_t connections_open() const;
    /// Bytes received from all connections (monotonic).
    std::uint64_t bytes_received() const;
    /// Valid requests received on all connections (monotonic).
    std::uint64_t requests_received() const;
    /// Pings received on all connections (monotonic).
    std::uint64_t pings_received() const;

    /// The open connections, in accept order.
    std::vector<std::shared_ptr<connection>> connections() const;

    /// Closes every open connection now (FIN, queued output dropped). Returns once closed.
    void close_all();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The 4-byte big-endian header of a frame of `length` payload bytes.
std::string frame_header(std::uint32_t length);
/// frame_header(payload.size()) + payload.
std::string make_frame(std::string_view payload);

} // namespace tether::test
