#pragma once

// Opens a TCP connection for a transport: resolves the endpoint (Asio's resolver, or the
// application's resolver seam; nothing for a numeric host), connects to the first address
// that answers, applies the socket options (socket_options.hpp) and non-blocking mode. Plain
// TCP and TLS both start with it.

#include <tether/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <string>

namespace tether::detail {

class tcp_connector {
public:
    /// `ec` and, on failure, what failed in words ("resolve h:p: ...", "connect h:p: ...").
    using done_function =
        std::function<void(const boost::system::error_code& ec, std::string detail)>;

    tcp_connector(const boost::asio::any_io_executor& strand, const pool_config& config)
        : config_(config), resolver_(strand)
    {
    }

    /// Connects `socket` to `ep`; `done` is called exactly once, on the strand. `socket`,
    /// `ep` and this object must outlive the operation (its owner keeps them in `done`).
    void async_connect(boost::asio::ip::tcp::socket& socket, const endpoint& ep,
                       done_function done);
    /// Stops a resolution in flight (the socket's owner closes the socket).
    void cancel() { resolver_.cancel(); }

private:
    void resolve_with_seam(boost::asio::ip::tcp::socket& socket, const endpoint& ep,
                           done_function done);
    template <class Endpoints>
    void connect_any(boost::asio::ip::tcp::socket& socket, const endpoint& ep,
                     const Endpoints& targets, done_function done);
    void on_connected(boost::asio::ip::tcp::socket& socket, const endpoint& ep,
                      const boost::system::error_code& ec, const done_function& done);

    const pool_config& config_;
    boost::asio::ip::tcp::resolver resolver_;
};

} // namespace tether::detail
