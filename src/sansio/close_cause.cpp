#include "sansio/close_cause.hpp"

#include <tether/error.hpp>

namespace tether::sansio {

const char* to_string(close_cause c) noexcept
{
    switch (c) {
    case close_cause::connection_lost:
        return "connection_lost";
    case close_cause::dead:
        return "dead";
    case close_cause::goaway:
        return "goaway";
    case close_cause::retired:
        return "retired";
    case close_cause::protocol_error:
        return "protocol_error";
    case close_cause::pool_closed:
        return "pool_closed";
    }
    return "connection_lost";
}

close_cause cause_of_close(const boost::system::error_code& reason, bool died_silently,
                           bool got_goaway) noexcept
{
    if (reason == errc::pool_closed)
        return close_cause::pool_closed;
    // Drained on purpose: by the server (goaway) or by the pool (retirement, discard).
    if (reason == errc::connection_draining)
        return got_goaway ? close_cause::goaway : close_cause::retired;
    if (died_silently)
        return close_cause::dead;
    if (reason == errc::protocol_error || reason == errc::frame_too_large)
        return close_cause::protocol_error;
    return close_cause::connection_lost;
}

} // namespace tether::sansio
