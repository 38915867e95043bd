#include "outcome.hpp"

#include <tether/error.hpp>

#include <boost/asio/error.hpp>

#include <array>
#include <string_view>

namespace soak {

namespace {

// Indexed by the value of tether::errc (error.hpp); 0 is success.
constexpr std::array<std::string_view, 16> errc_names{
    "ok",
    "acquire_timeout",
    "pool_closed",
    "connect_failed",
    "no_endpoint_available",
    "connection_lost",
    "connection_draining",
    "request_timeout",
    "protocol_error",
    "frame_too_large",
    "server_error",
    "too_many_waiters",
    "too_many_requests",
    "invalid_lease",
    "would_block_io_thread",
    "invalid_argument",
};

template <class Code> std::string name_of(const Code& ec)
{
    if (!ec)
        return "ok";
    for (std::size_t v = 1; v < errc_names.size(); ++v)
        if (ec == static_cast<tether::errc>(v))
            return std::string(errc_names[v]);
    return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

} // namespace

std::string outcome_of(const boost::system::error_code& ec)
{
    if (ec == boost::asio::error::operation_aborted)
        return "operation_aborted";
    return name_of(ec);
}

std::string outcome_of(const std::error_code& ec)
{
    return name_of(ec);
}

} // namespace soak
