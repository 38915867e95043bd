// A quiet link handed to the pool's idle watch (idle_watch.hpp) and taken back.
//
// States (watch_, strand only):
//   active     the transport owns the socket; the strand drives everything.
//   releasing  the socket left the transport; the read that was pending completes (cancelled,
//              or with bytes that beat the release) and decides: dormant, or back to active.
//   dormant    the idle watch owns the socket: it sends pings and reads pongs under
//              watch_mutex_, which then also guards fsm_ and decoder_. The strand touches
//              neither before ensure_attached() took the link back.

#include "io/frame_scratch.hpp"
#include "io/idle_watch.hpp"
#include "io/link.hpp"
#include "sansio/control_fast_path.hpp"

#include <tether/error.hpp>

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <variant>

namespace tether::detail {
namespace asio = boost::asio;
using boost::system::error_code;

link::~link()
{
    if (watch_fd_ >= 0) // dropped while with the idle watch (the pool finished)
        ::close(watch_fd_);
}

// Strand. Worth handing over: proven, nobody holds it, nothing owed in either direction.
bool link::quiet_for_watch() const
{
    return ctx_.watch != nullptr && watch_ == watch_state::active &&
           fsm_.state() == sansio::link_state::ready && health_slot_ != nullptr &&
           holds_.load(std::memory_order_acquire) == 0 && !discard_requested() &&
           requests_.empty() && !writing_ && write_pending_.empty() && decoder_.buffered() == 0 &&
           !in_read_loop_ && !read_restart_pending_ && !shutting_down_ && !owner_->closed();
}

// Strand: a ping is due (already counted by the fsm) on a quiet link. The socket leaves the
// transport; the read it cancels finishes the hand-over in on_released_read().
bool link::begin_watch()
{
    error_code ec;
    const int fd = transport_->release_descriptor(ec);
    if (fd < 0 || ec)
        return false;
    watch_fd_ = fd;
    watch_ = watch_state::releasing;
    watch_ping_owed_ = true;
    return true;
}

// Strand: the read pending at begin_watch() completed. True when the link went dormant (the
// completion is consumed); else it is back on its strand and on_transport_read() goes on with
// the completion as with any read's that a reattach overtook.
bool link::on_released_read(const error_code& ec)
{
    if (ec == asio::error::operation_aborted && quiet_after_release()) {
        {
            // Held across adopt(): the loop may see the socket's first event before the slot
            // is known here, and must wait for it.
            std::lock_guard lock(watch_mutex_);
            watch_slot_ = ctx_.watch->adopt(shared_from_this(), watch_fd_);
            watched_ = watch_slot_ != nullptr;
            handed_back_ = false;
            watch_overdue_ = false;
            watch_errno_ = 0;
        }
        if (watched_) {
            watch_ = watch_state::dormant;
            service_watched(now()); // the owed ping
            ctx_.watch->wake();     // its pong deadline may come before the loop looks again
            return true;
        }
    }
    // Bytes (or an error) beat the release, or the link got busy meanwhile: back to work.
    ensure_attached();
    return false;
}

// Strand: still quiet after the release (a lease may have come meanwhile).
bool link::quiet_after_release() const
{
    return ctx_.watch != nullptr && fsm_.state() == sansio::link_state::ready &&
           holds_.load(std::memory_order_acquire) == 0 && !discard_requested() &&
           requests_.empty() && !writing_ && write_pending_.empty() && decoder_.buffered() == 0 &&
           !shutting_down_ && !owner_->closed();
}

// Strand: the socket back into the transport. False when that failed (the link then fails).
bool link::reclaim_socket()
{
    const int fd = watch_fd_;
    watch_fd_ = -1;
    watch_ = watch_state::active;
    error_code ec;
    transport_->reattach(fd, ec);
    if (!ec)
        return true;
    ::close(fd);
    connect_detail_ = "taking the socket to " + to_string(peer()) + " back: " + ec.message();
    perform(fsm_.on_failure(make_error_code(errc::connection_lost)));
    return false;
}

// Strand: before anything that needs the socket, fsm_ or decoder_. Cheap when active.
void link::ensure_attached()
{
    if (watch_ == watch_state::active)
        return;
    if (watch_ == watch_state::releasing) {
        // The cancelled read is still to complete: it restarts reading then.
        read_restart_pending_ = true;
        if (!reclaim_socket())
            return;
        if (watch_ping_owed_) {
            watch_ping_owed_ = false;
            send_ping();
            publish_health();
        }
        return;
    }
    bool overdue = false;
    int failed = 0;
    std::string unsent;
    {
        std::lock_guard lock(watch_mutex_);
        watched_ = false;
        if (!handed_back_)
            ctx_.watch->unwatch(watch_fd_);
        overdue = watch_overdue_;
        failed = watch_errno_;
        unsent.swap(watch_unsent_);
    }
    ctx_.watch->forget(std::exchange(watch_slot_, nullptr));
    if (!reclaim_socket())
        return;
    if (failed != 0) {
        on_transport_read(error_code(failed, boost::system::system_category()), 0);
        return;
    }
    if (!unsent.empty())
        queue_frame(unsent);
    publish_health();
    if (decoder_.buffered() > 0) { // what the watch read and did not take: a frame not a pong
        read_at_ = now();
        decode_buffered();
        end_read_loop();
        if (fsm_.state() == sansio::link_state::closed)
            return;
    }
    start_read();
    if (overdue)
        check_health();
}

// Strand, closing: the socket back into the transport, which closes it; nothing restarts.
void link::detach_watch_for_close()
{
    if (watch_ == watch_state::active)
        return;
    if (watch_ == watch_state::dormant) {
        {
            std::lock_guard lock(watch_mutex_);
            watched_ = false;
            if (!handed_back_)
                ctx_.watch->unwatch(watch_fd_);
            watch_unsent_.clear();
        }
        ctx_.watch->forget(std::exchange(watch_slot_, nullptr));
    } else {
        read_restart_pending_ = true; // the cancelled read is still to complete
    }
    watch_ping_owed_ = false;
    error_code ignored;
    transport_->reattach(watch_fd_, ignored);
    if (ignored)
        ::close(watch_fd_);
    watch_fd_ = -1;
    watch_ = watch_state::active;
}

// ---- under watch_mutex_, from the idle watch or the health tick --------------------------------

// A due ping or an overdue pong of a dormant link (any thread). Returns when the link next
// needs looking at; max() when it is not dormant (any more) or was handed back.
clock_time link::service_watched(clock::time_point now)
{
    std::lock_guard lock(watch_mutex_);
    if (!watched_ || handed_back_)
        return clock_time::max(); // handed back: the strand publishes once it took the link
    if (watch_ping_owed_) {
        watch_ping_owed_ = false;
    } else if (fsm_.ping_overdue(now)) {
        read_watched(now); // the pong may be waiting unread
        if (handed_back_)
            return clock_time::max();
        if (fsm_.ping_overdue(now)) {
            // The strand gives the verdict, after a last look for bytes.
            watch_overdue_ = true;
            hand_back();
            return clock_time::max();
        }
        if (fsm_.on_timer(now) != sansio::link_action::send_ping)
            return publish_watched();
    } else if (fsm_.on_timer(now) != sansio::link_action::send_ping) {
        return publish_watched();
    }
    if (!send_watched_ping())
        return clock_time::max();
    return publish_watched();
}

clock_time link::on_watch_readable(clock::time_point now)
{
    std::lock_guard lock(watch_mutex_);
    if (!watched_ || handed_back_)
        return clock_time::max();
    read_watched(now);
    return handed_back_ ? clock_time::max() : fsm_.deadline();
}

// Publishes the fsm's next deadline to the watch's slot and returns it.
clock_time link::publish_watched()
{
    const clock_time due = fsm_.deadline();
    watch_slot_->publish(due);
    return due;
}

// Reads what is there; pongs are taken here, anything else goes back to the strand.
void link::read_watched(clock::time_point now)
{
    for (;;) {
        const auto space = decoder_.prepare();
        const ssize_t n = ::recv(watch_fd_, space.data(), space.size(), MSG_DONTWAIT);
        if (n > 0) {
            decoder_.commit(static_cast<std::size_t>(n));
            fsm_.on_received(now);
            if (static_cast<std::size_t>(n) < space.size())
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            watch_errno_ = errno;
        hand_back(); // the end of the stream (the strand's read sees it again) or an error
        return;
    }
    while (const auto payload = decoder_.peek()) {
        const auto control = wire::parse_canonical_control(*payload);
        const auto* pong = control ? std::get_if<wire::pong>(&*control) : nullptr;
        if (pong == nullptr) {
            hand_back();
            return;
        }
        const wire::pong m = *pong;
        std::string_view consumed;
        error_code ignored;
        decoder_.next(consumed, ignored);
        on_message(m);
    }
    if (decoder_.buffered() > 0)
        hand_back(); // part of a frame: the strand reads the rest
}

bool link::send_watched_ping()
{
    ctx_.counters.pings_sent.fetch_add(1, std::memory_order_relaxed);
    frame_scratch frame;
    if (wire::serialize(wire::ping{fsm_.ping_id()}, frame.buffer(), config_.max_frame_size))
        return true;
    const std::string& bytes = frame.buffer();
    ssize_t n = ::send(watch_fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        n = 0;
    if (n < 0) {
        watch_errno_ = errno;
        hand_back();
        return false;
    }
    if (static_cast<std::size_t>(n) == bytes.size())
        return true;
    watch_unsent_.assign(bytes, static_cast<std::size_t>(n)); // the strand writes the rest
    hand_back();
    return false;
}

// The strand takes the link back (ensure_attached) at its next turn; nothing here touches it
// any more, and the socket leaves the set now so that its readiness does not spin the loop.
void link::hand_back()
{
    handed_back_ = true;
    ctx_.watch->unwatch(watch_fd_);
    strand_.post([self = shared_from_this()] { self->ensure_attached(); });
}

} // namespace tether::detail
