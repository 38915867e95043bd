// tether_demo: puts a pool under load and shows it working.
//
// Several caller threads loop: lease a link, pipeline N async_requests with unique bodies,
// check that every echo matches its own request, release. Once a second a line shows the live
// figures; after --duration (or on SIGINT/SIGTERM) a summary follows. Exits non-zero if a reply
// ever mismatched its request or if no request succeeded at all. With --metrics-port it serves
// the pool's metrics at http://127.0.0.1:PORT/metrics (metrics_server.hpp).
//
//   tether_demo [--endpoint host:port]... [--duration SECONDS] [--threads N]
//               [--connections N] [--pipeline N] [--io-threads N] [--metrics-port N]
//               [--tls] [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]
//               [--tls-server-name NAME]
//
// Without --endpoint it starts tether's reference echo server in-process on 127.0.0.1.

#include "demo_tls.hpp"
#include "metrics_server.hpp"

#include <tether/testing/echo_server.hpp>
#include <tether/testing/endpoint_arg.hpp>
#include <tether/tether.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

struct options {
    std::vector<tether::endpoint> endpoints;
    double duration_s = 10;
    unsigned threads = 4;
    std::size_t connections = 4;
    std::size_t pipeline = 8;
    unsigned io_threads = 2;
    std::optional<std::uint16_t> metrics_port; ///< serve /metrics on it (0: an ephemeral port)
    demo::tls_args tls;
};

const char* const usage =
    "usage: tether_demo [--endpoint host:port]... [--duration SECONDS] [--threads N]\n"
    "                   [--connections N] [--pipeline N] [--io-threads N] [--metrics-port N]\n"
    "  --endpoint     server to connect to; repeatable (default: start the echo server "
    "in-process)\n"
    "  --duration     seconds to run (default 10); SIGINT/SIGTERM stop earlier\n"
    "  --threads      caller threads (default 4)\n"
    "  --connections  max_connections of the pool (default 4)\n"
    "  --pipeline     requests in flight per lease (default 8, at most 1024)\n"
    "  --io-threads   io threads of the pool (default 2)\n"
    "  --metrics-port serve the pool's metrics (Prometheus text) at\n"
    "                 http://127.0.0.1:N/metrics; 0 picks a free port and prints it\n"
    "  --tls          speak TLS (without --endpoint: to the in-process server, with\n"
    "                 certificates the demo makes for itself)\n"
    "  --tls-ca FILE  trust anchors (PEM; default: the system's trust store); implies --tls\n"
    "  --tls-cert FILE, --tls-key FILE   client certificate and key (mutual TLS)\n"
    "  --tls-server-name NAME            name to verify and send as SNI (default: the host)\n";

unsigned long parse_count(const std::string& name, const std::string& v, unsigned long max)
{
    std::size_t used = 0;
    const unsigned long n = std::stoul(v, &used);
    if (used != v.size() || n == 0 || n > max)
        throw std::invalid_argument(name + ": expected a whole number in 1.." +
                                    std::to_string(max) + ", got '" + v + "'");
    return n;
}

options parse_options(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << usage;
            std::exit(0);
        }
        if (arg == "--tls") {
            o.tls.on = true;
            continue;
        }
        std::string value;
        std::string name = arg;
        if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw std::invalid_argument(arg + ": missing value");
        }
        try {
            if (name == "--endpoint") {
                o.endpoints.push_back(tether::testing::parse_endpoint_arg(value, name));
            } else if (name == "--duration") {
                std::size_t used = 0;
                o.duration_s = std::stod(value, &used);
                if (used != value.size() || !(o.duration_s > 0) || o.duration_s > 1e7)
                    throw std::invalid_argument("--duration: expected seconds > 0, got '" + value +
                                                "'");
            } else if (name == "--threads") {
                o.threads = static_cast<unsigned>(parse_count(name, value, 1024));
            } else if (name == "--connections") {
                o.connections = parse_count(name, value, 100000);
            } else if (name == "--pipeline") {
                o.pipeline = parse_count(name, value, 1024);
            } else if (name == "--io-threads") {
                o.io_threads = static_cast<unsigned>(parse_count(name, value, 256));
            } else if (name == "--metrics-port") {
                // 0 is allowed: an ephemeral port (parse_count wants 1 or more).
                o.metrics_port =
                    static_cast<std::uint16_t>(value == "0" ? 0 : parse_count(name, value, 65535));
            } else if (name == "--tls-ca") {
                o.tls.on = true;
                o.tls.ca_file = value;
            } else if (name == "--tls-cert") {
                o.tls.on = true;
                o.tls.cert_file = value;
            } else if (name == "--tls-key") {
                o.tls.on = true;
                o.tls.key_file = value;
            } else if (name == "--tls-server-name") {
                o.tls.on = true;
                o.tls.server_name = value;
            } else {
                throw std::invalid_argument("unknown option " + name);
            }
        } catch (const std::invalid_argument& e) {
            // std::stoul/stod throw invalid_argument with a useless what(): say which option.
            const std::string what = e.what();
            if (what.rfind("--", 0) == 0 || what.rfind("unknown", 0) == 0)
                throw;
            throw std::invalid_argument(name + ": bad value '" + value + "'");
        } catch (const std::out_of_range&) {
            throw std::invalid_argument(name + ": value out of range '" + value + "'");
        }
    }
    return o;
}

// ---------------------------------------------------------------------------------------------
// Stop flag: set by SIGINT/SIGTERM (a lock-free atomic store is async-signal-safe) or at the end
// of --duration. Nothing reads stdin, so the demo runs the same without a terminal.
// ---------------------------------------------------------------------------------------------

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void on_signal(int sig)
{
    stop_signal.store(sig, std::memory_order_relaxed);
    stop_requested.store(true, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Latencies: raw samples per interval (exact percentiles per second) and a log-bucketed
// histogram over the whole run (percentiles within ~3 % for the summary).
// ---------------------------------------------------------------------------------------------

class histogram {
public:
    void add(std::uint64_t us)
    {
        ++buckets_[index(us)];
        ++count_;
    }
    void merge(const std::vector<std::uint32_t>& samples)
    {
        for (auto s : samples)
            add(s);
    }
    std::uint64_t count() const { return count_; }
    /// Upper bound of the bucket holding quantile q, in microseconds.
    std::uint64_t quantile(double q) const
    {
        if (count_ == 0)
            return 0;
        const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= std::max<std::uint64_t>(rank, 1))
                return upper(i);
        }
        return upper(buckets_.size() - 1);
    }

private:
    static constexpr unsigned sub_bits = 5; // 32 buckets per power of two
    static constexpr std::size_t sub = std::size_t{1} << sub_bits;
    static constexpr std::size_t powers = 40;

    static std::size_t index(std::uint64_t v)
    {
        if (v < sub)
            return static_cast<std::size_t>(v);
        const auto msb = static_cast<unsigned>(63 - __builtin_clzll(v)); // >= sub_bits
        const auto shift = msb - sub_bits;
        const auto mantissa = static_cast<std::size_t>((v >> shift) & (sub - 1));
        return std::min<std::size_t>((shift + 1) * sub + mantissa, sub * powers - 1);
    }
    static std::uint64_t upper(std::size_t i)
    {
        if (i < sub)
            return i;
        const std::size_t shift = i / sub - 1;
        const std::uint64_t mantissa = i % sub;
        return ((sub + mantissa + 1) << shift) - 1;
    }

    std::array<std::uint64_t, sub * powers> buckets_{};
    std::uint64_t count_ = 0;
};

std::uint32_t exact_quantile(std::vector<std::uint32_t>& v, double q)
{
    if (v.empty())
        return 0;
    auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    k = std::clamp<std::size_t>(k, 1, v.size()) - 1;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

std::string format_us(std::uint64_t us)
{
    char buf[32];
    if (us < 10'000)
        std::snprintf(buf, sizeof buf, "%lluus", static_cast<unsigned long long>(us));
    else
        std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(us) / 1000.0);
    return buf;
}

// ---------------------------------------------------------------------------------------------
// Shared figures of the run
// ---------------------------------------------------------------------------------------------

struct figures {
    std::atomic<std::uint64_t> ok{0};         // replies that matched their request
    std::atomic<std::uint64_t> mismatches{0}; // replies that did not
    std::atomic<std::uint64_t> failures{0};   // failed requests and acquires
    std::atomic<std::uint64_t> leases{0};     // batches run

    std::mutex m; // guards the members below
    std::vector<std::uint32_t> interval_latencies_us;
    std::map<std::string, std::uint64_t> errors; // "where: category:value (message)" -> count
    std::vector<std::string> mismatch_examples;

    void record_latency(steady::duration d)
    {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        const auto v = static_cast<std::uint32_t>(std::clamp<long long>(us, 0, 0xFFFFFFFFLL));
        std::lock_guard lock(m);
        interval_latencies_us.push_back(v);
    }
    template <class Code> void record_error(const char* where, const Code& ec)
    {
        failures.fetch_add(1, std::memory_order_relaxed);
        std::ostringstream key;
        key << where << ": " << ec.category().name() << ':' << ec.value() << " (" << ec.message()
            << ')';
        std::lock_guard lock(m);
        ++errors[key.str()];
    }
    void record_mismatch(const json& sent, const json& got)
    {
        mismatches.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(m);
        if (mismatch_examples.size() < 5)
            mismatch_examples.push_back("sent " + sent.dump() + ", got " + got.dump());
    }
};

// One lease's worth of pipelined requests; shared with the handlers, so a handler can never
// outlive it even if the caller stopped waiting.
struct batch {
    std::mutex m;
    std::condition_variable cv;
    std::size_t remaining = 0;

    void one_done()
    {
        std::lock_guard lock(m); // notify under the lock: the waiter cannot miss it
        if (--remaining == 0)
            cv.notify_all();
    }
};

void caller_thread(tether::pool pool, unsigned thread_no, std::size_t pipeline, figures& fig,
                   std::chrono::milliseconds batch_deadline)
{
    std::uint64_t seq = 0;
    const std::string tag = "t" + std::to_string(thread_no);
    while (!stop_requested.load(std::memory_order_relaxed)) {
        std::error_code ec;
        tether::lease lease = pool.acquire(ec);
        if (ec) {
            fig.record_error("acquire", ec);
            std::this_thread::sleep_for(50ms); // e.g. no_endpoint_available: do not spin
            continue;
        }
        fig.leases.fetch_add(1, std::memory_order_relaxed);
        auto b = std::make_shared<batch>();
        b->remaining = pipeline;
        for (std::size_t i = 0; i < pipeline; ++i) {
            // A unique body per request: thread, sequence number and a payload derived from both.
            json body{{"op", "echo"},
                      {"thread", thread_no},
                      {"seq", seq},
                      {"data", tag + "-" + std::to_string(seq) + "-" +
                                   std::to_string(seq * 2654435761u % 1000003u)}};
            ++seq;
            const auto start = steady::now();
            lease.async_request(body,
                                [b, &fig, start, body](boost::system::error_code rec, json reply) {
                                    if (rec) {
                                        fig.record_error("request", rec);
                                    } else if (reply != body) {
                                        fig.record_mismatch(body, reply);
                                    } else {
                                        fig.record_latency(steady::now() - start);
                                        fig.ok.fetch_add(1, std::memory_order_relaxed);
                                    }
                                    b->one_done();
                                });
        }
        {
            std::unique_lock lock(b->m);
            if (!b->cv.wait_for(lock, batch_deadline, [&] { return b->remaining == 0; })) {
                // Never expected: request_timeout bounds every request. Say so and move on.
                lock.unlock();
                fig.record_error("demo", std::make_error_code(std::errc::timed_out));
                lease.discard();
                continue;
            }
        }
        lease.release();
    }
}

// What a pool histogram recorded between two snapshots (bucket counts: all a quantile needs).
tether::histogram since(const tether::histogram& now, const tether::histogram& before)
{
    tether::histogram d;
    for (std::size_t i = 0; i < tether::histogram::bucket_count; ++i)
        d.add(i, now.counts()[i] - before.counts()[i], 0);
    return d;
}

std::string format_p99(const tether::histogram& h)
{
    return format_us(static_cast<std::uint64_t>(h.quantile(0.99) * 1e6));
}

// `s` and `before`: the pool's stats now and at the previous line, whose histograms give the
// interval's acquire-wait and request (ok) p99, as a scrape of metrics_text() would.
void print_figures_line(double elapsed_s, std::uint64_t delta_ok, double interval_s, figures& fig,
                        const tether::pool_stats& s, const tether::pool_stats& before,
                        histogram& overall)
{
    std::vector<std::uint32_t> lat;
    {
        std::lock_guard lock(fig.m);
        lat.swap(fig.interval_latencies_us);
    }
    overall.merge(lat);
    const auto p50 = exact_quantile(lat, 0.50);
    const auto p99 = exact_quantile(lat, 0.99);
    const auto wait_p99 = format_p99(since(s.acquire_wait, before.acquire_wait));
    const auto ok_p99 = format_p99(since(s.requests_by(tether::request_outcome::ok),
                                         before.requests_by(tether::request_outcome::ok)));
    char line[400];
    std::snprintf(
        line, sizeof line,
        "[%5.1fs] %9.0f req/s  total %10llu  idle %zu leased %zu connecting %zu waiting %zu"
        "  failures %llu  p50 %s p99 %s  pool: acquire wait p99 %s, request p99 %s",
        elapsed_s, static_cast<double>(delta_ok) / interval_s,
        static_cast<unsigned long long>(fig.ok.load()), s.idle, s.leased, s.connecting, s.waiting,
        static_cast<unsigned long long>(fig.failures.load() + fig.mismatches.load()),
        format_us(p50).c_str(), format_us(p99).c_str(), wait_p99.c_str(), ok_p99.c_str());
    std::cout << line << std::endl;
}

int run(const options& opt)
{
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    std::unique_ptr<tether::testing::echo_server> server;
    std::vector<tether::endpoint> endpoints = opt.endpoints;
    tether::tls_options tls = demo::client_options(opt.tls);
    if (endpoints.empty()) {
        tether::testing::echo_server_options so;
        so.host = "127.0.0.1";
        so.port = 0;
        so.threads = 2;
        if (opt.tls.on)
            std::cout << demo::use_own_certificates(so, tls) << '\n';
        server = std::make_unique<tether::testing::echo_server>(so);
        server->start();
        // By name over TLS, so that the certificate's DNS name is what gets verified.
        endpoints.push_back({opt.tls.on ? "localhost" : "127.0.0.1", server->port()});
        std::cout << "no --endpoint given: started the in-process echo server on 127.0.0.1:"
                  << server->port() << " (2 threads" << (opt.tls.on ? ", TLS" : "") << ")\n";
    }

    tether::pool_builder builder;
    builder.name("demo");
    if (opt.tls.on)
        builder.tls(tls);
    for (const auto& ep : endpoints)
        builder.endpoint(ep.host, ep.port);
    const auto request_timeout = 5s;
    tether::pool pool = builder.min_connections(1)
                            .max_connections(opt.connections)
                            .io_threads(opt.io_threads)
                            .acquire_timeout(5s)
                            .connect_timeout(2s)
                            .request_timeout(request_timeout)
                            .backoff(100ms, 2.0, 5s, 0.2)
                            .build();

    std::cout << "endpoints:";
    for (const auto& ep : endpoints)
        std::cout << ' ' << tether::to_string(ep);
    std::cout << "\ncaller threads " << opt.threads << ", max_connections " << opt.connections
              << ", pipeline " << opt.pipeline << ", io threads " << pool.config().io_threads
              << ", duration " << opt.duration_s << " s (Ctrl-C stops earlier)\n"
              << "tls: " << tether::to_json(pool.config())["tls"].dump() << '\n';
    std::unique_ptr<demo::metrics_server> metrics;
    if (opt.metrics_port) {
        metrics = std::make_unique<demo::metrics_server>(pool, *opt.metrics_port);
        std::cout << "metrics: http://127.0.0.1:" << metrics->port() << "/metrics" << std::endl;
    }
    if (!pool.wait_ready(3s))
        std::cout << "warning: pool not ready after 3 s: " << pool.diagnostics() << '\n';

    figures fig;
    const auto start = steady::now();
    std::vector<std::thread> callers;
    callers.reserve(opt.threads);
    std::atomic<unsigned> running{opt.threads};
    for (unsigned t = 0; t < opt.threads; ++t)
        callers.emplace_back([&, t] {
            caller_thread(pool, t, opt.pipeline, fig, request_timeout + 5s);
            running.fetch_sub(1);
        });

    // Once a second: live figures. Polls the stop flag every 50 ms so a signal ends it promptly.
    const auto deadline = start + std::chrono::duration_cast<steady::duration>(
                                      std::chrono::duration<double>(opt.duration_s));
    histogram overall;
    auto last_tick = start;
    std::uint64_t last_ok = 0;
    tether::pool_stats last_stats = pool.stats();
    for (auto next_tick = start + 1s; !stop_requested.load();) {
        const auto now = steady::now();
        if (now >= deadline)
            break;
        if (now < next_tick) {
            std::this_thread::sleep_for(
                std::min<steady::duration>({50ms, next_tick - now, deadline - now}));
            continue;
        }
        const std::uint64_t ok_now = fig.ok.load();
        auto stats_now = pool.stats();
        print_figures_line(std::chrono::duration<double>(now - start).count(), ok_now - last_ok,
                           std::chrono::duration<double>(now - last_tick).count(), fig, stats_now,
                           last_stats, overall);
        last_stats = std::move(stats_now);
        last_ok = ok_now;
        last_tick = now;
        next_tick += 1s;
    }
    const bool by_signal = stop_requested.load();
    stop_requested.store(true);
    const auto stopped_at = steady::now();
    if (stopped_at - last_tick >= 100ms) // the last, partial interval
        print_figures_line(std::chrono::duration<double>(stopped_at - start).count(),
                           fig.ok.load() - last_ok,
                           std::chrono::duration<double>(stopped_at - last_tick).count(), fig,
                           pool.stats(), last_stats, overall);
    if (by_signal)
        std::cout << "signal " << stop_signal.load() << " received: stopping\n";

    // The callers finish their current batch (a few ms normally). Should a server hang, do not
    // wait out request_timeout: shut the pool down, which fails what is left with pool_closed.
    bool forced = false;
    for (auto until = steady::now() + 2s; running.load() != 0 && steady::now() < until;)
        std::this_thread::sleep_for(10ms);
    if (running.load() != 0) {
        std::cout << "callers still busy after 2 s: shutting the pool down\n";
        forced = true;
        pool.shutdown(1s);
    }
    for (auto& t : callers)
        t.join();
    const double elapsed = std::chrono::duration<double>(stopped_at - start).count();

    // Last partial interval, then the summary.
    const auto final_stats = pool.stats();
    {
        std::lock_guard lock(fig.m);
        overall.merge(fig.interval_latencies_us);
        fig.interval_latencies_us.clear();
    }
    pool.shutdown(2s);
    if (server)
        server->drain_and_stop();

    const auto ok = fig.ok.load();
    const auto mismatches = fig.mismatches.load();
    std::cout << "\nsummary\n"
              << "  duration        " << elapsed << " s"
              << (by_signal ? " (stopped by signal)" : "")
              << (forced ? " (pool shut down forcibly)" : "") << '\n'
              << "  requests ok     " << ok << " ("
              << static_cast<std::uint64_t>(static_cast<double>(ok) / std::max(elapsed, 1e-9))
              << " req/s)\n"
              << "  leases          " << fig.leases.load() << '\n'
              << "  mismatches      " << mismatches << '\n'
              << "  errors          " << fig.failures.load() << '\n';
    for (const auto& [what, n] : fig.errors)
        std::cout << "    " << n << " x " << what << '\n';
    for (const auto& ex : fig.mismatch_examples)
        std::cout << "    mismatch: " << ex << '\n';
    std::cout << "  latency         p50 " << format_us(overall.quantile(0.50)) << ", p99 "
              << format_us(overall.quantile(0.99)) << ", p99.9 "
              << format_us(overall.quantile(0.999)) << " (" << overall.count() << " samples)\n"
              << "  pool            connects " << final_stats.connects << ", connect failures "
              << final_stats.connect_failures << ", connections lost "
              << final_stats.connections_lost << ", request timeouts "
              << final_stats.request_timeouts << ", pings " << final_stats.pings_sent << '\n';

    if (mismatches != 0) {
        std::cout << "FAILED: " << mismatches << " replies did not match their request\n";
        return 1;
    }
    if (ok == 0) {
        std::cout << "FAILED: no request succeeded\n";
        return 1;
    }
    std::cout << "OK\n";
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    options opt;
    try {
        opt = parse_options(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "tether_demo: " << e.what() << '\n' << usage;
        return 2;
    }
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "tether_demo: " << e.what() << '\n';
        return 1;
    }
}
