#pragma once

// TCP options of a pooled connection: TCP_NODELAY, SO_KEEPALIVE with TCP_KEEPIDLE /
// TCP_KEEPINTVL / TCP_KEEPCNT, and TCP_USER_TIMEOUT so unacknowledged writes to a vanished
// peer fail instead of retrying for ~15 minutes.

#include <tether/config.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace tether::detail {

void apply_socket_options(boost::asio::ip::tcp::socket& socket, const pool_config& config,
                          boost::system::error_code& ec);

} // namespace tether::detail
