// echo_server, the public class of tether_testing: a facade over detail::server (server.hpp).

#include "server.hpp"

#include <tether/testing/echo_server.hpp>

#include <memory>
#include <utility>

namespace tether::testing {

struct echo_server::impl : detail::server {
    using detail::server::server;
};

echo_server::echo_server(echo_server_options options)
    : impl_(std::make_unique<impl>(std::move(options)))
{
}

echo_server::~echo_server()
{
    impl_->stop();
}

void echo_server::start()
{
    impl_->start();
}

std::uint16_t echo_server::port() const
{
    return impl_->bound_port.load();
}

void echo_server::begin_drain()
{
    impl_->begin_drain();
}

void echo_server::wait()
{
    impl_->wait();
}

void echo_server::drain_and_stop()
{
    impl_->begin_drain();
    impl_->wait();
}

void echo_server::stop()
{
    impl_->stop();
}

void echo_server::set_unresponsive(bool unresponsive)
{
    impl_->set_unresponsive(unresponsive);
}

void echo_server::close_all_connections(bool reset)
{
    impl_->close_all(reset);
}

std::uint64_t echo_server::connections_accepted() const
{
    return impl_->connections_accepted.load();
}

std::uint64_t echo_server::connections_open() const
{
    return impl_->connections_open.load();
}

std::uint64_t echo_server::requests() const
{
    return impl_->requests.load();
}

std::uint64_t echo_server::pings_received() const
{
    return impl_->pings_received.load();
}

std::uint64_t echo_server::pongs_received() const
{
    return impl_->pongs_received.load();
}

std::uint64_t echo_server::pings_sent() const
{
    return impl_->pings_sent.load();
}

std::uint64_t echo_server::protocol_errors() const
{
    return impl_->protocol_errors.load();
}

std::uint64_t echo_server::unknown_messages() const
{
    return impl_->unknown_messages.load();
}

std::uint64_t echo_server::tls_handshake_failures() const
{
    return impl_->tls_handshake_failures.load();
}

std::unique_ptr<echo_server> start_echo_server(std::uint16_t port, int threads)
{
    echo_server_options o;
    o.port = port;
    o.threads = threads;
    auto s = std::make_unique<echo_server>(o);
    s->start();
    return s;
}

} // namespace tether::testing
