#pragma once

// One hand-written protocol v1 connection of the raw baseline (see raw_client.hpp), over plain
// TCP or over TLS. The stream is a template parameter (both instantiated in raw_connection.cpp):
// the plaintext connection reads and writes its socket directly, with no indirection per read.

#include "raw_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

namespace tether_bench {

template <class Stream>
class raw_connection : public std::enable_shared_from_this<raw_connection<Stream>> {
public:
    /// Largest frame accepted (protocol.md's default max_frame_size).
    static constexpr std::uint32_t max_frame = 4u << 20;

    /// `stream_args`: nothing for raw_tcp_stream, the shared ssl::context for raw_tls_stream.
    template <class... StreamArgs>
    explicit raw_connection(boost::asio::io_context& io, StreamArgs&... stream_args)
        : strand_(boost::asio::make_strand(io)), stream_(strand_, stream_args...)
    {
    }

    /// Blocking connect with TCP_NODELAY, then over TLS the handshake: the server's certificate
    /// is checked against the context's CAs and `host` (SNI too when `host` is a name).
    /// Throws boost::system::system_error.
    void connect(const boost::asio::ip::tcp::endpoint& ep, const std::string& host);
    /// Starts the read loop (call once, after connect).
    void start();
    /// Serializes on the calling thread, then queues the frame on the strand.
    void async_request(const nlohmann::json& body, raw_callback done);
    /// Closes the socket (over TLS without close_notify); pending requests complete with
    /// operation_aborted.
    void close();

private:
    using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

    void read_header();
    void read_body(std::uint32_t length);
    bool on_message();            // false after a protocol error (the connection is closed)
    void send(std::string frame); // on the strand
    void write_next();            // on the strand
    void fail(boost::system::error_code ec); // on the strand: close, fail every pending request

    strand_type strand_;
    Stream stream_; // its executor is the strand: handlers run there
    std::array<unsigned char, 4> header_{};
    std::string payload_;            // read buffer, reused
    std::deque<std::string> writes_; // front() is being written
    std::unordered_map<std::uint64_t, raw_callback> pending_;
    std::atomic<std::uint64_t> next_id_{1};
    bool closed_ = false;
    bool draining_ = false; // goaway received
};

/// Length-prefixed frame of `message` (4-byte big-endian length, then the JSON text).
std::string make_frame(const nlohmann::json& message);

} // namespace tether_bench
