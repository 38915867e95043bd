#include "outcome.hpp"

#include "test_env.hpp"

#include <tether/error.hpp>

#include <boost/asio/error.hpp>

#include <array>
#include <string_view>

namespace soak {

namespace {

template <class Code> std::string name_of(const Code& ec)
{
    if (!ec)
        return "ok";
    for (int v = 1; tether::test::errc_name(v) != "?"; ++v)
        if (ec == static_cast<tether::errc>(v))
            return std::string(tether::test::errc_name(v));
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
