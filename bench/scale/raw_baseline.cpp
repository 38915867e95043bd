#include "raw_baseline.hpp"

#include "process_metrics.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace tether_scale {
namespace {

using clock = std::chrono::steady_clock;
constexpr int buckets = 100; // a tick every 10 ms pings one bucket: each link once a second

// A ping frame: 4-byte big-endian length, then the JSON.
std::string ping_frame()
{
    const std::string payload = R"({"type":"ping","id":1})";
    std::string out(4, '\0');
    out[3] = static_cast<char>(payload.size());
    return out + payload;
}

struct raw_link {
    int fd = -1;
    std::uint32_t pending = 0; ///< bytes still owed of the frame being read (header included)
    std::string header;        ///< partial header bytes
};

std::string errno_text(const char* what)
{
    return std::string(what) + ": " + std::strerror(errno);
}

/// CPU time of the calling thread (nanosecond resolution, unlike getrusage's split figures).
double thread_cpu_seconds()
{
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

} // namespace

baseline_figures pooled(const baseline_figures& a, const std::optional<baseline_figures>& b)
{
    if (!b || !b->error.empty())
        return a;
    if (!a.error.empty())
        return *b;
    baseline_figures p = a;
    p.seconds += b->seconds;
    p.cpu_seconds += b->cpu_seconds;
    p.send_cpu_seconds += b->send_cpu_seconds;
    p.pings += b->pings;
    p.pongs += b->pongs;
    return p;
}

baseline_figures run_raw_baseline(std::uint16_t port, std::size_t count,
                                  std::chrono::seconds duration)
{
    baseline_figures f;
    f.links = count;
    std::vector<raw_link> links(count);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    const int tick = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    const auto cleanup = [&] {
        for (auto& l : links)
            if (l.fd >= 0)
                ::close(l.fd);
        ::close(tick);
        ::close(ep);
    };
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (std::size_t i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            f.error = errno_text("connect");
            if (fd >= 0)
                ::close(fd);
            cleanup();
            return f;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        links[i].fd = fd;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    itimerspec period{};
    period.it_interval.tv_nsec = 10'000'000;
    period.it_value.tv_nsec = 10'000'000;
    ::timerfd_settime(tick, 0, &period, nullptr);
    epoll_event tick_ev{};
    tick_ev.events = EPOLLIN;
    tick_ev.data.u64 = count; // the tick's id
    ::epoll_ctl(ep, EPOLL_CTL_ADD, tick, &tick_ev);

    const std::string ping = ping_frame();
    const auto cpu0 = thread_usage().cpu;
    const auto t0 = clock::now();
    const auto end = t0 + duration;
    std::size_t bucket = 0;
    std::vector<epoll_event> events(256);
    char buf[4096];
    while (clock::now() < end && f.error.empty()) {
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
        for (int e = 0; e < n; ++e) {
            const auto id = events[static_cast<std::size_t>(e)].data.u64;
            if (id == count) {
                std::uint64_t expirations = 0;
                if (::read(tick, &expirations, sizeof expirations) < 0)
                    continue;
                const double send_start = thread_cpu_seconds();
                for (std::size_t i = bucket; i < count; i += buckets) {
                    if (::send(links[i].fd, ping.data(), ping.size(), MSG_NOSIGNAL) !=
                        static_cast<ssize_t>(ping.size())) {
                        f.error = errno_text("send");
                        break;
                    }
                    ++f.pings;
                }
                f.send_cpu_seconds += thread_cpu_seconds() - send_start;
                bucket = (bucket + 1) % buckets;
                continue;
            }
            raw_link& l = links[id];
            const ssize_t r = ::recv(l.fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                f.error = r == 0 ? std::string("the server closed a link") : errno_text("recv");
                break;
            }
            // Count whole frames (all of them pongs: the server sends nothing else unasked).
            for (ssize_t k = 0; k < r;) {
                if (l.pending == 0) {
                    l.header.push_back(buf[k++]);
                    if (l.header.size() == 4) {
                        const auto* u = reinterpret_cast<const unsigned char*>(l.header.data());
                        l.pending = (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) |
                                    (std::uint32_t{u[2]} << 8) | std::uint32_t{u[3]};
                        l.header.clear();
                        if (l.pending == 0)
                            ++f.pongs;
                    }
                    continue;
                }
                const auto take =
                    std::min<std::uint32_t>(l.pending, static_cast<std::uint32_t>(r - k));
                l.pending -= take;
                k += take;
                if (l.pending == 0)
                    ++f.pongs;
            }
        }
    }
    f.cpu_seconds = std::chrono::duration<double>(thread_usage().cpu - cpu0).count();
    f.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    cleanup();
    return f;
}

} // namespace tether_scale
