#include "io/idle_watch.hpp"

#include "io/link.hpp"

#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <cerrno>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace tether::detail {

idle_watch::idle_watch(clock_service& clock, std::chrono::steady_clock::duration tick,
                       boost::asio::any_io_executor io)
    : clock_(clock), tick_(tick), io_(std::move(io))
{
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_key;
    if (epoll_fd_ < 0 || wake_fd_ < 0 ||
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
        const int error = errno;
        if (epoll_fd_ >= 0)
            ::close(epoll_fd_);
        if (wake_fd_ >= 0)
            ::close(wake_fd_);
        throw boost::system::system_error(error, boost::system::system_category(),
                                          "creating the idle watch's epoll set");
    }
}

idle_watch::~idle_watch()
{
    stop();
    if (thread_.joinable()) {
        // The loop may drop the last reference to a link, and with it to the pool and this.
        if (thread_.get_id() == std::this_thread::get_id())
            thread_.detach();
        else
            thread_.join();
    }
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void idle_watch::start()
{
    // The loop keeps this alive until it ends; its last act is to let go.
    thread_ = std::thread([self = shared_from_this()]() mutable {
        self->run();
        self.reset();
    });
}

void idle_watch::stop() noexcept
{
    stopping_.store(true, std::memory_order_release);
    wake();
}

void idle_watch::wake() noexcept
{
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

idle_watch::slot* idle_watch::adopt(const std::shared_ptr<link>& l, int fd)
{
    slot* s;
    std::uint64_t key;
    {
        std::lock_guard lock(mutex_);
        if (ended_)
            return nullptr;
        std::uint32_t index;
        if (!free_.empty()) {
            index = free_.back();
            free_.pop_back();
        } else {
            index = static_cast<std::uint32_t>(slots_.size());
            slot& added = slots_.emplace_back();
            added.index_ = index;
            added.due_ = &dues_.add();
        }
        s = &slots_[index];
        s->owner_ = l;
        s->due_->store(due_times::never, std::memory_order_relaxed);
        key = (std::uint64_t{s->generation_} << 32) | index;
        ++size_;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = key;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0)
        return s;
    forget(s);
    return nullptr;
}

void idle_watch::unwatch(int fd) noexcept
{
    epoll_event ignored{};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ignored);
}

void idle_watch::forget(slot* s)
{
    std::lock_guard lock(mutex_);
    if (!s->owner_)
        return;
    retired_.push_back(std::move(s->owner_));
    s->due_->store(due_times::never, std::memory_order_relaxed);
    ++s->generation_; // events collected under the old key are stale
    free_.push_back(s->index_);
    --size_;
}

std::size_t idle_watch::size() const
{
    std::lock_guard lock(mutex_);
    return size_;
}

void idle_watch::run()
{
    std::array<epoll_event, 256> events;
    constexpr auto gather = std::chrono::microseconds(500);
    // When to look for due pings next: max() while nothing is dormant (the loop then sleeps
    // until a link comes), and never sooner than a tick after the last look.
    clock_time next_scan = clock_time::max();
    clock_time last_scan = clock_.now();
    const auto plan = [&](clock_time due) {
        if (due != clock_time::max())
            next_scan = std::min(next_scan, std::max(due - tick_ / 2, last_scan + tick_));
    };
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            dropping_.swap(retired_);
        }
        dropping_.clear(); // no round holds a plain pointer to them now
        int timeout = -1;
        if (next_scan != clock_time::max()) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(next_scan - clock_.now());
            timeout = static_cast<int>(std::max<std::int64_t>(left.count(), 0));
        }
        const int n =
            ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
        bool woken = false;
        keys_.clear();
        for (int i = 0; i < n; ++i) {
            const std::uint64_t key = events[static_cast<std::size_t>(i)].data.u64;
            if (key == wake_key)
                woken = true;
            else
                keys_.push_back(key);
        }
        if (woken) {
            std::uint64_t count = 0;
            [[maybe_unused]] const auto got = ::read(wake_fd_, &count, sizeof count);
            if (stopping_.load(std::memory_order_acquire))
                break;
            next_scan = clock_.now(); // a link came: look at once, then plan from its times
        }
        if (!keys_.empty())
            plan(read_ready());
        const auto now = clock_.now();
        if (now >= next_scan) {
            last_scan = now;
            next_scan = clock_time::max();
            plan(service_due());
        } else if (n > 0 && n < 32 && next_scan - now > gather) {
            // A trickle: let it gather before the next look, rather than wake for each pong.
            std::this_thread::sleep_for(gather);
        }
    }
    // Ended: every reference goes (none should be left: links come back before they close).
    std::deque<slot> dropped_slots;
    {
        std::lock_guard lock(mutex_);
        ended_ = true;
        dropped_slots.swap(slots_);
        dues_.clear();
        dropping_.swap(retired_);
        free_.clear();
        size_ = 0;
    }
    dropping_.clear();
    std::lock_guard lock(rtt_mutex_);
    rtts_.clear();
}

// Every link with bytes (or an end) waiting is read once. Returns the earliest time one of
// them needs looking at again.
clock_time idle_watch::read_ready()
{
    {
        std::lock_guard lock(mutex_);
        for (const std::uint64_t key : keys_) {
            const auto index = static_cast<std::uint32_t>(key & 0xffff'ffffU);
            if (index >= slots_.size())
                continue;
            slot& s = slots_[index];
            if (s.generation_ == static_cast<std::uint32_t>(key >> 32) && s.owner_)
                batch_.push_back(s.owner_.get());
        }
    }
    const clock_time now = clock_.now();
    clock_time earliest = clock_time::max();
    for (std::size_t i = 0; i < batch_.size(); ++i) {
        if (i + 2 < batch_.size())
            batch_[i + 2]->prefetch_for_watch();
        earliest = std::min(earliest, batch_[i]->on_watch_readable(now));
    }
    batch_.clear();
    return earliest;
}

// Links whose ping (or pong deadline) falls within half a tick are looked at now. Returns the
// earliest time any dormant link needs looking at again.
clock_time idle_watch::service_due()
{
    const clock_time now = clock_.now();
    const clock_time::rep limit = (now + tick_ / 2).time_since_epoch().count();
    clock_time::rep earliest;
    {
        std::lock_guard lock(mutex_);
        earliest = dues_.collect(limit, [&](std::size_t i) {
            if (slots_[i].owner_)
                batch_.push_back(slots_[i].owner_.get());
        });
    }
    clock_time next = clock_time(clock_time::duration(earliest));
    for (std::size_t i = 0; i < batch_.size(); ++i) {
        if (i + 2 < batch_.size())
            batch_[i + 2]->prefetch_for_watch(); // each link costs a send: ample time
        next = std::min(next, batch_[i]->service_watched(now));
    }
    batch_.clear();
    flush_rtts();
    return next;
}

void idle_watch::note_ping_rtt(std::shared_ptr<link> l, std::chrono::microseconds rtt)
{
    std::lock_guard lock(rtt_mutex_);
    rtts_.emplace_back(std::move(l), rtt);
}

void idle_watch::flush_rtts()
{
    std::vector<std::pair<std::shared_ptr<link>, std::chrono::microseconds>> told;
    {
        std::lock_guard lock(rtt_mutex_);
        if (rtts_.empty())
            return;
        told.swap(rtts_);
    }
    boost::asio::post(io_, [told = std::move(told)] {
        for (const auto& [l, rtt] : told)
            l->report_ping_rtt(rtt);
    });
}

} // namespace tether::detail
