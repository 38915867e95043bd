#include "io/link.hpp"

#include "io/drain_overrun.hpp"
#include "io/frame_scratch.hpp"
#include "sansio/control_fast_path.hpp"
#include "sansio/message.hpp"

#include <tether/detail/handler_memory.hpp>
#include <tether/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

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
    t.initialize = static_cast<bool>(c.init_request);
    return t;
}

} // namespace

link::link(std::shared_ptr<link_owner> owner, const link_context& context, std::uint32_t slot,
           std::uint64_t id, std::size_t endpoint_index)
    : owner_(std::move(owner)), ctx_(context), config_(context.config), slot_(slot), id_(id),
      endpoint_index_(endpoint_index), strand_(context.io),
      transport_(context.make_transport(strand_.executor(), config_)),
      timer_(context.clock.make_timer(strand_.executor())),
      fsm_(timing_of(config_), context.clock.now(),
           (context.seed ^ (id * 0x9e3779b97f4a7c15ULL)) | 1),
      decoder_(config_.max_frame_size)
{
}

void link::start()
{
    strand_.post([self = shared_from_this()] { self->do_connect(); });
}

// ---- connect and prove ------------------------------------------------------------------------

void link::do_connect()
{
    connect_started_ = now();
    rearm_timer(); // the connect deadline
    transport_->async_connect(peer(), shared_from_this());
}

void link::on_transport_connected(const error_code& ec, std::string detail)
{
    if (fsm_.state() != sansio::link_state::connecting)
        return; // timed out or shut down meanwhile
    if (ec) {
        connect_detail_ = std::move(detail);
        perform(fsm_.on_failure(
            ec == errc::tls_handshake_failed ? ec : make_error_code(errc::connect_failed)));
        return;
    }
    ctx_.events.record(endpoint_index_,
                       sansio::link_event_note(sansio::link_event_kind::connected, id_), now());
    ctx_.observe([&](pool_observer& o) { o.on_tcp_connected(peer(), id_); });
    start_read();
    perform(fsm_.on_connected(now()));
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
        strand_.dispatch(with_handler_memory([self = shared_from_this()] { self->drain_inbox(); }));
        return;
    }
    ctx_.io.post(with_handler_memory([self = shared_from_this()] {
        self->strand_.dispatch(with_handler_memory([self] { self->drain_inbox(); }));
    }));
}

// Strand only. Also called before anything that must see every request submitted so far (a
// cancellation, a drain, a close), since the scheduled drain may not have run yet.
void link::drain_inbox()
{
    ensure_attached(); // a dormant link comes back from the idle watch first
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
    const auto deadline = now() + config_.request_timeout;
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
        const asio::any_io_executor keep = l->ctx_.io.tracked_executor();
        if (!l->ctx_.io.stopped())
            l->strand_.post([l, id] { l->cancel_request(id); });
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
    clock::time_point deadline;
    if (auto op = requests_.take(id, deadline)) {
        record_request(asio::error::operation_aborted, deadline, now());
        finish_request(std::move(*op), asio::error::operation_aborted, nullptr);
    }
}

void link::record_request(const error_code& ec, clock::time_point deadline,
                          clock::time_point at) noexcept
{
    request_outcome outcome = request_outcome::other;
    if (!ec)
        outcome = request_outcome::ok;
    else if (ec == errc::server_error)
        outcome = request_outcome::server_error;
    else if (ec == errc::request_timeout)
        outcome = request_outcome::timeout;
    else if (ec == errc::connection_lost)
        outcome = request_outcome::connection_lost;
    // Every request of a link has the same timeout: its deadline tells when it was sent.
    ctx_.counters.record_request(outcome, at - (deadline - config_.request_timeout));
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

void link::hold_release(std::shared_ptr<link> donor, std::shared_ptr<pool_anchor>* anchor) noexcept
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
    owner_->on_link_returned(*this, std::move(donor), anchor);
}

// ---- lifecycle ----------------------------------------------------------------------------------

void link::perform(sansio::link_action action)
{
    switch (action) {
    case sansio::link_action::none:
        break;
    case sansio::link_action::send_ping:
        send_ping();
        publish_health(); // the pong deadline (proving: the connect deadline's timer runs)
        break;
    case sansio::link_action::ready:
        update_accepting();
        ctx_.counters.connects.fetch_add(1, std::memory_order_relaxed);
        ctx_.counters.connect_time.record(now() - connect_started_);
        record_proven();
        ctx_.observe([&](pool_observer& o) { o.on_connected(peer(), id_); });
        health_slot_ = ctx_.health.enroll(shared_from_this());
        publish_health();
        owner_->on_link_ready(shared_from_this());
        break;
    case sansio::link_action::send_init:
        send_init();
        break;
    case sansio::link_action::close:
        close_now();
        break;
    }
}

// ---- init request -----------------------------------------------------------------------------

// Proven: the application's init request (a login, a session setting) goes out; the link joins
// the pool only once it is answered without an error, all inside the connect deadline.
void link::send_init()
{
    nlohmann::json body;
    try {
        body = config_.init_request(peer());
    } catch (const std::exception& e) {
        connect_detail_ = "init_request for " + to_string(peer()) + " threw: " + e.what();
        perform(fsm_.on_init_done(now(), make_error_code(errc::connect_failed)));
        return;
    }
    init_id_ = allocate_id();
    frame_scratch frame;
    if (const auto ec =
            wire::serialize_request(init_id_, body, frame.buffer(), config_.max_frame_size)) {
        connect_detail_ =
            "init_request for " + to_string(peer()) + " cannot be sent: " + ec.message();
        perform(fsm_.on_init_done(now(), ec));
        return;
    }
    queue_frame(frame.buffer());
}

void link::on_init_response(const nlohmann::json& body, const error_code& ec)
{
    init_id_ = 0;
    if (ec) { // an error object: {"code", "message"}
        connect_detail_ = "init request refused by " + to_string(peer()) + ": server error " +
                          body.value("code", nlohmann::json(0)).dump() + ": " +
                          body.value("message", std::string());
    }
    perform(fsm_.on_init_done(read_at_, ec));
}

void link::drain(error_code reason)
{
    strand_.dispatch([self = shared_from_this(), reason] {
        self->drain_inbox(); // requests submitted before the drain are still served
        self->shutting_down_ = self->shutting_down_ || reason == errc::pool_closed;
        const auto action = self->fsm_.on_drain(self->requests_.size(), reason);
        self->update_accepting();
        self->perform(action);
    });
}

void link::force_close(error_code reason, std::shared_ptr<drain_overrun> overrun)
{
    strand_.dispatch([self = shared_from_this(), reason, overrun = std::move(overrun)] {
        self->drain_inbox(); // requests submitted before the close fail with its reason
        if (overrun && self->fsm_.state() != sansio::link_state::closed)
            overrun->count(self->requests_.size());
        self->shutting_down_ = self->shutting_down_ || reason == errc::pool_closed;
        self->perform(self->fsm_.on_failure(reason));
    });
}

void link::close_now()
{
    update_accepting();
    const error_code reason = fsm_.reason();
    timer_->cancel();
    if (health_slot_ != nullptr) {
        ctx_.health.withdraw(health_slot_);
        health_slot_ = nullptr;
    }
    const bool was_ready = fsm_.last_rtt().has_value(); // proven at some point
    // Closing on purpose (drained, retired, shut down): a TLS transport says close_notify and
    // lets the peer answer within the grace; a broken link just goes.
    const bool on_purpose = reason == errc::connection_draining || reason == errc::pool_closed;
    detach_watch_for_close();
    transport_->close(was_ready && on_purpose ? owner_->close_grace()
                                              : std::chrono::milliseconds::zero());
    std::string().swap(write_pending_);

    auto& counters = ctx_.counters;
    if (fsm_.died_silently())
        counters.dead_links_detected.fetch_add(1, std::memory_order_relaxed);
    if (was_ready && reason != errc::connection_draining && reason != errc::pool_closed)
        counters.connections_lost.fetch_add(1, std::memory_order_relaxed);

    // Requests still outstanding fail now, not at their timeouts.
    const auto closed_at = requests_.empty() ? clock::time_point{} : now();
    requests_.take_all([&](std::uint64_t, request_op&& op, clock::time_point deadline) {
        record_request(reason, deadline, closed_at);
        hold_release();
        std::move(op).complete(reason, nullptr);
    });
    if (was_ready) {
        record_close(reason);
        ctx_.observe([&](pool_observer& o) { o.on_disconnected(peer(), id_, reason); });
    }
    owner_->on_link_closed(shared_from_this(), reason, connect_detail_);
}

} // namespace tether::detail
