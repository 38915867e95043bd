// Plain TCP under a link: resolve (Asio's resolver, or the application's resolver seam),
// connect, socket options, and the byte stream.

#include "io/socket_options.hpp"
#include "io/transport.hpp"

#include <tether/detail/handler_memory.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <string>
#include <vector>

namespace tether::detail {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

class tcp_transport final : public transport {
public:
    tcp_transport(const asio::any_io_executor& strand, const pool_config& config)
        : config_(config), socket_(strand), resolver_(strand)
    {
    }

    void async_connect(const endpoint& ep, std::shared_ptr<transport_user> user) override
    {
        error_code ec;
        const auto address = asio::ip::make_address(ep.host, ec);
        if (!ec) { // numeric host: no resolver involved
            socket_.async_connect({address, ep.port}, [this, &ep, user](const error_code& e) {
                on_connected(ep, e, user);
            });
            return;
        }
        if (config_.resolver) {
            resolve_with_seam(ep, std::move(user));
            return;
        }
        resolver_.async_resolve(
            ep.host, std::to_string(ep.port),
            [this, &ep, user](const error_code& e, const tcp::resolver::results_type& results) {
                if (e) {
                    user->on_transport_connected(e,
                                                 "resolve " + to_string(ep) + ": " + e.message());
                    return;
                }
                connect_any(ep, results, user);
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

    void close() override
    {
        resolver_.cancel();
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

private:
    void resolve_with_seam(const endpoint& ep, std::shared_ptr<transport_user> user)
    {
        std::vector<std::string> names;
        std::error_code rec;
        try {
            rec = config_.resolver(ep, names);
        } catch (const std::exception& e) {
            user->on_transport_connected(asio::error::host_not_found,
                                         "resolve " + to_string(ep) +
                                             ": resolver threw: " + e.what());
            return;
        }
        std::vector<tcp::endpoint> targets;
        for (const auto& name : names) {
            error_code aec;
            const auto address = asio::ip::make_address(name, aec);
            if (!aec)
                targets.emplace_back(address, ep.port);
        }
        if (rec || targets.empty()) {
            user->on_transport_connected(
                asio::error::host_not_found,
                "resolve " + to_string(ep) + ": " +
                    (rec ? rec.message() : std::string("no usable address")));
            return;
        }
        connect_any(ep, targets, std::move(user));
    }

    template <class Endpoints>
    void connect_any(const endpoint& ep, const Endpoints& targets,
                     std::shared_ptr<transport_user> user)
    {
        asio::async_connect(socket_, targets,
                            [this, &ep, user](const error_code& e, const tcp::endpoint&) {
                                on_connected(ep, e, user);
                            });
    }

    void on_connected(const endpoint& ep, const error_code& ec,
                      const std::shared_ptr<transport_user>& user)
    {
        if (ec) {
            user->on_transport_connected(ec, "connect " + to_string(ep) + ": " + ec.message());
            return;
        }
        error_code opt_ec;
        apply_socket_options(socket_, config_, opt_ec);
        if (!opt_ec) // for write_now's direct sends; Asio's asynchronous operations do not mind
            socket_.non_blocking(true, opt_ec);
        if (opt_ec) {
            user->on_transport_connected(opt_ec, "socket options " + to_string(ep) + ": " +
                                                     opt_ec.message());
            return;
        }
        user->on_transport_connected({}, {});
    }

    const pool_config& config_;
    tcp::socket socket_;
    tcp::resolver resolver_;
};

} // namespace

std::unique_ptr<transport> make_tcp_transport(const asio::any_io_executor& strand,
                                              const pool_config& config)
{
    return std::make_unique<tcp_transport>(strand, config);
}

} // namespace tether::detail
