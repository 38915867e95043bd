#include "loopback_acceptor.hpp"

#include <boost/system/system_error.hpp>

#include <chrono>
#include <system_error>
#include <utility>

namespace tether::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto accept_retry_delay = std::chrono::milliseconds(10);

tcp::acceptor bind_loopback(asio::io_context& ioc, const char* what)
{
    try {
        return tcp::acceptor(ioc, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    } catch (const boost::system::system_error& e) {
        throw std::system_error(e.code(), what);
    }
}

} // namespace

loopback_acceptor::loopback_acceptor(const char* what)
    : acceptor_(bind_loopback(ioc_, what)), accept_retry_(ioc_)
{
    port_ = acceptor_.local_endpoint().port();
}

loopback_acceptor::~loopback_acceptor()
{
    stop();
    // Members go in reverse order: the retry timer, the acceptor, then the io_context with the
    // handlers it still holds.
}

void loopback_acceptor::start(unsigned threads, accept_handler on_accept)
{
    on_accept_ = std::move(on_accept);
    work_.emplace(ioc_.get_executor());
    accept();
    const unsigned n = threads == 0 ? 1 : (threads > 2 ? 2 : threads);
    for (unsigned i = 0; i < n; ++i)
        threads_.emplace_back([this] { ioc_.run(); });
}

void loopback_acceptor::stop()
{
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_)
        if (t.joinable())
            t.join();
    threads_.clear();
}

// The accept chain runs on the io_context, never concurrently with itself.
void loopback_acceptor::accept()
{
    acceptor_.async_accept(asio::make_strand(ioc_), [this](error_code ec, socket_t client) {
        if (ec == asio::error::operation_aborted)
            return;
        if (ec) { // e.g. out of descriptors: retry a little later
            accept_retry_.expires_after(accept_retry_delay);
            accept_retry_.async_wait([this](error_code wait_ec) {
                if (!wait_ec)
                    accept();
            });
            return;
        }
        error_code ignored;
        client.set_option(tcp::no_delay(true), ignored);
        on_accept_(std::move(client));
        accept();
    });
}

} // namespace tether::test
