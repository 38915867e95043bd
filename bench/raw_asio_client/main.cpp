// raw_asio_client: the hand-written Boost.Asio baseline (raw_client.hpp) on its own, against a
// running server, to try it by hand. tether_e2e (bench/e2e) is the real comparison with tether.
//
// Measures the request rate of one workload for a few seconds and prints it:
//   closed loop:  C caller threads each doing blocking requests on L connections (C > L: callers
//                 share the connections through a free list);
//   pipelined:    D requests in flight on one connection, each completion sending the next.
//
//   tether-echo-server &                  # prints LISTENING <port>
//   raw_asio_client --port P [--host H] [--callers C] [--links L] [--depth D]
//                   [--bytes B] [--seconds S] [--io-threads T] [--tls] [--tls-ca FILE]
// --depth selects the pipelined mode (--callers and --links are then ignored). --tls speaks TLS
// (the server: tether-echo-server --tls-cert server.pem --tls-key server.key), verifying the
// server's certificate against --tls-ca (implies --tls; default: the system's trust store).

#include "cli_number.hpp" // bench/common
#include "raw_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::size_t callers = 1;
    std::size_t links = 1;
    std::size_t depth = 0; // 0: closed loop
    std::size_t bytes = 64;
    double seconds = 2;
    unsigned io_threads = 2;
    std::optional<tether_bench::raw_tls> tls;
};

constexpr const char* usage_line =
    "usage: raw_asio_client --port P [--host H] [--callers C] [--links L]"
    " [--depth D] [--bytes B] [--seconds S] [--io-threads T] [--tls] [--tls-ca FILE]\n";

[[noreturn]] void usage(const std::string& message)
{
    std::cerr << "raw_asio_client: " << message << '\n' << usage_line;
    std::exit(2);
}

template <class T> T number(std::string_view name, std::string_view text)
{
    const std::optional<T> value = tether_bench::parse_number<T>(text);
    if (!value)
        usage("bad value '" + std::string(text) + "' for " + std::string(name));
    return *value;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in)
        usage("cannot read " + path);
    return text.str();
}

options parse(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view name = argv[i];
        if (name == "--help" || name == "-h") {
            std::cout << usage_line;
            std::exit(0);
        }
        if (name == "--tls") {
            o.tls = o.tls.value_or(tether_bench::raw_tls{});
            continue;
        }
        if (i + 1 >= argc)
            usage("missing value for " + std::string(name));
        const std::string_view value = argv[++i];
        if (name == "--host")
            o.host = std::string(value);
        else if (name == "--port")
            o.port = number<std::uint16_t>(name, value);
        else if (name == "--callers")
            o.callers = number<std::size_t>(name, value);
        else if (name == "--links")
            o.links = number<std::size_t>(name, value);
        else if (name == "--depth")
            o.depth = number<std::size_t>(name, value);
        else if (name == "--bytes")
            o.bytes = number<std::size_t>(name, value);
        else if (name == "--seconds")
            o.seconds = number<double>(name, value);
        else if (name == "--io-threads")
            o.io_threads = number<unsigned>(name, value);
        else if (name == "--tls-ca")
            o.tls = tether_bench::raw_tls{read_file(std::string(value))};
        else
            usage("unknown option " + std::string(name));
    }
    if (o.port == 0 || o.callers == 0 || o.links == 0 || o.io_threads == 0 || !(o.seconds > 0))
        usage("--port is required; counts and --seconds must be positive");
    return o;
}

json body_of_size(std::size_t bytes)
{
    const std::size_t overhead = json{{"p", ""}}.dump().size();
    return json{{"p", std::string(bytes > overhead ? bytes - overhead : 0, 'x')}};
}

// C threads of blocking requests until `until`; returns the number completed.
std::uint64_t closed_loop(tether_bench::raw_client& client, const options& o, const json& body,
                          steady::time_point until)
{
    std::atomic<std::uint64_t> done{0};
    std::vector<std::thread> callers;
    for (std::size_t i = 0; i < o.callers; ++i)
        callers.emplace_back([&, i] {
            std::uint64_t n = 0;
            try {
                while (steady::now() < until) {
                    if (o.callers <= o.links)
                        client.request(i, body);
                    else
                        client.request(body);
                    ++n;
                }
            } catch (const std::exception& e) {
                std::cerr << "raw_asio_client: caller " << i << ": " << e.what() << '\n';
            }
            done += n;
        });
    for (auto& t : callers)
        t.join();
    return done;
}

// D requests in flight on connection 0 until `until`; returns the number completed.
std::uint64_t pipelined(tether_bench::raw_client& client, const options& o, const json& body,
                        steady::time_point until)
{
    struct state {
        std::mutex m;
        std::condition_variable cv;
        std::size_t in_flight = 0;
        std::uint64_t done = 0;
    } s;
    // Runs on the connection's strand: counts, then keeps the slot busy until the deadline.
    std::function<void(boost::system::error_code, json)> next = [&](boost::system::error_code ec,
                                                                    json) {
        std::lock_guard lock(s.m);
        if (!ec)
            ++s.done;
        if (ec || steady::now() >= until) {
            if (--s.in_flight == 0)
                s.cv.notify_all();
            return;
        }
        client.async_request(0, body, next);
    };
    {
        std::lock_guard lock(s.m);
        s.in_flight = o.depth;
        for (std::size_t i = 0; i < o.depth; ++i)
            client.async_request(0, body, next);
    }
    std::unique_lock lock(s.m);
    s.cv.wait(lock, [&] { return s.in_flight == 0; });
    return s.done;
}

} // namespace

int main(int argc, char** argv)
{
    const options o = parse(argc, argv);
    try {
        tether_bench::raw_client client(o.host, o.port, o.depth > 0 ? 1 : o.links, o.io_threads,
                                        o.tls);
        const json body = body_of_size(o.bytes);
        const auto start = steady::now();
        const auto until = start + std::chrono::duration_cast<steady::duration>(
                                       std::chrono::duration<double>(o.seconds));
        const std::uint64_t n =
            o.depth > 0 ? pipelined(client, o, body, until) : closed_loop(client, o, body, until);
        const double elapsed = std::chrono::duration<double>(steady::now() - start).count();
        client.shutdown();
        std::cout << (o.depth > 0 ? "pipelined depth " + std::to_string(o.depth)
                                  : "closed loop " + std::to_string(o.callers) + "x" +
                                        std::to_string(o.links))
                  << ", " << o.bytes << "-byte bodies" << (o.tls ? " over TLS" : "") << ": " << n
                  << " requests in " << elapsed << " s = " << static_cast<double>(n) / elapsed
                  << " req/s\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "raw_asio_client: " << e.what() << '\n';
        return 1;
    }
}
