// The reference server's lifecycle: resolve, bind and listen, the io threads, accepting
// connections, drain and stop.

#include "server.hpp"

#include "connection.hpp"

#include <tether/testing/run_loop.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace tether::testing::detail {
namespace {

constexpr auto accept_retry_delay = std::chrono::milliseconds(50);

void validate(const echo_server_options& o)
{
    if (o.host.empty())
        throw std::invalid_argument("echo_server: host must not be empty");
    if (o.threads < 1 || o.threads > 1024)
        throw std::invalid_argument("echo_server: threads must be in 1..1024");
    if (o.ping_interval.count() < 0)
        throw std::invalid_argument("echo_server: ping_interval must not be negative");
    if (o.max_frame_size < 64)
        throw std::invalid_argument("echo_server: max_frame_size must be at least 64");
    if (o.max_json_depth < 1)
        throw std::invalid_argument("echo_server: max_json_depth must be at least 1");
    if (o.drain_timeout.count() < 0)
        throw std::invalid_argument("echo_server: drain_timeout must not be negative");
    if (o.login_token && o.login_token->empty())
        throw std::invalid_argument("echo_server: login_token must not be empty when set");
}

} // namespace

server::server(echo_server_options o)
    : opt((validate(o), std::move(o))),
      tls(opt.tls ? std::make_unique<tls_server_context>(*opt.tls) : nullptr), io(opt.threads),
      ctl(asio::make_strand(io)), acceptor(io), accept_retry_timer(io), drain_timer(io)
{
}

void server::start()
{
    // Lock order everywhere: join_mtx before mtx.
    std::lock_guard join_lock(join_mtx);
    std::lock_guard lock(mtx);
    if (st != state::idle)
        throw std::logic_error("echo_server: start() called twice");
    const auto fail = [this](const error_code& ec, const std::string& what) {
        error_code ignored;
        acceptor.close(ignored);
        throw std::system_error(ec, "echo_server: " + what);
    };
    error_code ec;
    tcp::resolver resolver(io);
    const auto results =
        resolver.resolve(opt.host, std::to_string(opt.port),
                         tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec)
        fail(ec, "cannot resolve '" + opt.host + "'");
    if (results.empty())
        fail(make_error_code(asio::error::host_not_found), "no address for '" + opt.host + "'");
    const tcp::endpoint endpoint = results.begin()->endpoint();
    const std::string where = opt.host + ":" + std::to_string(opt.port);
    if (acceptor.open(endpoint.protocol(), ec); ec)
        fail(ec, "cannot open a socket for " + where);
    if (acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec)
        fail(ec, "cannot set SO_REUSEADDR");
    if (acceptor.bind(endpoint, ec); ec)
        fail(ec, "cannot bind " + where);
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
        fail(ec, "cannot listen on " + where);
    const auto local = acceptor.local_endpoint(ec);
    if (ec)
        fail(ec, "cannot read the bound address");
    bound_port.store(local.port());

    work.emplace(io.get_executor());
    st = state::running;
    asio::post(ctl, [this] { do_accept(); });
    threads.reserve(static_cast<std::size_t>(opt.threads));
    for (int i = 0; i < opt.threads; ++i)
        threads.push_back(start_io_thread(io, "echo_server"));
}

void server::do_accept()
{
    if (accepting || draining.load() || unresponsive.load() || !acceptor.is_open())
        return;
    accepting = true;
    acceptor.async_accept(asio::make_strand(io),
                          asio::bind_executor(ctl, [this](const error_code& ec, socket_t socket) {
                              on_accept(ec, std::move(socket));
                          }));
}

void server::on_accept(const error_code& ec, socket_t socket)
{
    accepting = false;
    if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open() || draining.load())
            return;
        // EMFILE, ECONNABORTED and the like: try again shortly rather than spin.
        accept_retry_timer.expires_after(accept_retry_delay);
        accept_retry_timer.async_wait(asio::bind_executor(ctl, [this](const error_code& wait_ec) {
            if (!wait_ec)
                do_accept();
        }));
        return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    connections_accepted.fetch_add(1, std::memory_order_relaxed);
    auto c = std::make_shared<connection>(*this, std::move(socket));
    // A connection accepted just before a drain began is closed rather than served without a
    // drain deadline.
    if (add(c))
        c->post_start();
    else
        c->post_close(close_mode::fin);
    do_accept();
}

bool server::add(const std::shared_ptr<connection>& c)
{
    std::lock_guard lock(mtx);
    if (st != state::running)
        return false;
    conns.emplace(c->id(), c);
    connections_open.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void server::remove(std::uint64_t id)
{
    bool drained = false;
    {
        std::lock_guard lock(mtx);
        if (conns.erase(id) == 0)
            return;
        connections_open.fetch_sub(1, std::memory_order_relaxed);
        drained = conns.empty() && st == state::draining;
    }
    if (drained)
        asio::post(ctl, [this] { drain_timer.cancel(); });
}

std::vector<std::shared_ptr<connection>> server::snapshot()
{
    std::lock_guard lock(mtx);
    std::vector<std::shared_ptr<connection>> out;
    out.reserve(conns.size());
    for (const auto& entry : conns)
        out.push_back(entry.second);
    return out;
}

void server::begin_drain()
{
    std::vector<std::shared_ptr<connection>> open;
    {
        std::lock_guard lock(mtx);
        if (st != state::running)
            return;
        st = state::draining;
        draining.store(true);
        for (const auto& entry : conns)
            open.push_back(entry.second);
    }
    for (const auto& c : open)
        c->post_goaway();
    asio::post(ctl, [this] {
        error_code ignored;
        acceptor.close(ignored);
        accept_retry_timer.cancel();
        drain_timer.expires_after(opt.drain_timeout);
        drain_timer.async_wait(asio::bind_executor(ctl, [this](const error_code& ec) {
            if (ec)
                return;
            for (const auto& c : snapshot())
                c->post_close(close_mode::graceful);
        }));
        bool empty = false;
        {
            std::lock_guard lock(mtx);
            empty = conns.empty();
        }
        if (empty)
            drain_timer.cancel();
    });
    // From now on the io threads return once every connection and timer is done.
    std::lock_guard lock(mtx);
    work.reset();
}

void server::wait()
{
    {
        std::lock_guard lock(mtx);
        if (st == state::idle)
            return;
    }
    std::vector<std::shared_ptr<connection>> left;
    {
        std::lock_guard join_lock(join_mtx);
        for (auto& t : threads)
            if (t.joinable())
                t.join();
        threads.clear();
        if (cleaned)
            return;
        cleaned = true;
        // No io thread runs any more: whatever is still open is closed from here.
        error_code ignored;
        acceptor.close(ignored);
        left = snapshot();
        for (const auto& c : left)
            c->close_after_join();
        std::lock_guard lock(mtx);
        work.reset();
        st = state::stopped;
        draining.store(true);
    }
}

void server::stop()
{
    {
        std::lock_guard lock(mtx);
        if (st == state::idle)
            return;
        draining.store(true);
    }
    io.stop();
    wait();
}

void server::set_unresponsive(bool on)
{
    const bool was = unresponsive.exchange(on);
    if (on || !was)
        return;
    for (const auto& c : snapshot())
        c->post_resume();
    asio::post(ctl, [this] { do_accept(); });
}

void server::close_all(bool reset)
{
    for (const auto& c : snapshot())
        c->post_close(reset ? close_mode::reset : close_mode::fin);
}

} // namespace tether::testing::detail
