#include "io/link.hpp"

#include "io/frame_scratch.hpp"
#include "io/socket_options.hpp"
#include "sansio/control_fast_path.hpp"
#include "sansio/message.hpp"

#include <tether/detail/handler_memory.hpp>
#include <tether/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace tether::detail {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

sansio::link_timing timing_of(const pool_config& c)
{
    sansio::link_timing t;
    t.connect_timeout = c.connect_timeout;
    t.ping_interval = c.ping_interval;
    t.ping_timeout = c.ping_timeout;
    return t;
}

// Buffers above this size are given back once they drain, so an idle link stays small.
constexpr std::size_t keep_buffer_capacity = 16 * 1024;

} // namespace

link::link(std::shared_ptr<link_owner> owner, const link_context& context, std::uint32_t slot,
           std::uint64_t id, std::size_t endpoint_index)
    : owner_(std::move(owner)), ctx_(context), config_(context.config), slot_(slot), id_(id),
      endpoint_index_(endpoint_index), strand_(asio::make_strand(context.io)), socket_(strand_),
      resolver_(strand_), timer_(strand_),
      fsm_(timing_of(config_), clock::now(), (context.seed ^ (id * 0x9e3779b97f4a7c15ULL)) | 1),
      decoder_(config_.max_frame_size)
{
}

link::~link() = default;

void link::start()
{
    asio::post(strand_, [self = shared_from_this()] { self->do_connect(); });
}

// ---- connect and prove ------------------------------------------------------------------------

void link::do_connect()
{
    rearm_timer(); // the connect deadline
    const endpoint& ep = peer();
    error_code ec;
    const auto address = asio::ip::make_address(ep.host, ec);
    if (!ec) {
        // Numeric host: no resolver involved.
        socket_.async_connect({address, ep.port},
                              [self = shared_from_this()](const error_code& e) { self->on_connected(e); });
        return;
    }
    if (config_.resolver) {
        resolve_with_seam(ep);
        return;
    }
    resolver_.async_resolve(
        ep.host, std::to_string(ep.port),
        [self = shared_from_this()](const error_code& e,
                                    const asio::ip::tcp::resolver::results_type& results) {
            if (self->fsm_.state() != sansio::link_state::connecting)
                return; // timed out or shut down meanwhile
            if (e) {
                self->connect_detail_ = "resolve " + to_string(self->peer()) + ": " + e.message();
                self->perform(self->fsm_.on_failure(make_error_code(errc::connect_failed)));
                return;
            }
            asio::async_connect(self->socket_, results,
                                [self](const error_code& ce, const asio::ip::tcp::endpoint&) {
                                    self->on_connected(ce);
                                });
        });
}

void link::resolve_with_seam(const endpoint& ep)
{
    std::vector<std::string> names;
    std::error_code rec;
    try {
        rec = config_.resolver(ep, names);
    } catch (const std::exception& e) {
        connect_detail_ = "resolve " + to_string(ep) + ": resolver threw: " + e.what();
        perform(fsm_.on_failure(make_error_code(errc::connect_failed)));
        return;
    }
    std::vector<asio::ip::tcp::endpoint> targets;
    for (const auto& name : names) {
        error_code aec;
        const auto address = asio::ip::make_address(name, aec);
        if (!aec)
            targets.emplace_back(address, ep.port);
    }
    if (rec || targets.empty()) {
        connect_detail_ = "resolve " + to_string(ep) + ": " +
                          (rec ? rec.message() : std::string("no usable address"));
        perform(fsm_.on_failure(make_error_code(errc::connect_failed)));
        return;
    }
    asio::async_connect(socket_, targets,
                        [self = shared_from_this()](const error_code& ce, const asio::ip::tcp::endpoint&) {
                            self->on_connected(ce);
                        });
}

void link::on_connected(const error_code& ec)
{
    if (fsm_.state() != sansio::link_state::connecting)
        return;
    const endpoint& ep = peer();
    if (ec) {
        connect_detail_ = "connect " + to_string(ep) + ": " + ec.message();
        perform(fsm_.on_failure(make_error_code(errc::connect_failed)));
        return;
    }
    error_code opt_ec;
    apply_socket_options(socket_, config_, opt_ec);
    if (!opt_ec) // for send_control's direct sends; Asio's asynchronous operations do not mind
        socket_.non_blocking(true, opt_ec);
    if (opt_ec) {
        connect_detail_ = "socket options " + to_string(ep) + ": " + opt_ec.message();
        perform(fsm_.on_failure(make_error_code(errc::connect_failed)));
        return;
    }
    if (auto* obs = ctx_.observer())
        obs->on_tcp_connected(ep, id_);
    start_read();
    perform(fsm_.on_connected(clock::now()));
}

// ---- requests from leases -----------------------------------------------------------------

void link::submit_request(std::uint64_t id, std::string_view frame, request_op op)
{
    if (inbox_.push(frame, id, std::optional<request_op>(std::in_place, std::move(op))))
        schedule_drain();
}

// From an io thread straight onto the strand (Asio recycles the memory there). From any other
// thread through the io_context first: posting to an idle strand from a foreign thread makes
// Asio allocate the strand's invoker with memory it cannot recycle; one hop later, on an io
// thread, an idle strand runs the drain at once.
void link::schedule_drain()
{
    if (ctx_.running_in_io_thread()) {
        asio::dispatch(strand_, with_handler_memory([self = shared_from_this()] { self->drain_inbox(); }));
        return;
    }
    asio::post(ctx_.io, with_handler_memory([self = shared_from_this()] {
                   asio::dispatch(self->strand_,
                                  with_handler_memory([self] { self->drain_inbox(); }));
               }));
}

// Strand only. Also called before anything that must see every request submitted so far (a
// cancellation, a drain, a close), since the scheduled drain may not have run yet.
void link::drain_inbox()
{
    // Re-entered when a completion below returns the link and the pool drains it at once (a
    // dispatch onto this strand runs inline): the outer call goes on with the rest.
    if (draining_inbox_)
        return;
    draining_inbox_ = true;
    struct reset {
        bool& flag;
        ~reset() { flag = false; }
    } const guard{draining_inbox_};
    inbox_.take(inbox_frames_, inbox_entries_);
    std::size_t offset = 0;
    for (auto& e : inbox_entries_) {
        const std::string_view frame(inbox_frames_.data() + offset, e.frame_size);
        offset += e.frame_size;
        if (e.op) {
            accept_request(e.id, frame, std::move(*e.op));
            e.op.reset();
        } else if (fsm_.accepts_requests()) { // a notify
            write_pending_.append(frame);
        }
    }
    inbox_entries_.clear();
    if (inbox_frames_.capacity() > keep_buffer_capacity)
        std::string().swap(inbox_frames_);
    else
        inbox_frames_.clear();
    if (!write_pending_.empty() && !writing_)
        start_write();
}

void link::accept_request(std::uint64_t id, std::string_view frame, request_op&& op)
{
    error_code refused;
    if (!fsm_.accepts_requests())
        refused = refusal();
    else if (requests_.size() >= config_.max_outstanding_per_link)
        refused = make_error_code(errc::too_many_requests);
    if (refused) {
        finish_request(std::move(op), refused, nullptr);
        return;
    }
    const auto deadline = clock::now() + config_.request_timeout;
    if (!requests_.insert(id, std::move(op), deadline)) {
        // Ids come from a 53-bit counter, so this cannot happen; if it ever did, the caller
        // still gets exactly one completion (try_emplace left `op` untouched).
        finish_request(std::move(op), make_error_code(errc::invalid_argument), nullptr);
        return;
    }
    ctx_.counters.requests.fetch_add(1, std::memory_order_relaxed);
    write_pending_.append(frame);
    if (deadline < timer_armed_at_)
        rearm_timer();
}

void link::watch_cancellation(std::uint64_t id, request_op& op)
{
    // Called on the initiating thread: Asio's cancellation slots are not thread-safe, and the
    // caller emits from its own context, so the handler must be installed there, never later
    // from the strand. A cancel that arrives before the request reached the strand is queued
    // behind it there and still finds it.
    auto slot = op.cancellation_slot();
    if (!slot.is_connected())
        return;
    slot.assign([weak = weak_from_this(), id](asio::cancellation_type) {
        auto l = weak.lock();
        if (!l)
            return;
        // After shutdown the io threads are gone and the request long completed: nothing to do.
        const asio::executor_work_guard<asio::io_context::executor_type> keep(
            l->ctx_.io.get_executor());
        if (!l->ctx_.io.stopped())
            asio::post(l->strand_, [l, id] { l->cancel_request(id); });
    });
}

void link::submit_notify(std::string_view frame)
{
    // Through the inbox too: a notify stays behind the requests sent before it.
    if (inbox_.push(frame, 0, std::nullopt))
        schedule_drain();
}

error_code link::refusal() const
{
    const int code = refusal_.load(std::memory_order_acquire);
    return make_error_code(code ? static_cast<errc>(code) : errc::connection_lost);
}

void link::update_accepting()
{
    const bool accepting = fsm_.accepts_requests();
    int code = 0;
    if (!accepting) {
        if (shutting_down_ || owner_->closed())
            code = static_cast<int>(errc::pool_closed);
        else if (fsm_.state() == sansio::link_state::draining ||
                 fsm_.reason() == make_error_code(errc::connection_draining))
            code = static_cast<int>(errc::connection_draining);
        else
            code = static_cast<int>(errc::connection_lost);
    }
    refusal_.store(code, std::memory_order_release);
    accepting_.store(accepting, std::memory_order_release);
}

void link::cancel_request(std::uint64_t id)
{
    drain_inbox(); // the request may still be in the inbox
    if (auto op = requests_.take(id))
        finish_request(std::move(*op), asio::error::operation_aborted, nullptr);
}

void link::finish_request(request_op&& op, error_code ec, nlohmann::json value)
{
    // The hold goes first: a caller woken by the completion that releases its lease and
    // acquires again must find this link idle, not still counted as busy. Inside the read loop
    // the link goes back only at the loop's end, so the completion waits for that too.
    after_request_done();
    if (in_read_loop_) {
        finished_in_loop_.push_back({std::move(op), ec, std::move(value)});
        return;
    }
    std::move(op).complete(ec, std::move(value));
}

void link::after_request_done()
{
    perform(fsm_.on_outstanding(requests_.size()));
    hold_release();
}

// ---- holds ----------------------------------------------------------------------------------

void link::hold_release(std::shared_ptr<link> donor) noexcept
{
    if (holds_.fetch_sub(1, std::memory_order_acq_rel) != 1)
        return;
    // Inside the read loop a goaway may sit right behind the reply that dropped this hold:
    // hand the link back only after every frame of this read was handled, so nobody is given
    // a link that is about to refuse them.
    if (strand_.running_in_this_thread() && in_read_loop_) {
        return_pending_ = true;
        return;
    }
    owner_->on_link_returned(*this, std::move(donor));
}

// ---- reading ----------------------------------------------------------------------------------

void link::start_read()
{
    const auto space = decoder_.prepare();
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            with_handler_memory([self = shared_from_this()](const error_code& ec,
                                                                            std::size_t n) {
                                self->on_read(ec, n);
                            }));
}

void link::on_read(const error_code& ec, std::size_t n)
{
    if (fsm_.state() == sansio::link_state::closed)
        return;
    if (ec) {
        perform(fsm_.on_failure(make_error_code(errc::connection_lost)));
        return;
    }
    decoder_.commit(n);
    fsm_.on_received(clock::now());
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
        owner_->on_link_returned(*this, nullptr);
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
void link::on_message(const wire::ping& m) { send_control(wire::pong{m.id}); }

void link::on_message(const wire::pong& m)
{
    bool matched = false;
    const auto action = fsm_.on_pong(m.id, clock::now(), matched);
    if (matched) {
        ctx_.counters.pongs_received.fetch_add(1, std::memory_order_relaxed);
        if (auto* obs = ctx_.observer(); obs && fsm_.last_rtt())
            obs->on_ping_rtt(peer(), id_,
                             std::chrono::duration_cast<std::chrono::microseconds>(*fsm_.last_rtt()));
    } else {
        ctx_.counters.late_responses.fetch_add(1, std::memory_order_relaxed);
    }
    perform(action);
    publish_health(); // the next ping is due one interval from now
}

void link::on_message(wire::response& m)
{
    if (m.error) {
        ctx_.counters.server_errors.fetch_add(1, std::memory_order_relaxed);
        nlohmann::json error_body{{"code", m.error->code}, {"message", std::move(m.error->message)}};
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
    if (auto* obs = ctx_.observer())
        obs->on_goaway(peer(), id_, m.reason);
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
    auto op = requests_.take(id);
    if (!op) {
        // Late (after its timeout or cancellation) or unknown: dropped, never redelivered.
        ctx_.counters.late_responses.fetch_add(1, std::memory_order_relaxed);
        return;
    }
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
    if (fsm_.state() == sansio::link_state::closed || fsm_.state() == sansio::link_state::connecting)
        return;
    writing_ = true;
    write_inflight_.swap(write_pending_);
    asio::async_write(socket_, asio::buffer(write_inflight_),
                      with_handler_memory([self = shared_from_this()](const error_code& ec, std::size_t) {
                          self->writing_ = false;
                          if (self->fsm_.state() == sansio::link_state::closed)
                              return;
                          if (ec) {
                              self->perform(self->fsm_.on_failure(make_error_code(errc::connection_lost)));
                              return;
                          }
                          if (self->write_inflight_.capacity() > keep_buffer_capacity)
                              std::string().swap(self->write_inflight_);
                          else
                              self->write_inflight_.clear();
                          if (!self->write_pending_.empty())
                              self->start_write();
                      }));
}

// ---- health and deadlines ---------------------------------------------------------------------

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
        const std::size_t sent = socket_.write_some(asio::buffer(rest), ec);
        if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
            perform(fsm_.on_failure(make_error_code(errc::connection_lost)));
            return;
        }
        rest.remove_prefix(sent);
        if (rest.empty())
            return;
    }
    queue_frame(rest);
}

void link::rearm_timer()
{
    // The timer serves the connect deadline and request deadlines; a proven link's pings are
    // the health tick's.
    const auto state = fsm_.state();
    auto due = state == sansio::link_state::connecting || state == sansio::link_state::proving
                   ? fsm_.deadline()
                   : clock::time_point::max();
    if (auto d = requests_.next_deadline(); d && *d < due)
        due = *d;
    if (due == clock::time_point::max() || due >= timer_armed_at_)
        return;
    timer_armed_at_ = due;
    timer_.expires_at(due); // cancels a later wait, whose handler sees a stale generation
    timer_.async_wait([self = shared_from_this(), gen = ++timer_generation_](const error_code& ec) {
        self->on_timer(gen, ec);
    });
}

void link::on_timer(std::uint64_t generation, const error_code& ec)
{
    if (generation != timer_generation_ || fsm_.state() == sansio::link_state::closed)
        return;
    (void)ec;
    timer_armed_at_ = clock::time_point::max();
    const auto now = clock::now();
    requests_.take_expired(now, [this](std::uint64_t, request_op&& op) {
        ctx_.counters.request_timeouts.fetch_add(1, std::memory_order_relaxed);
        // The link stays: a late response will be dropped and counted.
        finish_request(std::move(op), make_error_code(errc::request_timeout), nullptr);
    });
    const auto before = fsm_.state();
    if (before != sansio::link_state::connecting && before != sansio::link_state::proving) {
        if (before != sansio::link_state::closed)
            rearm_timer();
        return;
    }
    const auto action = fsm_.on_timer(now);
    if (action == sansio::link_action::close && connect_detail_.empty()) {
        connect_detail_ = std::string(before == sansio::link_state::proving
                                          ? "no pong to the proving ping from "
                                          : "no TCP connection to ") +
                          to_string(peer()) + " within connect_timeout";
    }
    perform(action);
    if (fsm_.state() != sansio::link_state::closed)
        rearm_timer();
}

void link::post_health_check(std::shared_ptr<link> l)
{
    auto& strand = l->strand_;
    asio::post(strand, [self = std::move(l)] { self->check_health(); });
}

void link::check_health()
{
    if (health_slot_ == nullptr)
        return; // closed meanwhile
    const auto now = clock::now();
    if (fsm_.ping_overdue(now) && !proof_of_life(now))
        return; // looked at again once the reads already queued have run
    perform(fsm_.on_timer(now));
    publish_health();
}

void link::publish_health()
{
    if (health_slot_ != nullptr)
        health_slot_->publish(fsm_.deadline());
}

// A ping is overdue. Before declaring the peer dead, make sure it is not this client that is
// late (io threads busy with thousands of links): bytes waiting in the socket are proof of
// life, and so may be a read completion queued behind this timer, so the verdict is given
// once more after everything queued now. False: asked again later (the link is not collected
// by the health tick meanwhile: it has not published since).
bool link::proof_of_life(clock::time_point now)
{
    error_code ec;
    if (socket_.available(ec) > 0 && !ec) {
        fsm_.on_received(now);
        return true;
    }
    if (overdue_rechecked_)
        return true; // already looked again: the verdict stands
    overdue_rechecked_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->check_health(); });
    return false;
}

// ---- lifecycle ----------------------------------------------------------------------------------

void link::perform(sansio::link_action action)
{
    switch (action) {
    case sansio::link_action::none: break;
    case sansio::link_action::send_ping:
        send_ping();
        publish_health(); // the pong deadline (proving: the connect deadline's timer runs)
        break;
    case sansio::link_action::ready:
        update_accepting();
        ctx_.counters.connects.fetch_add(1, std::memory_order_relaxed);
        if (auto* obs = ctx_.observer())
            obs->on_connected(peer(), id_);
        health_slot_ = ctx_.health.enroll(shared_from_this());
        publish_health();
        owner_->on_link_ready(shared_from_this());
        break;
    case sansio::link_action::close: close_now(); break;
    }
}

void link::drain(error_code reason)
{
    asio::dispatch(strand_, [self = shared_from_this(), reason] {
        self->drain_inbox(); // requests submitted before the drain are still served
        self->shutting_down_ = self->shutting_down_ || reason == errc::pool_closed;
        const auto action = self->fsm_.on_drain(self->requests_.size(), reason);
        self->update_accepting();
        self->perform(action);
    });
}

void link::force_close(error_code reason)
{
    asio::dispatch(strand_, [self = shared_from_this(), reason] {
        self->drain_inbox(); // requests submitted before the close fail with its reason
        self->shutting_down_ = self->shutting_down_ || reason == errc::pool_closed;
        self->perform(self->fsm_.on_failure(reason));
    });
}

void link::close_now()
{
    update_accepting();
    const error_code reason = fsm_.reason();
    ++timer_generation_;
    timer_.cancel();
    if (health_slot_ != nullptr) {
        ctx_.health.withdraw(health_slot_);
        health_slot_ = nullptr;
    }
    resolver_.cancel();
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    std::string().swap(write_pending_);

    const bool was_ready = fsm_.last_rtt().has_value(); // proven at some point
    auto& counters = ctx_.counters;
    if (fsm_.died_silently())
        counters.dead_links_detected.fetch_add(1, std::memory_order_relaxed);
    if (was_ready && reason != errc::connection_draining && reason != errc::pool_closed)
        counters.connections_lost.fetch_add(1, std::memory_order_relaxed);

    // Requests still outstanding fail now, not at their timeouts.
    requests_.take_all([&](std::uint64_t, request_op&& op) {
        hold_release();
        std::move(op).complete(reason, nullptr);
    });
    if (was_ready) {
        if (auto* obs = ctx_.observer())
            obs->on_disconnected(peer(), id_, reason);
    }
    owner_->on_link_closed(shared_from_this(), reason, connect_detail_);
}

} // namespace tether::detail
