// Plain TCP under a link: tcp_connector opens the connection; this is the byte stream.

#include "io/tcp_connector.hpp"
#include "io/transport.hpp"

#include <tether/detail/handler_memory.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace tether::detail {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

class tcp_transport final : public transport {
public:
    tcp_transport(const asio::any_io_executor& strand, const pool_config& config)
        : socket_(strand), connector_(strand, config)
    {
    }

    void async_connect(const endpoint& ep, std::shared_ptr<transport_user> user) override
    {
        connector_.async_connect(
            socket_, ep, [user = std::move(user)](const error_code& ec, std::string detail) {
                user->on_transport_connected(ec, std::move(detail));
            });
    }

    void async_read_some(asio::mutable_buffer into, std::shared_ptr<transport_user> user) override
    {
        socket_.async_read_some(into, with_handler_memory([user = std::move(user)](
                                                              const error_code& ec, std::size_t n) {
                                    user->on_transport_read(ec, n);
                                }));
    }

    void async_write(asio::const_buffer data, std::shared_ptr<transport_user> user) override
    {
        asio::async_write(
            socket_, data,
            with_handler_memory([user = std::move(user)](const error_code& ec, std::size_t) {
                user->on_transport_written(ec);
            }));
    }

    std::size_t write_now(asio::const_buffer data, error_code& ec) override
    {
        const std::size_t sent = socket_.write_some(data, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again)
            ec.clear();
        return sent;
    }

    std::size_t available(error_code& ec) override { return socket_.available(ec); }

    int release_descriptor(error_code& ec) override
    {
        protocol_ = socket_.local_endpoint(ec).protocol();
        if (ec)
            return -1;
        return socket_.release(ec);
    }

    void reattach(int fd, error_code& ec) override
    {
        socket_.assign(protocol_, fd, ec);
        if (!ec)
            socket_.non_blocking(true, ec); // write_now's sends never wait
    }

    void close(std::chrono::milliseconds) override
    {
        connector_.cancel();
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

private:
    tcp::socket socket_;
    tcp_connector connector_;
    tcp protocol_ = tcp::v4(); // of a released socket, for reattach()
};

} // namespace

std::unique_ptr<transport> make_tcp_transport(const asio::any_io_executor& strand,
                                              const pool_config& config)
{
    return std::make_unique<tcp_transport>(strand, config);
}

} // namespace tether::detail
