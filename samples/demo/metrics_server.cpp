// A minimal HTTP server with Boost.Beast: one io thread, a coroutine per connection.

#include "metrics_server.hpp"

#include <tether/metrics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <thread>

namespace demo {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto no_throw = asio::as_tuple(asio::use_awaitable);

http::response<http::string_body> respond(const http::request<http::string_body>& req,
                                          const tether::pool& pool)
{
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
    } else if (req.target() != "/metrics") {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain");
        res.body() = "not found: try /metrics\n";
    } else {
        res.set(http::field::content_type, tether::prometheus_text_content_type);
        res.body() = pool.metrics_text();
    }
    res.prepare_payload();
    if (req.method() == http::verb::head)
        res.body().clear(); // Content-Length stays that of the GET
    return res;
}

asio::awaitable<void> serve(tcp::socket socket, tether::pool pool)
{
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        stream.expires_after(std::chrono::seconds(30)); // an idle or stuck client goes
        if (auto [ec, n] = co_await http::async_read(stream, buffer, req, no_throw); ec)
            break;
        auto res = respond(req, pool);
        if (auto [ec, n] = co_await http::async_write(stream, res, no_throw); ec)
            break;
        if (!res.keep_alive())
            break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, tether::pool pool)
{
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(no_throw);
        if (ec == asio::error::operation_aborted)
            co_return;
        if (!ec)
            asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), pool), asio::detached);
    }
}

} // namespace

struct metrics_server::impl {
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
};

metrics_server::metrics_server(tether::pool pool, std::uint16_t port)
    : impl_(std::make_unique<impl>())
{
    const tcp::endpoint at{asio::ip::address_v4::loopback(), port};
    impl_->acceptor.open(at.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(at);
    impl_->acceptor.listen();
    asio::co_spawn(impl_->io, accept_loop(impl_->acceptor, std::move(pool)), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

metrics_server::~metrics_server()
{
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t metrics_server::port() const noexcept
{
    return impl_->acceptor.local_endpoint().port();
}

} // namespace demo
