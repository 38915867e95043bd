#pragma once

// The reference server's state shared by its parts: the acceptor and the io threads, the
// registry of open connections, the lifecycle (run, drain, stop) and the counters. echo_server
// (the public class) is a thin facade over it; connection.hpp is one accepted client.

#include "tls_context.hpp"

#include <tether/testing/echo_server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tether::testing::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using strand_t = asio::strand<asio::io_context::executor_type>;
using socket_t = tcp::socket::rebind_executor<strand_t>::other;
using timer_t = asio::basic_waitable_timer<std::chrono::steady_clock,
                                           asio::wait_traits<std::chrono::steady_clock>, strand_t>;

class connection;

/// Everything the server shares with its connections.
struct server {
    explicit server(echo_server_options o);

    void start();
    void begin_drain();
    void wait();
    void stop();
    void set_unresponsive(bool on);
    void close_all(bool reset);

    // Connection registry.
    bool add(const std::shared_ptr<connection>& c); // false when draining/stopped: refuse it
    void remove(std::uint64_t id);
    std::vector<std::shared_ptr<connection>> snapshot();

    // ctl strand only.
    void do_accept();
    void on_accept(const error_code& ec, socket_t socket);

    enum class state { idle, running, draining, stopped };

    const echo_server_options opt;
    const std::unique_ptr<tls_server_context> tls; // null: plaintext
    asio::io_context io; // first member: destroyed last, after everything that uses it
    strand_t ctl;        // acceptor, accept retry timer and drain timer live on it
    tcp::acceptor acceptor;
    asio::steady_timer accept_retry_timer;
    asio::steady_timer drain_timer;
    bool accepting = false; // ctl strand only

    std::mutex mtx; // guards st, conns, work
    state st = state::idle;
    std::unordered_map<std::uint64_t, std::shared_ptr<connection>> conns;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

    std::mutex join_mtx; // guards threads, cleaned
    std::vector<std::thread> threads;
    bool cleaned = false;

    std::atomic<bool> draining{false};
    std::atomic<bool> unresponsive{false};
    std::atomic<std::uint16_t> bound_port{0};
    std::atomic<std::uint64_t> next_conn_id{1};

    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> pings_received{0};
    std::atomic<std::uint64_t> pongs_received{0};
    std::atomic<std::uint64_t> pings_sent{0};
    std::atomic<std::uint64_t> protocol_errors{0};
    std::atomic<std::uint64_t> unknown_messages{0};
    std::atomic<std::uint64_t> tls_handshake_failures{0};
};

} // namespace tether::testing::detail
