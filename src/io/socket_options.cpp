#include "io/socket_options.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace tether::detail {
namespace {

void set_int(int fd, int level, int name, int value, boost::system::error_code& ec)
{
    if (ec)
        return;
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
        ec.assign(errno, boost::system::system_category());
}

} // namespace

void apply_socket_options(boost::asio::ip::tcp::socket& socket, const pool_config& config,
                          boost::system::error_code& ec)
{
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    if (ec)
        return;
    socket.set_option(boost::asio::socket_base::keep_alive(true), ec);
    const int fd = socket.native_handle();
    set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(config.tcp_keepalive.idle.count()), ec);
    set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(config.tcp_keepalive.interval.count()),
            ec);
    set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, config.tcp_keepalive.count, ec);
    set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
            static_cast<int>(config.effective_tcp_user_timeout().count()), ec);
}

} // namespace tether::detail
