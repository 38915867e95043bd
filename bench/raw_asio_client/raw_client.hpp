#pragma once

// The benchmarks' baseline: a client of wire protocol v1 written by hand with Boost.Asio and
// no pool, the way a skilled engineer would do it in an afternoon. L TCP connections on one
// io_context run by T threads, one strand per connection, requests matched to responses by id,
// pings answered with pongs. Each response is read naively: async_read of the 4-byte header,
// then async_read of the body (two read calls per message). Over TLS: the same over
// ssl::stream, one ssl::context shared by the connections, the handshake right after connect.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace tether_bench {

using raw_tcp_stream = boost::asio::ip::tcp::socket;
using raw_tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

template <class Stream> class raw_connection;

/// TLS for every connection of a raw_client; the server's certificate is verified (chain and
/// host name).
struct raw_tls {
    std::string ca_pem; ///< trusted CA certificates (PEM text); empty: the system's store
};

/// Completion of one request: the response body, or an error (the connection failed or was
/// closed, or the server answered with an error object, passed as the json).
using raw_callback = std::function<void(boost::system::error_code, nlohmann::json)>;

class raw_client {
public:
    /// Connects `links` connections to host:port one after the other (blocking; over TLS each
    /// with its handshake) and starts `io_threads` threads. Throws boost::system::system_error
    /// when a connection cannot be opened.
    raw_client(const std::string& host, std::uint16_t port, std::size_t links,
               unsigned io_threads = 2, std::optional<raw_tls> tls = std::nullopt);
    ~raw_client();
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    std::size_t links() const noexcept
    {
        return std::visit([](const auto& list) { return list.size(); }, connections_);
    }

    /// Closed loop with callers sharing connections: takes a free connection (waiting for one),
    /// sends one request, blocks for its response, gives the connection back.
    /// Throws boost::system::system_error on failure (including `timeout` without an answer).
    nlohmann::json request(const nlohmann::json& body,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// As above on connection `conn` (the caller owns it; no free list).
    nlohmann::json request(std::size_t conn, const nlohmann::json& body,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /// Pipelining: sends a request on connection `conn` at once; `done` runs on that connection's
    /// strand once the response arrives (or the connection fails). The body is serialized before
    /// this returns. Thread-safe.
    void async_request(std::size_t conn, const nlohmann::json& body, raw_callback done);

    /// Closes every connection (pending requests complete with operation_aborted) and joins the
    /// io threads. Idempotent; the destructor calls it.
    void shutdown();

private:
    template <class Stream>
    using connection_list = std::vector<std::shared_ptr<raw_connection<Stream>>>;

    /// Runs `f(connection)` on connection `conn`, whichever its stream.
    template <class F> decltype(auto) with_connection(std::size_t conn, F&& f);
    std::size_t take_free();
    void give_back(std::size_t conn);

    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::optional<boost::asio::ssl::context> tls_context_; // shared by every TLS connection
    std::variant<connection_list<raw_tcp_stream>, connection_list<raw_tls_stream>> connections_;
    std::vector<std::thread> threads_;

    // Free list of connections for request(body): a stack under a mutex, waiters on a condvar.
    std::mutex free_mutex_;
    std::condition_variable free_cv_;
    std::vector<std::size_t> free_;
};

} // namespace tether_bench
