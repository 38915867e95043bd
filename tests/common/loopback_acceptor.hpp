#pragma once

// The acceptor plumbing the test fixtures share (fault_proxy, scripted_server): an io_context
// run by its own threads (1 or 2), an acceptor bound to 127.0.0.1 (ephemeral port) and the accept
// chain, which retries a little later when an accept fails (e.g. out of descriptors).
//
// Each accepted socket is handed to `on_accept` on an io thread, on a strand of its own and with
// TCP_NODELAY set. The accept chain never runs concurrently with itself.
//
// Shutdown is in two steps so that the owner can drop its own references to connections while
// nothing runs but before the io_context (and the handlers it still holds) goes: the owner calls
// stop() (stops and joins the io threads), clears its registry, then destroys the acceptor.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

namespace tether::test {

class loopback_acceptor {
public:
    using strand_t = boost::asio::strand<boost::asio::io_context::executor_type>;
    using socket_t = boost::asio::basic_stream_socket<boost::asio::ip::tcp, strand_t>;
    using accept_handler = std::function<void(socket_t)>;

    /// Creates the io_context and binds 127.0.0.1:0; a failure throws std::system_error whose
    /// what() starts with `what`. Nothing is accepted and no thread runs until start().
    explicit loopback_acceptor(const char* what);
    /// stop(), then destroys the retry timer, the acceptor and the io_context (with every
    /// handler it still holds).
    ~loopback_acceptor();

    loopback_acceptor(const loopback_acceptor&) = delete;
    loopback_acceptor& operator=(const loopback_acceptor&) = delete;

    /// Starts the accept chain and `threads` io threads (clamped to 1..2). Call once.
    void start(unsigned threads, accept_handler on_accept);

    /// Stops the io_context and joins the io threads; nothing runs afterwards. Idempotent; must
    /// not be called on an io thread.
    void stop();

    /// The port bound (127.0.0.1).
    std::uint16_t port() const { return port_; }
    boost::asio::io_context& io_context() { return ioc_; }

private:
    void accept();

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer accept_retry_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::uint16_t port_ = 0;
    accept_handler on_accept_;
    std::vector<std::thread> threads_;
};

} // namespace tether::test
