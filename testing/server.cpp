#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"

#include <tether/error.hpp>
#include <tether/testing/echo_server.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tether::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using json = wire::json;
using strand_t = asio::strand<asio::io_context::executor_type>;
using socket_t = tcp::socket::rebind_executor<strand_t>::other;
using timer_t = asio::basic_waitable_timer<std::chrono::steady_clock,
                                           asio::wait_traits<std::chrono::steady_clock>, strand_t>;

constexpr std::int64_t bad_control_code = 400;
constexpr std::int64_t response_too_large_code = 413;
constexpr std::int64_t internal_error_code = 500;
constexpr std::uint64_t max_sleep_ms = 3'600'000;
constexpr std::uint64_t max_notifies = 100'000;
constexpr std::size_t shrink_read_buffer_above = std::size_t{1} << 20;
// A client that sends without reading its replies is not read from while this much output is
// waiting for it: the server's memory stays bounded and the client's sends block instead.
constexpr std::size_t max_unsent_output = std::size_t{1} << 20;
constexpr auto accept_retry_delay = std::chrono::milliseconds(50);

/// What to do about one request, read from its "$test" controls.
struct reply_plan {
    std::uint64_t id = 0;
    json body;
    std::optional<wire::error_object> error;
    std::chrono::milliseconds sleep{0};
    std::uint64_t notifies = 0;
    bool close = false;
    bool reset = false;
    bool hang = false;
    bool no_reply = false;
    bool goaway = false;
};

/// Reads the "$test" member of an object body into `plan`. Returns why the controls are invalid,
/// or an empty string when they are fine (or absent).
std::string read_controls(const json& body, reply_plan& plan)
{
    if (!body.is_object())
        return {};
    const auto t = body.find("$test");
    if (t == body.end())
        return {};
    if (!t->is_object())
        return "\"$test\" must be an object";
    for (const auto& item : t->items()) {
        const std::string& key = item.key();
        const json& value = item.value();
        if (key == "sleep_ms") {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max_sleep_ms)
                return "sleep_ms must be an integer in 0.." + std::to_string(max_sleep_ms);
            plan.sleep = std::chrono::milliseconds(static_cast<std::int64_t>(value.get<std::uint64_t>()));
        } else if (key == "notify") {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max_notifies)
                return "notify must be an integer in 0.." + std::to_string(max_notifies);
            plan.notifies = value.get<std::uint64_t>();
        } else if (key == "error") {
            if (!value.is_object())
                return "error must be an object {\"code\": int, \"message\": string}";
            const auto code = value.find("code");
            const auto text = value.find("message");
            if (code == value.end() || !code->is_number_integer() ||
                (code->is_number_unsigned() &&
                 code->get<std::uint64_t>() >
                     static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
                return "error.code must be a 64-bit integer";
            if (text == value.end() || !text->is_string())
                return "error.message must be a string";
            plan.error = wire::error_object{code->get<std::int64_t>(), text->get<std::string>()};
        } else if (key == "close" || key == "reset" || key == "hang" || key == "no_reply" ||
                   key == "goaway") {
            if (!value.is_boolean())
                return key + " must be a boolean";
            const bool on = value.get<bool>();
            (key == "close"   ? plan.close
             : key == "reset" ? plan.reset
             : key == "hang"  ? plan.hang
             : key == "goaway" ? plan.goaway
                               : plan.no_reply) = on;
        } else {
            return "unknown control \"" + key + "\"";
        }
    }
    return {};
}

class connection;

/// Everything the server shares with its connections.
struct server {
    explicit server(echo_server_options o);

    void start();
    void begin_drain();
    void wait();
    void stop();
    void set_unresponsive(bool on);
    void close_all(bool reset);

    // Connection registry.
    bool add(const std::shared_ptr<connection>& c); // false when draining/stopped: refuse it
    void remove(std::uint64_t id);
    std::vector<std::shared_ptr<connection>> snapshot();

    // ctl strand only.
    void do_accept();
    void on_accept(const error_code& ec, socket_t socket);

    enum class state { idle, running, draining, stopped };

    const echo_server_options opt;
    asio::io_context io; // first member: destroyed last, after everything that uses it
    strand_t ctl;        // acceptor, accept retry timer and drain timer live on it
    tcp::acceptor acceptor;
    asio::steady_timer accept_retry_timer;
    asio::steady_timer drain_timer;
    bool accepting = false; // ctl strand only

    std::mutex mtx; // guards st, conns, work
    state st = state::idle;
    std::unordered_map<std::uint64_t, std::shared_ptr<connection>> conns;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

    std::mutex join_mtx; // guards threads, cleaned
    std::vector<std::thread> threads;
    bool cleaned = false;

    std::atomic<bool> draining{false};
    std::atomic<bool> unresponsive{false};
    std::atomic<std::uint16_t> bound_port{0};
    std::atomic<std::uint64_t> next_conn_id{1};

    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> pings_received{0};
    std::atomic<std::uint64_t> pongs_received{0};
    std::atomic<std::uint64_t> pings_sent{0};
    std::atomic<std::uint64_t> protocol_errors{0};
    std::atomic<std::uint64_t> unknown_messages{0};
};

/// One accepted connection. Every member function not marked otherwise runs on strand_.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(server& srv, socket_t socket)
        : srv_(srv), id_(srv.next_conn_id.fetch_add(1, std::memory_order_relaxed)),
          strand_(socket.get_executor()), sock_(std::move(socket)), ping_timer_(strand_),
          dec_(srv.opt.max_frame_size)
    {
    }

    std::uint64_t id() const noexcept { return id_; }

    // Thread-safe entry points: hop onto the strand.
    void post_start()
    {
        asio::post(strand_, [self = shared_from_this()] { self->start(); });
    }
    void post_goaway()
    {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->closed_)
                return;
            self->queue(wire::goaway{"shutdown"});
            self->flush();
        });
    }
    void post_close(bool reset)
    {
        asio::post(strand_, [self = shared_from_this(), reset] { self->close(reset); });
    }
    void post_resume()
    {
        asio::post(strand_, [self = shared_from_this()] { self->resume(); });
    }

    /// Only once no io thread runs any more (final cleanup after join).
    void close_after_join() { close(false); }

private:
    bool paused() const noexcept
    {
        return hung_ || srv_.unresponsive.load();
    }

    void start()
    {
        if (closed_)
            return;
        schedule_ping();
        read();
        flush();
    }

    void resume()
    {
        if (closed_ || paused())
            return;
        process();
        read();
        flush();
    }

    bool output_backlogged() const noexcept
    {
        return out_pending_.size() + out_inflight_.size() > max_unsent_output;
    }

    void read()
    {
        if (closed_ || reading_ || peer_finished_sending_ || paused() || output_backlogged())
            return;
        if (dec_.buffered() == 0 && dec_.capacity() > shrink_read_buffer_above)
            dec_.release_if_empty();
        const auto space = dec_.prepare();
        reading_ = true;
        sock_.async_read_some(asio::buffer(space.data(), space.size()),
                              [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                  self->on_read(ec, n);
                              });
    }

    void on_read(const error_code& ec, std::size_t n)
    {
        reading_ = false;
        if (closed_)
            return;
        if (ec == asio::error::eof && !hung_) {
            // The client shut down its sending side (or closed): what it is owed is still
            // delivered — answered frames already read, sleeping replies — then the
            // connection closes.
            peer_finished_sending_ = true;
            process();
            flush();
            close_if_done();
            return;
        }
        if (ec) {
            // Reset or any other failure: the client is gone.
            close(false);
            return;
        }
        // Keep what arrived even when paused: it is answered on resume.
        dec_.commit(n);
        process();
        read();
        flush();
    }

    /// After the client's EOF: close once nothing is owed any more.
    void close_if_done()
    {
        if (peer_finished_sending_ && sleepers_.empty() && !writing_ && out_pending_.empty())
            close(false);
    }

    void process()
    {
        while (!closed_ && !paused()) {
            std::string_view payload;
            error_code ec;
            const auto status = dec_.next(payload, ec);
            if (status == wire::decode_status::need_more)
                return;
            if (status == wire::decode_status::error) {
                protocol_error();
                return;
            }
            handle(payload);
        }
    }

    void protocol_error()
    {
        srv_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        close(false);
    }

    void handle(std::string_view payload)
    {
        auto parsed = wire::parse(payload, {.from = wire::sender::client,
                                            .max_depth = srv_.opt.max_json_depth});
        if (parsed.ec) {
            protocol_error();
            return;
        }
        if (auto* p = std::get_if<wire::ping>(&parsed.msg)) {
            srv_.pings_received.fetch_add(1, std::memory_order_relaxed);
            queue(wire::pong{p->id});
        } else if (std::holds_alternative<wire::pong>(parsed.msg)) {
            srv_.pongs_received.fetch_add(1, std::memory_order_relaxed);
        } else if (auto* r = std::get_if<wire::request>(&parsed.msg)) {
            srv_.requests.fetch_add(1, std::memory_order_relaxed);
            on_request(*r);
        } else if (std::holds_alternative<wire::notify>(parsed.msg)) {
            // One-way message from the client: nothing to do.
        } else {
            // wire::unknown (unknown type or wrong direction); parse never yields a response
            // or goaway for a client, but treat them alike should it ever do so.
            srv_.unknown_messages.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void on_request(wire::request& r)
    {
        reply_plan plan;
        plan.id = r.id;
        if (std::string why = read_controls(r.body, plan); !why.empty()) {
            queue_error(r.id, bad_control_code, "echo_server: bad $test control: " + why);
            return;
        }
        plan.body = std::move(r.body);
        if (plan.sleep.count() == 0) {
            deliver(plan);
            return;
        }
        const std::uint64_t key = next_sleeper_++;
        auto& timer = sleepers_[key];
        timer = std::make_unique<timer_t>(strand_);
        timer->expires_after(plan.sleep);
        timer->async_wait([self = shared_from_this(), key,
                           plan = std::move(plan)](const error_code& ec) mutable {
            self->sleepers_.erase(key);
            if (ec || self->closed_)
                return;
            self->deliver(plan);
            self->flush();
            self->close_if_done();
        });
    }

    void deliver(reply_plan& plan)
    {
        if (closed_ || hung_)
            return;
        if (plan.close || plan.reset) {
            close(plan.reset);
            return;
        }
        if (plan.hang) {
            hang();
            return;
        }
        for (std::uint64_t i = 0; i < plan.notifies; ++i)
            queue(wire::notify{json{{"seq", i}}});
        if (!plan.no_reply) {
            if (plan.error)
                queue_error(plan.id, plan.error->code, plan.error->message);
            else
                queue_body(plan.id, plan.body);
        }
        if (plan.goaway)
            queue(wire::goaway{"test"});
    }

    void hang()
    {
        // Stop reading and answering; the socket stays open until the server stops (or the
        // drain deadline passes). A read already in flight only buffers what it gets.
        hung_ = true;
        ping_timer_.cancel();
    }

    void queue(const wire::message& m)
    {
        const auto ec = wire::serialize(m, out_pending_, srv_.opt.max_frame_size);
        if (ec)
            std::cerr << "echo_server: cannot send " << wire::type_name(m) << ": " << ec.message()
                      << '\n';
    }

    void queue_body(std::uint64_t id, const json& body)
    {
        const auto ec = wire::serialize_response(id, body, out_pending_, srv_.opt.max_frame_size);
        if (ec == make_error_code(errc::frame_too_large))
            queue_error(id, response_too_large_code, "echo_server: response exceeds max_frame_size");
        else if (ec)
            queue_error(id, internal_error_code, "echo_server: cannot encode response: " + ec.message());
    }

    void queue_error(std::uint64_t id, std::int64_t code, std::string message)
    {
        queue(wire::response{id, json{}, wire::error_object{code, std::move(message)}});
    }

    void flush()
    {
        if (closed_ || writing_ || out_pending_.empty() || paused())
            return;
        // Everything queued since the last write goes out as one write; frames queued while it
        // is in flight collect in out_pending_ for the next.
        std::swap(out_inflight_, out_pending_);
        out_pending_.clear();
        writing_ = true;
        asio::async_write(sock_, asio::buffer(out_inflight_),
                          [self = shared_from_this()](const error_code& ec, std::size_t) {
                              self->on_write(ec);
                          });
    }

    void on_write(const error_code& ec)
    {
        writing_ = false;
        out_inflight_.clear();
        if (closed_)
            return;
        if (ec) {
            close(false);
            return;
        }
        flush();
        read(); // resumes a read held back while output was backlogged
        close_if_done();
    }

    void schedule_ping()
    {
        if (srv_.opt.ping_interval.count() <= 0 || closed_ || hung_)
            return;
        ping_timer_.expires_after(srv_.opt.ping_interval);
        ping_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec || self->closed_ || self->hung_)
                return;
            if (!self->paused()) {
                self->queue(wire::ping{self->next_ping_id_++});
                self->srv_.pings_sent.fetch_add(1, std::memory_order_relaxed);
                self->flush();
            }
            self->schedule_ping();
        });
    }

    void close(bool reset)
    {
        if (closed_)
            return;
        closed_ = true;
        error_code ignored;
        if (reset)
            sock_.set_option(asio::socket_base::linger(true, 0), ignored);
        sock_.close(ignored);
        ping_timer_.cancel();
        // Destroying a timer cancels its wait; the handler still runs (and finds closed_).
        sleepers_.clear();
        out_pending_.clear();
        // out_inflight_ stays until the aborted write completes: it is that write's buffer.
        srv_.remove(id_);
    }

    server& srv_;
    const std::uint64_t id_;
    strand_t strand_;
    socket_t sock_;
    timer_t ping_timer_;
    wire::frame_decoder dec_;
    std::string out_pending_;
    std::string out_inflight_;
    std::unordered_map<std::uint64_t, std::unique_ptr<timer_t>> sleepers_;
    std::uint64_t next_sleeper_ = 0;
    std::uint64_t next_ping_id_ = 1;
    bool reading_ = false;
    bool writing_ = false;
    bool closed_ = false;
    bool hung_ = false;
    bool peer_finished_sending_ = false; // EOF read: owed replies go out, then close
};

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
}

server::server(echo_server_options o)
    : opt((validate(o), std::move(o))), io(opt.threads), ctl(asio::make_strand(io)), acceptor(io),
      accept_retry_timer(io), drain_timer(io)
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
    const auto results = resolver.resolve(opt.host, std::to_string(opt.port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service,
                                          ec);
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
    for (int i = 0; i < opt.threads; ++i) {
        threads.emplace_back([this] {
            for (;;) {
                try {
                    io.run();
                    return;
                } catch (const std::exception& e) {
                    std::cerr << "echo_server: handler threw: " << e.what() << '\n';
                }
            }
        });
    }
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
        c->post_close(false);
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
                c->post_close(false);
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
        c->post_close(reset);
}

} // namespace

struct echo_server::impl : server {
    using server::server;
};

echo_server::echo_server(echo_server_options options)
    : impl_(std::make_unique<impl>(std::move(options)))
{
}

echo_server::~echo_server()
{
    impl_->stop();
}

void echo_server::start() { impl_->start(); }
std::uint16_t echo_server::port() const { return impl_->bound_port.load(); }
void echo_server::begin_drain() { impl_->begin_drain(); }
void echo_server::wait() { impl_->wait(); }
void echo_server::drain_and_stop()
{
    impl_->begin_drain();
    impl_->wait();
}
void echo_server::stop() { impl_->stop(); }
void echo_server::set_unresponsive(bool unresponsive) { impl_->set_unresponsive(unresponsive); }
void echo_server::close_all_connections(bool reset) { impl_->close_all(reset); }

std::uint64_t echo_server::connections_accepted() const { return impl_->connections_accepted.load(); }
std::uint64_t echo_server::connections_open() const { return impl_->connections_open.load(); }
std::uint64_t echo_server::requests() const { return impl_->requests.load(); }
std::uint64_t echo_server::pings_received() const { return impl_->pings_received.load(); }
std::uint64_t echo_server::pongs_received() const { return impl_->pongs_received.load(); }
std::uint64_t echo_server::pings_sent() const { return impl_->pings_sent.load(); }
std::uint64_t echo_server::protocol_errors() const { return impl_->protocol_errors.load(); }
std::uint64_t echo_server::unknown_messages() const { return impl_->unknown_messages.load(); }

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
