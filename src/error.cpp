#include <tether/error.hpp>

namespace tether {
namespace {

class tether_category final : public boost::system::error_category {
public:
    // A fixed id makes the category compare equal across shared-object boundaries.
    constexpr tether_category() noexcept : boost::system::error_category(0x74657468'65720001ULL) {}

    const char* name() const noexcept override { return "tether"; }

    std::string message(int value) const override
    {
        switch (static_cast<errc>(value)) {
        case errc::acquire_timeout:
            return "no connection became available within acquire_timeout";
        case errc::pool_closed:
            return "the pool is shut down";
        case errc::connect_failed:
            return "connecting failed (resolve, TCP connect or the proving ping/pong)";
        case errc::no_endpoint_available:
            return "no endpoint is available: every endpoint is backing off after failed connects";
        case errc::connection_lost:
            return "the connection was lost";
        case errc::connection_draining:
            return "the connection is draining (server sent goaway); nothing was sent, retry on "
                   "another lease";
        case errc::request_timeout:
            return "no response within request_timeout";
        case errc::protocol_error:
            return "the peer violated the wire protocol";
        case errc::frame_too_large:
            return "frame larger than max_frame_size";
        case errc::server_error:
            return "the server answered with an error";
        case errc::too_many_waiters:
            return "too many callers already wait to acquire (max_waiters)";
        case errc::too_many_requests:
            return "too many requests in flight on this connection (max_outstanding_per_link)";
        case errc::invalid_lease:
            return "the lease is empty, moved-from or released";
        case errc::would_block_io_thread:
            return "a blocking call on one of the pool's own io threads would deadlock; use the "
                   "async form";
        case errc::invalid_argument:
            return "the value cannot be sent (e.g. a string is not UTF-8)";
        case errc::tls_handshake_failed:
            return "the TLS handshake failed (certificate not verified, or no common protocol)";
        }
        return "unknown tether error " + std::to_string(value);
    }
};

} // namespace

const boost::system::error_category& error_category() noexcept
{
    static const tether_category instance;
    return instance;
}

server_error::server_error(long long server_code, std::string server_message)
    : error(make_error_code(errc::server_error),
            "server error " + std::to_string(server_code) + ": " + server_message),
      server_code_(server_code), server_message_(std::move(server_message))
{
}

config_error::config_error(std::string setting, const std::string& rule)
    : std::invalid_argument("tether config: " + setting + ": " + rule), setting_(std::move(setting))
{
}

} // namespace tether
