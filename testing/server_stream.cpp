#include "server_stream.hpp"

namespace tether::testing::detail {
server_stream::any_stream server_stream::make(socket_t socket, asio::ssl::context* tls)
{
    if (tls)
        return any_stream(std::in_place_type<tls_stream>, std::move(socket), *tls);
    return any_stream(std::in_place_type<socket_t>, std::move(socket));
}

server_stream::server_stream(socket_t socket, asio::ssl::context* tls)
    : stream_(make(std::move(socket), tls))
{
}

socket_t& server_stream::socket() noexcept
{
    if (auto* tls = std::get_if<tls_stream>(&stream_))
        return tls->next_layer();
    return std::get<socket_t>(stream_);
}

void server_stream::cancel()
{
    error_code ignored;
    socket().cancel(ignored);
}

void server_stream::close(bool reset)
{
    error_code ignored;
    if (reset)
        socket().set_option(asio::socket_base::linger(true, 0), ignored);
    socket().close(ignored);
}

} // namespace tether::testing::detail
