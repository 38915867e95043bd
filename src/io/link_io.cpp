// A link's byte stream: reads decoded into messages, each dispatched by its type; the write
// queue that coalesces frames into one write; pings and pongs sent directly when nothing else
// is queued.

#include "io/frame_scratch.hpp"
#include "io/link.hpp"
#include "sansio/control_fast_path.hpp"
#include "sansio/message.hpp"

#include <tether/error.hpp>

namespace tether::detail {
namespace asio = boost::asio;
using boost::system::error_code;

// ---- reading ----------------------------------------------------------------------------------

void link::start_read()
{
    const auto space = decoder_.prepare();
    transport_->async_read_some(asio::buffer(space.data(), space.size()), shared_from_this());
}

void link::on_transport_read(const error_code& ec, std::size_t n)
{
    if (watch_ == watch_state::releasing && on_released_read(ec))
        return;
    if (read_restart_pending_) { // the read a reattach overtook (see link_watch.cpp)
        read_restart_pending_ = false;
        if (ec == asio::error::operation_aborted) {
            if (fsm_.state() != sansio::link_state::closed)
                start_read();
            return;
        }
    }
    if (fsm_.state() == sansio::link_state::closed)
        return;
    if (ec) {
        if (fsm_.opening()) { // a connect failure: say why
            const bool tls = ec == errc::tls_handshake_failed;
            connect_detail_ = tls ? transport_->describe(ec)
                                  : "reading the proving pong from " + to_string(peer()) + ": " +
                                        transport_->describe(ec);
            perform(fsm_.on_failure(tls ? ec : make_error_code(errc::connection_lost)));
            return;
        }
        connect_detail_ = "reading from " + to_string(peer()) + ": " + transport_->describe(ec);
        perform(fsm_.on_failure(make_error_code(errc::connection_lost)));
        return;
    }
    decoder_.commit(n);
    read_at_ = now();
    fsm_.on_received(read_at_);
    overdue_rechecked_ = false;
    decode_buffered();
    end_read_loop();
    if (fsm_.state() == sansio::link_state::closed)
        return;
    if (decoder_.buffered() == 0 && decoder_.capacity() > keep_buffer_capacity)
        decoder_.release_if_empty();
    start_read();
}

void link::decode_buffered()
{
    in_read_loop_ = true;
    std::string_view payload;
    error_code decode_ec;
    for (;;) {
        const auto status = decoder_.next(payload, decode_ec);
        if (status == wire::decode_status::need_more)
            break;
        if (status == wire::decode_status::error) {
            ctx_.counters.protocol_errors.fetch_add(1, std::memory_order_relaxed);
            perform(fsm_.on_failure(decode_ec));
            break;
        }
        if (!handle_payload(payload))
            break;
    }
    in_read_loop_ = false;
}

// The link goes back to the pool before the callers whose replies came in this read are told.
void link::end_read_loop()
{
    if (return_pending_) {
        return_pending_ = false;
        owner_->on_link_returned(*this, nullptr, nullptr);
    }
    for (auto& f : finished_in_loop_)
        std::move(f.op).complete(f.ec, std::move(f.value));
    finished_in_loop_.clear();
}

// Each message type has its own handler; a request (wrong direction) or an unknown type is
// ignored and counted.
struct link::message_handler {
    link& self;
    void operator()(const wire::ping& m) const { self.on_message(m); }
    void operator()(const wire::pong& m) const { self.on_message(m); }
    void operator()(wire::response& m) const { self.on_message(m); }
    void operator()(wire::notify& m) const { self.on_message(m); }
    void operator()(const wire::goaway& m) const { self.on_message(m); }
    void operator()(const wire::request&) const { self.on_unexpected_message(); }
    void operator()(const wire::unknown&) const { self.on_unexpected_message(); }
};

// Returns false when the link closed while handling it.
bool link::handle_payload(std::string_view payload)
{
    wire::parse_result parsed;
    if (auto control = wire::parse_canonical_control(payload))
        parsed.msg = std::move(*control);
    else
        parsed = wire::parse(payload, {wire::sender::server, config_.max_json_depth});
    if (parsed.ec) {
        ctx_.counters.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        perform(fsm_.on_failure(parsed.ec));
        return false;
    }
    std::visit(message_handler{*this}, parsed.msg);
    return fsm_.state() != sansio::link_state::closed;
}

// A ping from the server: answered at once, whatever else is going on.
void link::on_message(const wire::ping& m)
{
    send_control(wire::pong{m.id});
}

void link::on_message(const wire::pong& m)
{
    bool matched = false;
    const auto action = fsm_.on_pong(m.id, now(), matched);
    if (matched) {
        ctx_.counters.pongs_received.fetch_add(1, std::memory_order_relaxed);
        if (const auto rtt = fsm_.last_rtt()) {
            ctx_.counters.ping_rtt.record(*rtt);
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*rtt);
            if (watched_ && ctx_.observer() != nullptr)            // on the idle watch's thread:
                ctx_.watch->note_ping_rtt(shared_from_this(), us); // observers run on io threads
            else if (!watched_)
                report_ping_rtt(us);
        }
    } else {
        ctx_.counters.late_responses.fetch_add(1, std::memory_order_relaxed);
    }
    perform(action);
    publish_health(); // the next ping is due one interval from now
}

void link::report_ping_rtt(std::chrono::microseconds rtt)
{
    ctx_.observe([&](pool_observer& o) { o.on_ping_rtt(peer(), id_, rtt); });
}

void link::on_message(wire::response& m)
{
    if (m.error) {
        ctx_.counters.server_errors.fetch_add(1, std::memory_order_relaxed);
        nlohmann::json error_body{{"code", m.error->code},
                                  {"message", std::move(m.error->message)}};
        handle_response(m.id, std::move(error_body), make_error_code(errc::server_error));
    } else {
        handle_response(m.id, std::move(m.body), {});
    }
}

void link::on_message(wire::notify& m)
{
    ctx_.counters.notifies_received.fetch_add(1, std::memory_order_relaxed);
    owner_->deliver_notify(std::move(m.body));
}

// goaway: no new requests here, owed responses still come.
void link::on_message(const wire::goaway& m)
{
    ctx_.counters.goaways.fetch_add(1, std::memory_order_relaxed);
    got_goaway_ = true;
    record_goaway(m.reason);
    ctx_.observe([&](pool_observer& o) { o.on_goaway(peer(), id_, m.reason); });
    const bool was_ready = fsm_.state() == sansio::link_state::ready;
    const auto action = fsm_.on_drain(requests_.size(), make_error_code(errc::connection_draining));
    update_accepting();
    if (was_ready)
        owner_->on_link_draining(shared_from_this());
    perform(action);
}

void link::on_unexpected_message()
{
    ctx_.counters.unknown_messages.fetch_add(1, std::memory_order_relaxed);
}

void link::handle_response(std::uint64_t id, nlohmann::json body, const error_code& ec)
{
    if (id == init_id_ && fsm_.state() == sansio::link_state::initializing) {
        on_init_response(body, ec);
        return;
    }
    clock::time_point deadline;
    auto op = requests_.take(id, deadline);
    if (!op) {
        // Late (after its timeout or cancellation) or unknown: dropped, never redelivered.
        ctx_.counters.late_responses.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    record_request(ec, deadline, read_at_); // one clock read per read, not per response
    replied_ = true;
    finish_request(std::move(*op), ec, std::move(body));
}

// ---- writing ----------------------------------------------------------------------------------

void link::queue_frame(std::string_view frame)
{
    write_pending_.append(frame);
    if (!writing_)
        start_write();
}

void link::start_write()
{
    if (fsm_.state() == sansio::link_state::closed ||
        fsm_.state() == sansio::link_state::connecting)
        return;
    writing_ = true;
    write_inflight_.swap(write_pending_);
    transport_->async_write(asio::buffer(write_inflight_), shared_from_this());
}

void link::on_transport_written(const error_code& ec)
{
    writing_ = false;
    if (fsm_.state() == sansio::link_state::closed)
        return;
    if (ec) {
        connect_detail_ = "writing to " + to_string(peer()) + ": " + transport_->describe(ec);
        perform(fsm_.on_failure(make_error_code(errc::connection_lost)));
        return;
    }
    if (write_inflight_.capacity() > keep_buffer_capacity)
        std::string().swap(write_inflight_);
    else
        write_inflight_.clear();
    if (!write_pending_.empty())
        start_write();
}

void link::send_ping()
{
    ctx_.counters.pings_sent.fetch_add(1, std::memory_order_relaxed);
    send_control(wire::ping{fsm_.ping_id()});
}

// A ping or pong goes out with one non-blocking send when nothing else is queued or being
// written (an idle link, the common case): no write operation, no completion to schedule, no
// buffer to allocate. Otherwise, or for what the socket did not take, it joins the queue.
void link::send_control(const wire::message& msg)
{
    frame_scratch frame;
    if (wire::serialize(msg, frame.buffer(), config_.max_frame_size))
        return;
    std::string_view rest = frame.buffer();
    const auto state = fsm_.state();
    if (!writing_ && write_pending_.empty() && state != sansio::link_state::connecting &&
        state != sansio::link_state::closed) {
        error_code ec;
        const std::size_t sent = transport_->write_now(asio::buffer(rest), ec);
        if (ec) {
            perform(fsm_.on_failure(make_error_code(errc::connection_lost)));
            return;
        }
        rest.remove_prefix(sent);
        if (rest.empty())
            return;
    }
    queue_frame(rest);
}

} // namespace tether::detail
