// tether_asio_pinger: the floor of idle health checking in Asio's model, to tell what the pool
// adds from what Asio's reactor costs. The same work as tether_scale's phase 1 and its minimal
// epoll pinger (N links, each pinged once a second, every pong read), shaped as tether does it
// but with nothing else: one io thread (or THREADS), a strand per link, a speculative
// async_read_some loop on each, a 10 ms tick that posts a ping to one hundredth of the links'
// strands, each ping sent with one non-blocking write_some. No pool, no state machine, no parsing,
// no counters.
//
//   build/release/testing/tether-echo-server --port 47111 &
//   build/release/bench/scale/tether_asio_pinger 47111 10000 20   # port, links, seconds
//   build/release/bench/scale/tether_asio_pinger 47111 10000 20 2 # ... on 2 io threads
//
// Prints the process's CPU per ping over the run (connects excluded). Raise the descriptor
// limit first (ulimit -n).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

double process_cpu_seconds()
{
    timespec t{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct pinged_link : std::enable_shared_from_this<pinged_link> {
    explicit pinged_link(asio::io_context& io, std::atomic<std::uint64_t>& received)
        : strand(asio::make_strand(io)), socket(strand), bytes_received(received)
    {
    }

    void read()
    {
        socket.async_read_some(
            asio::buffer(buffer),
            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                if (ec) {
                    std::fprintf(stderr, "read: %s\n", ec.message().c_str());
                    return;
                }
                self->bytes_received.fetch_add(n, std::memory_order_relaxed);
                self->read();
            });
    }

    asio::strand<asio::io_context::executor_type> strand;
    tcp::socket socket;
    char buffer[512];
    std::atomic<std::uint64_t>& bytes_received;
};

struct pinger {
    explicit pinger(int threads) : io(threads) {}
    asio::io_context io;
    std::vector<std::shared_ptr<pinged_link>> links;
    asio::steady_timer tick{io};
    clock_type::time_point next, end;
    std::size_t bucket = 0;
    std::atomic<std::uint64_t> pings{0}, received{0};
    std::string frame;

    void arm()
    {
        next += std::chrono::milliseconds(10);
        tick.expires_at(next);
        tick.async_wait([this](boost::system::error_code) { on_tick(); });
    }

    void on_tick()
    {
        if (clock_type::now() >= end) {
            io.stop();
            return;
        }
        for (std::size_t i = bucket; i < links.size(); i += 100) {
            asio::post(links[i]->strand, [this, l = links[i]] {
                boost::system::error_code ec;
                l->socket.write_some(asio::buffer(frame), ec);
                pings.fetch_add(1, std::memory_order_relaxed);
            });
        }
        bucket = (bucket + 1) % 100;
        arm();
    }
};

} // namespace

int main(int argc, char** argv)
try {
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: %s PORT LINKS SECONDS [THREADS]\n", argv[0]);
        return 2;
    }
    const auto port = static_cast<std::uint16_t>(std::stoul(argv[1]));
    const std::size_t count = std::stoul(argv[2]);
    const auto seconds = std::chrono::seconds(std::stoul(argv[3]));
    const int threads = argc == 5 ? std::stoi(argv[4]) : 1;
    if (threads < 1) {
        std::fprintf(stderr, "THREADS must be >= 1\n");
        return 2;
    }

    pinger p(threads);
    const std::string payload = R"({"type":"ping","id":1})";
    p.frame = std::string(3, '\0') + static_cast<char>(payload.size()) + payload;
    const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    for (std::size_t i = 0; i < count; ++i) {
        auto l = std::make_shared<pinged_link>(p.io, p.received);
        l->socket.connect(server);
        l->socket.set_option(tcp::no_delay(true));
        l->socket.non_blocking(true);
        l->read();
        p.links.push_back(std::move(l));
    }
    const auto start = clock_type::now();
    p.next = start;
    p.end = start + seconds;
    p.arm();
    const double cpu_start = process_cpu_seconds();
    std::vector<std::thread> others;
    for (int t = 1; t < threads; ++t)
        others.emplace_back([&p] { p.io.run(); });
    p.io.run();
    for (auto& t : others)
        t.join();
    const double cpu = process_cpu_seconds() - cpu_start;
    const double wall = std::chrono::duration<double>(clock_type::now() - start).count();
    const std::uint64_t pong_frame = 4 + std::string_view(R"({"type":"pong","id":1})").size();
    const std::uint64_t pings = p.pings.load();
    std::printf("asio pinger: %zu links, %d io thread(s), %.1f s, %llu pings, %llu pongs, CPU "
                "%.2f s = %.2f us per ping\n",
                count, threads, wall, static_cast<unsigned long long>(pings),
                static_cast<unsigned long long>(p.received.load() / pong_frame), cpu,
                pings > 0 ? 1e6 * cpu / static_cast<double>(pings) : 0.0);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "tether_asio_pinger: %s\n", e.what());
    return 3;
}
