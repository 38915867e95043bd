#pragma once

// One pooled connection, driven on its own strand: connect, prove, read loop feeding the frame
// decoder, a write queue that coalesces frames into one write, the outstanding-request table,
// and one timer for the connect deadline and request deadlines. Once proven, health probes are
// driven by the pool's health tick (see health_registry.hpp). The decisions are the sans-io
// link_fsm's; this class only performs them.

#include "io/clock_service.hpp"
#include "io/completion.hpp"
#include "io/health_registry.hpp"
#include "io/idle_watch.hpp"
#include "io/io_strand.hpp"
#include "io/link_owner.hpp"
#include "io/request_inbox.hpp"
#include "io/transport.hpp"
#include "sansio/close_cause.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/link_fsm.hpp"
#include "sansio/message.hpp"
#include "sansio/request_table.hpp"

#include <tether/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <source_location>
#include <string>
#include <vector>

namespace tether::detail {

class drain_overrun;

class link final : public transport_user, public std::enable_shared_from_this<link> {
public:
    using request_op = pending_op<nlohmann::json>;

    /// `slot`: the pool's index of this link (fixed for its life).
    link(std::shared_ptr<link_owner> owner, const link_context& context, std::uint32_t slot,
         std::uint64_t id, std::size_t endpoint_index);
    ~link();

    /// Starts resolve + connect + proving on the strand.
    void start();

    // ---- from leases, any thread ---------------------------------------------------------
    /// Next request id on this link (unique among its outstanding requests).
    std::uint64_t allocate_id() noexcept
    {
        return next_id_.fetch_add(1, std::memory_order_relaxed) & 0x1f'ffff'ffff'ffffULL;
    }
    /// Queues a serialized request frame (copied); `op` completes exactly once. The caller has
    /// already added a hold for it (see hold_add).
    void submit_request(std::uint64_t id, std::string_view frame, request_op op);
    /// Installs the caller's per-operation cancellation for request `id`; call on the
    /// initiating thread, before submit_request.
    void watch_cancellation(std::uint64_t id, request_op& op);
    /// Queues a serialized notify frame, copied (dropped if the link stops accepting meanwhile).
    void submit_notify(std::string_view frame);
    /// Accepting requests right now (a hint for fail-fast paths; the strand decides).
    bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }
    /// Why the link refuses requests when it does.
    boost::system::error_code refusal() const;

    // ---- holds: the lease counts 1, each in-flight request 1 ---------------------------------
    /// A lease takes the link at `at`: the first hold. `cached`: served by the pool's
    /// per-thread cache, not by its core (whose record of the lease is then older). Before the
    /// lease exists: under the pool lock, or by the thread that took it from the cache.
    void start_lease(clock_time at, bool cached) noexcept
    {
        lease_start_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
        cached_lease_.store(cached, std::memory_order_relaxed);
        holds_.store(1, std::memory_order_release);
    }
    /// When the current (or last) lease started, and whether the cache served it. Read by
    /// the pool at any time: relaxed atomics, a value at most one lease old.
    clock_time lease_start() const noexcept
    {
        return clock_time(clock_time::duration(lease_start_.load(std::memory_order_relaxed)));
    }
    bool cached_lease() const noexcept { return cached_lease_.load(std::memory_order_relaxed); }
    /// The pool core's time to retire this link (max_lifetime, or a TLS rotation), mirrored
    /// by the pool so that its per-thread cache sends an expired link back to the core.
    void set_retire_at(clock_time at) noexcept
    {
        retire_at_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
    }
    bool expired(clock_time now) const noexcept
    {
        return now.time_since_epoch().count() >= retire_at_.load(std::memory_order_relaxed);
    }
    void hold_add() noexcept { holds_.fetch_add(1, std::memory_order_relaxed); }
    /// Drops one hold; the last one returns the link to the pool.
    /// `donor`: the releasing lease's reference, handed on to the pool's idle list when this
    /// was the last hold (saves a reference-count round trip on every release). `anchor`: the
    /// releasing lease's pool reference, which the pool may take for the link's next lease.
    void hold_release(std::shared_ptr<link> donor = nullptr,
                      std::shared_ptr<pool_anchor>* anchor = nullptr) noexcept;
    /// The lease wants this link dropped instead of reused.
    void mark_discard() noexcept { discard_.store(true, std::memory_order_release); }
    bool discard_requested() const noexcept { return discard_.load(std::memory_order_acquire); }

    // ---- from the pool -----------------------------------------------------------------------
    /// Reusable: proven, not draining, not closed, not marked for discard.
    bool usable() const noexcept { return accepting() && !discard_requested(); }
    /// Graceful: no new requests, close once quiet (goaway-like). `reason` is told to refused
    /// requests (pool_closed at shutdown, connection_draining on retirement).
    void drain(boost::system::error_code reason);
    /// Immediate: fail everything outstanding with `reason` and close. `overrun` (shutdown's
    /// drain deadline) counts the link and its requests if it was still open.
    void force_close(boost::system::error_code reason,
                     std::shared_ptr<drain_overrun> overrun = nullptr);

    /// From the pool's health tick: `l` is due for a ping or a pong-deadline check on its
    /// strand.
    static void post_health_check(std::shared_ptr<link> l);
    /// From the idle watch's loop: the dormant link's socket is readable, or it is due.
    /// Both return when it next needs looking at (max(): not dormant any more).
    clock_time on_watch_readable(clock_time now);
    clock_time service_watched(clock_time now);
    /// Asks for the cache lines the two above touch first (the loop runs over cold links).
    void prefetch_for_watch() const noexcept
    {
        __builtin_prefetch(&watch_mutex_);
        __builtin_prefetch(&fsm_);
        __builtin_prefetch(&decoder_);
    }
    /// Tells the observer of a pong's round-trip time (an io thread).
    void report_ping_rtt(std::chrono::microseconds rtt);

    std::uint64_t id() const noexcept { return id_; }
    std::uint32_t slot() const noexcept { return slot_; }
    /// A request was answered on this link (strand only: for the pool's link_draining).
    bool has_replied() const noexcept { return replied_; }
    /// Why the link closed (strand only, once closed: for the pool's per-backend figures).
    sansio::close_cause close_cause() const noexcept
    {
        return sansio::cause_of_close(fsm_.reason(), fsm_.died_silently(), got_goaway_);
    }
    std::size_t endpoint_index() const noexcept { return endpoint_index_; }

private:
    using clock = std::chrono::steady_clock;
    /// Buffers above this size are given back once they drain, so an idle link stays small.
    static constexpr std::size_t keep_buffer_capacity = 16 * 1024;

    // All below run on the strand.
    void do_connect();
    void on_transport_connected(const boost::system::error_code& ec, std::string detail) override;
    void start_read();
    void on_transport_read(const boost::system::error_code& ec, std::size_t n) override;
    void on_transport_written(const boost::system::error_code& ec) override;
    void decode_buffered();
    bool handle_payload(std::string_view payload);
    struct message_handler;
    void on_message(const wire::ping& m);
    void on_message(const wire::pong& m);
    void on_message(wire::response& m);
    void on_message(wire::notify& m);
    void on_message(const wire::goaway& m);
    void on_unexpected_message();
    void handle_response(std::uint64_t id, nlohmann::json body,
                         const boost::system::error_code& ec);
    void schedule_drain();
    void drain_inbox();
    void accept_request(std::uint64_t id, std::string_view frame, request_op&& op);
    void queue_frame(std::string_view frame);
    void start_write();
    void perform(sansio::link_action action);
    void send_ping();
    void send_control(const wire::message& msg);
    void rearm_timer();
    void check_health();
    void publish_health();
    bool proof_of_life(clock::time_point now);
    void on_timer();
    clock::time_point now() const noexcept { return ctx_.clock.now(); }
    void send_init();
    void on_init_response(const nlohmann::json& body, const boost::system::error_code& ec);
    /// Counts a request that ended at `at` in the request_duration histogram of its outcome.
    void record_request(const boost::system::error_code& ec, clock::time_point deadline,
                        clock::time_point at) noexcept;
    void finish_request(request_op&& op, boost::system::error_code ec, nlohmann::json value);
    void after_request_done();
    void end_read_loop();
    void cancel_request(std::uint64_t id);
    void close_now();
    void update_accepting();
    // link_watch.cpp: quiet links handed to the pool's idle watch and taken back
    enum class watch_state : std::uint8_t { active, releasing, dormant };
    bool quiet_for_watch() const;
    bool quiet_after_release() const;
    bool begin_watch();
    bool on_released_read(const boost::system::error_code& ec);
    bool reclaim_socket();
    void ensure_attached();
    void detach_watch_for_close();
    // under watch_mutex_, while dormant:
    void read_watched(clock::time_point now);
    clock_time publish_watched();
    bool send_watched_ping();
    void hand_back();
    // link_report.cpp: what the flight recorder and the log are told
    void record_proven();
    void record_close(const boost::system::error_code& reason);
    void record_goaway(const std::string& reason);

    const endpoint& peer() const noexcept { return config_.endpoints[endpoint_index_]; }

    std::shared_ptr<link_owner> owner_; // kept alive: the context lives in it
    const link_context& ctx_;
    const pool_config& config_;
    const std::uint32_t slot_;
    const std::uint64_t id_;
    const std::size_t endpoint_index_;

    io_strand strand_;
    std::unique_ptr<transport> transport_;
    std::unique_ptr<deadline_timer> timer_; // the connect deadline and request deadlines
    clock::time_point timer_armed_at_ = clock::time_point::max();
    clock::time_point connect_started_{}; // for the connect_time histogram
    std::uint64_t init_id_ = 0;           // the init request's id while it is awaited
    clock::time_point read_at_{};         // when the read being decoded completed
    health_registry<link>::slot* health_slot_ = nullptr; // while proven and not closed

    // The idle watch (link_watch.cpp). Strand only:
    watch_state watch_ = watch_state::active;
    int watch_fd_ = -1;                 // the socket while releasing or dormant
    bool read_restart_pending_ = false; // reattached before the cancelled read completed
    // Guarded by watch_mutex_ while dormant (and by the strand otherwise), like fsm_ and
    // decoder_ then; next to them, so the idle watch touches few cache lines per ping:
    std::mutex watch_mutex_;
    bool watched_ = false;         // dormant: the idle watch may act on the link
    bool handed_back_ = false;     // the watch gave it back to the strand; hands off
    bool watch_ping_owed_ = false; // the due ping that started the hand-over is not sent yet
    bool watch_overdue_ = false;   // handed back because a pong is overdue
    int watch_errno_ = 0;          // handed back because the socket failed
    std::string watch_unsent_;     // the part of a ping the socket did not take
    idle_watch::slot* watch_slot_ = nullptr; // while dormant: where its due time goes

    sansio::link_fsm fsm_;
    wire::frame_decoder decoder_;
    sansio::request_table<request_op> requests_;
    request_inbox<request_op> inbox_; // submissions from any thread
    std::string inbox_frames_;        // strand: a drained batch's frames
    std::vector<request_inbox<request_op>::entry> inbox_entries_; // strand: and its entries
    bool draining_inbox_ = false;                                 // strand: inside drain_inbox
    std::string write_pending_;  // frames queued while a write is in flight
    std::string write_inflight_; // the buffer of the write in flight
    bool writing_ = false;
    bool replied_ = false;           // a request was answered (strand only)
    bool got_goaway_ = false;        // the server sent goaway (strand only)
    bool in_read_loop_ = false;      // decoding a read's frames (strand only)
    bool return_pending_ = false;    // the last hold dropped during that loop
    bool overdue_rechecked_ = false; // a ping deadline passed; looked again after queued reads
    struct finished_request {
        request_op op;
        boost::system::error_code ec;
        nlohmann::json value;
    };
    std::vector<finished_request> finished_in_loop_; // completed after the link is returned
    bool shutting_down_ = false;                     // pool shutdown: refusals say pool_closed
    std::string connect_detail_; // why the connect failed or the link broke, for diagnostics

    std::atomic<bool> accepting_{false};
    std::atomic<int> refusal_{0}; // tether::errc told to refused requests, 0 while accepting
    std::atomic<bool> discard_{false};
    std::atomic<int> holds_{0};
    std::atomic<clock_time::rep> lease_start_{0}; // see lease_start()
    std::atomic<bool> cached_lease_{false};
    std::atomic<clock_time::rep> retire_at_{std::numeric_limits<clock_time::rep>::max()};
    std::atomic<std::uint64_t> next_id_{1};
};

} // namespace tether::detail
