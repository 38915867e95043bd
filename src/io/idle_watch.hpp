#pragma once

// The pool's health loop for idle links ("dormant" ones): one thread of its own blocked on one
// epoll set, instead of one Asio read operation per link and a strand hop per ping.
//
// Why: with thousands of idle links pinged every second, a pong read through Asio costs a
// reactor operation, a hand-off to the link's strand, a completion and a speculative read that
// returns EAGAIN, and with several io threads a wake-up of an idle one for nearly every pong
// (1.6-1.9x the CPU of a plain epoll loop on two io threads, measured). A link that is proven,
// unleased and quiet when its ping falls due instead takes its socket out of Asio's reactor
// and hands it here: this loop sends its pings with one send() when due and reads its pongs
// with one recv() each, in batches as they come, like the minimal pinger of bench/scale.
// Anything else (a lease, a frame that is not a pong, a closed or failing socket, an
// unanswered ping, a drain or close) hands the link back to its strand, which takes the
// socket back into Asio before doing anything else (see link_watch.cpp).
//
// Thread safety: every function from any thread. A dormant link's own state is guarded by the
// link's watch mutex; the table of links by this class's mutex.

#include "io/clock_service.hpp"
#include "io/due_times.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tether::detail {

class link;

class idle_watch : public std::enable_shared_from_this<idle_watch> {
public:
    /// Where a dormant link publishes when it next needs looking at (its ping, its pong
    /// deadline); stable while the link is watched.
    class slot {
    public:
        void publish(clock_time due) noexcept { due_times::publish(*due_, due); }

    private:
        friend class idle_watch;
        std::shared_ptr<link> owner_;
        due_times::cell* due_ = nullptr; // in dues_, at the same index
        std::uint32_t index_ = 0;        // in slots_
        std::uint32_t generation_ = 0;   // the epoll key of a link: index and generation
    };

    /// `tick`: how often due pings are looked for (the pool's health tick period). `io`: the
    /// pool's io threads, where observers are told about pongs.
    idle_watch(clock_service& clock, std::chrono::steady_clock::duration tick,
               boost::asio::any_io_executor io);
    ~idle_watch();
    idle_watch(const idle_watch&) = delete;
    idle_watch& operator=(const idle_watch&) = delete;

    /// Starts the loop's thread.
    void start();
    /// Asks the loop to end; it drops every reference (no link is dormant by then).
    void stop() noexcept;

    /// Watches `fd` for `l` (level-triggered: readable, peer shut down) and keeps `l` alive
    /// until forget(). Null when the set refused it; then nothing is kept. The caller holds
    /// the link's watch mutex (the loop may see an event for `fd` before this returns).
    slot* adopt(const std::shared_ptr<link>& l, int fd);
    /// Makes the loop look at every link's due time now (after a new link published its
    /// first: it may be earlier than anything the loop plans for).
    void wake() noexcept;
    /// Takes `fd` out of the set (the link's watch mutex held): no event for it comes after.
    void unwatch(int fd) noexcept;
    /// `s`'s link is no longer dormant: its reference is dropped by the loop between two
    /// rounds (a round works on plain pointers), and events already collected under its old
    /// key are recognised as stale and skipped.
    void forget(slot* s);

    /// A dormant link's pong took `rtt`: the observer hears of it on an io thread, with the
    /// others of the same round (one hand-off per round, not one per pong).
    void note_ping_rtt(std::shared_ptr<link> l, std::chrono::microseconds rtt);

    /// Links currently watched.
    std::size_t size() const;

private:
    static constexpr std::uint64_t wake_key = ~std::uint64_t{0};

    void run();
    clock_time read_ready();
    clock_time service_due();
    void flush_rtts();

    clock_service& clock_;
    const std::chrono::steady_clock::duration tick_;
    int epoll_fd_ = -1;
    int wake_fd_ = -1; // an eventfd in the set: adopt() and stop() wake the loop
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    mutable std::mutex mutex_; // slots_, free_, size_, retired_
    std::deque<slot> slots_;   // a deque never moves its elements
    due_times dues_;           // slots_[i]'s due time at index i
    std::vector<std::uint32_t> free_;
    std::size_t size_ = 0;
    std::vector<std::shared_ptr<link>> retired_; // forgotten, dropped between rounds
    bool ended_ = false;                         // the loop ended: adopts nothing more
    // The loop's own:
    std::vector<link*> batch_; // alive: in slots_ or retired_ until the round ends
    std::vector<std::shared_ptr<link>> dropping_;
    std::vector<std::uint64_t> keys_;
    boost::asio::any_io_executor io_;
    std::mutex rtt_mutex_;
    std::vector<std::pair<std::shared_ptr<link>, std::chrono::microseconds>> rtts_;
};

} // namespace tether::detail
