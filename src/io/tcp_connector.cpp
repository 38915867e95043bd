#include "io/tcp_connector.hpp"

#include "io/socket_options.hpp"

#include <boost/asio/connect.hpp>

#include <vector>

namespace tether::detail {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

void tcp_connector::async_connect(tcp::socket& socket, const endpoint& ep, done_function done)
{
    error_code ec;
    const auto address = asio::ip::make_address(ep.host, ec);
    if (!ec) { // numeric host: no resolver involved
        socket.async_connect({address, ep.port},
                             [this, &socket, &ep, done = std::move(done)](const error_code& e) {
                                 on_connected(socket, ep, e, done);
                             });
        return;
    }
    if (config_.resolver) {
        resolve_with_seam(socket, ep, std::move(done));
        return;
    }
    resolver_.async_resolve(ep.host, std::to_string(ep.port),
                            [this, &socket, &ep, done = std::move(done)](
                                const error_code& e, const tcp::resolver::results_type& results) {
                                if (e) {
                                    done(e, "resolve " + to_string(ep) + ": " + e.message());
                                    return;
                                }
                                connect_any(socket, ep, results, done);
                            });
}

void tcp_connector::resolve_with_seam(tcp::socket& socket, const endpoint& ep, done_function done)
{
    std::vector<std::string> names;
    std::error_code rec;
    try {
        rec = config_.resolver(ep, names);
    } catch (const std::exception& e) {
        done(asio::error::host_not_found,
             "resolve " + to_string(ep) + ": resolver threw: " + e.what());
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
        done(asio::error::host_not_found,
             "resolve " + to_string(ep) + ": " +
                 (rec ? rec.message() : std::string("no usable address")));
        return;
    }
    connect_any(socket, ep, targets, std::move(done));
}

template <class Endpoints>
void tcp_connector::connect_any(tcp::socket& socket, const endpoint& ep, const Endpoints& targets,
                                done_function done)
{
    asio::async_connect(
        socket, targets,
        [this, &socket, &ep, done = std::move(done)](const error_code& e, const tcp::endpoint&) {
            on_connected(socket, ep, e, done);
        });
}

void tcp_connector::on_connected(tcp::socket& socket, const endpoint& ep, const error_code& ec,
                                 const done_function& done)
{
    if (ec) {
        done(ec, "connect " + to_string(ep) + ": " + ec.message());
        return;
    }
    error_code opt_ec;
    apply_socket_options(socket, config_, opt_ec);
    if (!opt_ec) // for direct sends; Asio's asynchronous operations do not mind
        socket.non_blocking(true, opt_ec);
    if (opt_ec) {
        done(opt_ec, "socket options " + to_string(ep) + ": " + opt_ec.message());
        return;
    }
    done({}, {});
}

} // namespace tether::detail
