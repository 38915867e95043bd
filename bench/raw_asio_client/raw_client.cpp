#include "raw_client.hpp"

#include "raw_connection.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/system_error.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace asio = boost::asio;
using boost::system::error_code;
using json = nlohmann::json;

namespace tether_bench {

namespace {

asio::ssl::context make_tls_context(const raw_tls& tls)
{
    asio::ssl::context context(asio::ssl::context::tls_client);
    if (tls.ca_pem.empty())
        context.set_default_verify_paths();
    else
        context.add_certificate_authority(asio::buffer(tls.ca_pem));
    context.set_verify_mode(asio::ssl::verify_peer);
    return context;
}

template <class Stream, class... StreamArgs>
std::vector<std::shared_ptr<raw_connection<Stream>>>
open_connections(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint,
                 const std::string& host, std::size_t links, StreamArgs&... stream_args)
{
    std::vector<std::shared_ptr<raw_connection<Stream>>> connections;
    connections.reserve(links);
    for (std::size_t i = 0; i < links; ++i) {
        auto connection = std::make_shared<raw_connection<Stream>>(io, stream_args...);
        connection->connect(endpoint, host);
        connections.push_back(std::move(connection));
    }
    return connections;
}

} // namespace

raw_client::raw_client(const std::string& host, std::uint16_t port, std::size_t links,
                       unsigned io_threads, std::optional<raw_tls> tls)
    : work_(std::in_place, io_.get_executor())
{
    if (links == 0 || io_threads == 0)
        throw std::invalid_argument("raw_client: links and io_threads must be >= 1");
    asio::ip::tcp::resolver resolver(io_);
    const auto endpoint = resolver.resolve(host, std::to_string(port)).begin()->endpoint();
    if (tls) {
        tls_context_.emplace(make_tls_context(*tls));
        connections_ = open_connections<raw_tls_stream>(io_, endpoint, host, links, *tls_context_);
    } else {
        connections_ = open_connections<raw_tcp_stream>(io_, endpoint, host, links);
    }
    for (std::size_t i = 0; i < links; ++i)
        free_.push_back(i);
    std::visit(
        [](auto& list) {
            for (auto& connection : list)
                connection->start();
        },
        connections_);
    threads_.reserve(io_threads);
    for (unsigned i = 0; i < io_threads; ++i)
        threads_.emplace_back([this] { io_.run(); });
}

raw_client::~raw_client()
{
    shutdown();
}

void raw_client::shutdown()
{
    if (!work_)
        return;
    std::visit(
        [](auto& list) {
            for (auto& connection : list)
                connection->close();
        },
        connections_);
    work_.reset(); // run() returns once the closes and the failed requests are handled
    for (auto& thread : threads_)
        thread.join();
    threads_.clear();
}

template <class F> decltype(auto) raw_client::with_connection(std::size_t conn, F&& f)
{
    return std::visit([&](auto& list) -> decltype(auto) { return f(*list.at(conn)); },
                      connections_);
}

json raw_client::request(const json& body, std::chrono::milliseconds timeout)
{
    // Gives the connection back however request() leaves.
    struct lent {
        raw_client& client;
        std::size_t conn;
        ~lent() { client.give_back(conn); }
    } borrowed{*this, take_free()};
    return request(borrowed.conn, body, timeout);
}

json raw_client::request(std::size_t conn, const json& body, std::chrono::milliseconds timeout)
{
    if (!work_)
        throw boost::system::system_error(asio::error::not_connected, "raw_client: shut down");
    struct waiter {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        error_code ec;
        json reply;
    } w;
    with_connection(conn, [&](auto& connection) {
        connection.async_request(body, [&w](error_code ec, json reply) {
            std::lock_guard lock(w.m); // notify under the lock: `w` lives on the caller's stack
            w.ec = ec;
            w.reply = std::move(reply);
            w.done = true;
            w.cv.notify_one();
        });
    });
    std::unique_lock lock(w.m);
    if (!w.cv.wait_for(lock, timeout, [&] { return w.done; })) {
        // Closing fails the pending request, so the callback runs and `w` can go.
        lock.unlock();
        with_connection(conn, [](auto& connection) { connection.close(); });
        lock.lock();
        w.cv.wait(lock, [&] { return w.done; });
        throw boost::system::system_error(asio::error::timed_out, "raw_client: request");
    }
    if (w.ec)
        throw boost::system::system_error(w.ec, "raw_client: request");
    return std::move(w.reply);
}

void raw_client::async_request(std::size_t conn, const json& body, raw_callback done)
{
    with_connection(conn,
                    [&](auto& connection) { connection.async_request(body, std::move(done)); });
}

std::size_t raw_client::take_free()
{
    std::unique_lock lock(free_mutex_);
    free_cv_.wait(lock, [&] { return !free_.empty(); });
    const std::size_t conn = free_.back();
    free_.pop_back();
    return conn;
}

void raw_client::give_back(std::size_t conn)
{
    {
        std::lock_guard lock(free_mutex_);
        free_.push_back(conn);
    }
    free_cv_.notify_one();
}

} // namespace tether_bench
