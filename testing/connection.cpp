#include "connection.hpp"

#include <tether/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <iostream>
#include <utility>

namespace tether::testing::detail {
namespace {

using json = wire::json;

constexpr std::int64_t response_too_large_code = 413;
constexpr std::int64_t internal_error_code = 500;
constexpr std::size_t shrink_read_buffer_above = std::size_t{1} << 20;
// A client that sends without reading its replies is not read from while this much output is
// waiting for it: the server's memory stays bounded and the client's sends block instead.
constexpr std::size_t max_unsent_output = std::size_t{1} << 20;
// How long a graceful TLS close waits for its close_notify to go out and the client's to come
// back before it closes the socket anyway.
constexpr auto tls_shutdown_timeout = std::chrono::seconds(1);

} // namespace

connection::connection(server& srv, socket_t socket)
    : srv_(srv), id_(srv.next_conn_id.fetch_add(1, std::memory_order_relaxed)),
      strand_(socket.get_executor()),
      stream_(std::move(socket), srv.tls ? &srv.tls->context() : nullptr), ping_timer_(strand_),
      tls_deadline_(strand_), dec_(srv.opt.max_frame_size)
{
}

void connection::post_start()
{
    asio::post(strand_, [self = shared_from_this()] { self->start(); });
}

void connection::post_goaway()
{
    asio::post(strand_, [self = shared_from_this()] {
        if (self->closed_)
            return;
        self->queue(wire::goaway{"shutdown"});
        self->flush();
    });
}

void connection::post_close(close_mode how)
{
    asio::post(strand_, [self = shared_from_this(), how] { self->close(how); });
}

void connection::post_resume()
{
    asio::post(strand_, [self = shared_from_this()] { self->resume(); });
}

bool connection::paused() const noexcept
{
    return hung_ || srv_.unresponsive.load();
}

void connection::start()
{
    if (closed_)
        return;
    if (!stream_.is_tls()) {
        serve();
        return;
    }
    tls_deadline_.expires_after(srv_.opt.tls->handshake_timeout);
    tls_deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec && !self->closed_ && !self->established_)
            self->handshake_failed();
    });
    stream_.async_handshake(
        [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
}

void connection::on_handshake(const error_code& ec)
{
    if (closed_)
        return;
    if (ec) {
        handshake_failed();
        return;
    }
    tls_deadline_.cancel();
    serve();
}

void connection::handshake_failed()
{
    srv_.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    close(close_mode::fin);
}

void connection::serve()
{
    established_ = true;
    schedule_ping();
    read();
    flush(); // a goaway queued during the handshake
}

void connection::resume()
{
    if (closed_ || paused())
        return;
    process();
    read();
    flush();
    close_if_done(); // a close_notify that arrived while paused
}

bool connection::output_backlogged() const noexcept
{
    return out_pending_.size() + out_inflight_.size() > max_unsent_output;
}

void connection::read()
{
    if (closed_ || !established_ || reading_ || peer_finished_sending_ || close_after_output_ ||
        paused() || output_backlogged())
        return;
    if (dec_.buffered() == 0 && dec_.capacity() > shrink_read_buffer_above)
        dec_.release_if_empty();
    const auto space = dec_.prepare();
    reading_ = true;
    stream_.async_read_some(
        asio::buffer(space.data(), space.size()),
        [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void connection::on_read(const error_code& ec, std::size_t n)
{
    reading_ = false;
    if (closed_) {
        continue_tls_shutdown(); // this read was cancelled for it
        return;
    }
    if (ec == asio::error::eof && stream_.is_tls() && paused()) {
        // The client's close_notify. A paused connection reads nothing, so it does not answer
        // it either: resume() does, if it ever comes.
        peer_finished_sending_ = true;
        return;
    }
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
        // Reset, a TLS stream truncated or any other failure: the client is gone.
        close(close_mode::fin);
        return;
    }
    // Keep what arrived even when paused: it is answered on resume.
    dec_.commit(n);
    process();
    read();
    flush();
}

void connection::close_if_done()
{
    if (writing_ || !out_pending_.empty())
        return;
    if (close_after_output_)
        close(close_mode::fin);
    else if (peer_finished_sending_ && sleepers_.empty() && !(stream_.is_tls() && paused()))
        close(close_mode::graceful);
}

void connection::process()
{
    while (!closed_ && !paused() && !close_after_output_) {
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

void connection::protocol_error()
{
    srv_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
    close(close_mode::graceful);
}

void connection::handle(std::string_view payload)
{
    auto parsed =
        wire::parse(payload, {.from = wire::sender::client, .max_depth = srv_.opt.max_json_depth});
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

void connection::on_request_before_login(const wire::request& r)
{
    const auto& token = *srv_.opt.login_token;
    const auto op = r.body.find("op"); // end() for anything but an object
    if (op == r.body.end() || *op != "login") {
        queue_error(r.id, login_refused_code, "login required");
        return;
    }
    const auto given = r.body.find("token");
    if (given == r.body.end() || !given->is_string() || *given != token) {
        queue_error(r.id, login_refused_code, "bad token");
        return;
    }
    logged_in_ = true;
    queue_body(r.id, wire::json{{"op", "login"}, {"ok", true}});
}

void connection::on_request(wire::request& r)
{
    if (srv_.opt.login_token && !logged_in_) {
        on_request_before_login(r);
        return;
    }
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
    timer->async_wait(
        [self = shared_from_this(), key, plan = std::move(plan)](const error_code& ec) mutable {
            self->sleepers_.erase(key);
            if (ec || self->closed_)
                return;
            self->deliver(plan);
            self->flush();
            self->close_if_done();
        });
}

void connection::deliver(reply_plan& plan)
{
    if (closed_ || hung_ || close_after_output_)
        return;
    if (plan.close || plan.reset) {
        close(plan.reset ? close_mode::reset : close_mode::graceful);
        return;
    }
    if (plan.hang) {
        hang();
        return;
    }
    for (std::uint64_t i = 0; i < plan.notifies; ++i)
        queue(wire::notify{json{{"seq", i}}});
    if (plan.truncate) {
        queue_truncated_reply(plan);
        return;
    }
    if (!plan.no_reply)
        queue_reply(plan);
    if (plan.goaway)
        queue(wire::goaway{"test"});
}

void connection::queue_truncated_reply(const reply_plan& plan)
{
    // The reply's frame is queued whole, then cut in half: the length prefix and part of the
    // payload go out, then FIN without close_notify (close_if_done).
    const std::size_t before = out_pending_.size();
    queue_reply(plan);
    out_pending_.resize(before + (out_pending_.size() - before) / 2);
    close_after_output_ = true;
    ping_timer_.cancel();
}

void connection::hang()
{
    // Stop reading and answering; the socket stays open until the server stops (or the
    // drain deadline passes). A read already in flight only buffers what it gets.
    hung_ = true;
    ping_timer_.cancel();
}

void connection::queue(const wire::message& m)
{
    if (close_after_output_)
        return; // nothing may follow a truncated frame
    const auto ec = wire::serialize(m, out_pending_, srv_.opt.max_frame_size);
    if (ec)
        std::cerr << "echo_server: cannot send " << wire::type_name(m) << ": " << ec.message()
                  << '\n';
}

void connection::queue_reply(const reply_plan& plan)
{
    if (plan.error)
        queue_error(plan.id, plan.error->code, plan.error->message);
    else
        queue_body(plan.id, plan.body);
}

void connection::queue_body(std::uint64_t id, const json& body)
{
    const auto ec = wire::serialize_response(id, body, out_pending_, srv_.opt.max_frame_size);
    if (ec == make_error_code(errc::frame_too_large))
        queue_error(id, response_too_large_code, "echo_server: response exceeds max_frame_size");
    else if (ec)
        queue_error(id, internal_error_code,
                    "echo_server: cannot encode response: " + ec.message());
}

void connection::queue_error(std::uint64_t id, std::int64_t code, std::string message)
{
    queue(wire::response{id, json{}, wire::error_object{code, std::move(message)}});
}

void connection::flush()
{
    if (closed_ || !established_ || writing_ || out_pending_.empty() || paused())
        return;
    // Everything queued since the last write goes out as one write; frames queued while it
    // is in flight collect in out_pending_ for the next.
    std::swap(out_inflight_, out_pending_);
    out_pending_.clear();
    writing_ = true;
    stream_.async_write(
        asio::buffer(out_inflight_),
        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
}

void connection::on_write(const error_code& ec)
{
    writing_ = false;
    out_inflight_.clear();
    if (closed_) {
        continue_tls_shutdown(); // close_notify waited for this write
        return;
    }
    if (ec) {
        close(close_mode::fin);
        return;
    }
    flush();
    read(); // resumes a read held back while output was backlogged
    close_if_done();
}

void connection::schedule_ping()
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

void connection::close(close_mode how)
{
    if (socket_closed_)
        return;
    if (how != close_mode::graceful || !stream_.is_tls() || !established_) {
        close_socket(how);
        return;
    }
    if (closed_)
        return; // close_notify already under way
    stop_serving();
    tls_deadline_.expires_after(tls_shutdown_timeout);
    tls_deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec)
            self->close_socket(close_mode::fin);
    });
    continue_tls_shutdown();
}

void connection::stop_serving()
{
    closed_ = true;
    ping_timer_.cancel();
    // Destroying a timer cancels its wait; the handler still runs (and finds closed_).
    sleepers_.clear();
    out_pending_.clear();
    // out_inflight_ stays until the write in flight completes: it is that write's buffer.
}

void connection::continue_tls_shutdown()
{
    // close_notify goes out after the write in flight (not in the middle of a record), and the
    // shutdown needs the read side to itself: a read in flight is cancelled, and on_read comes
    // back here.
    if (!closed_ || socket_closed_ || tls_shutdown_started_ || writing_)
        return;
    if (reading_) {
        stream_.cancel();
        return;
    }
    tls_shutdown_started_ = true;
    stream_.async_shutdown(
        [self = shared_from_this()](const error_code&) { self->close_socket(close_mode::fin); });
}

void connection::close_socket(close_mode how)
{
    if (socket_closed_)
        return;
    socket_closed_ = true;
    stop_serving();
    tls_deadline_.cancel();
    stream_.close(how == close_mode::reset);
    srv_.remove(id_);
}

} // namespace tether::testing::detail
