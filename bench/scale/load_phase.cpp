#include "load_phase.hpp"

#include "health_observer.hpp"
#include "pool_setup.hpp"
#include "process_metrics.hpp"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

namespace tether_scale {
namespace {

using clock = std::chrono::steady_clock;
using seconds_d = std::chrono::duration<double>;

/// {"p":"xxx…"} serialized to exactly 64 bytes.
nlohmann::json body_of_64_bytes()
{
    nlohmann::json body = {{"p", ""}};
    const auto overhead = body.dump().size();
    body["p"] = std::string(64 - overhead, 'x');
    return body;
}

struct caller_result {
    std::vector<std::int64_t> latencies_ns;
    std::uint64_t errors = 0;
    std::string first_error;
};

void caller(tether::pool pool, const nlohmann::json& body, const std::atomic<bool>& stop,
            caller_result& out)
{
    out.latencies_ns.reserve(1 << 20);
    constexpr std::uint64_t give_up_after_errors = 1000;
    while (!stop.load(std::memory_order_relaxed) && out.errors < give_up_after_errors) {
        const auto t0 = clock::now();
        std::error_code ec;
        tether::lease lease = pool.acquire(ec);
        nlohmann::json reply;
        if (!ec)
            reply = lease.request(body, ec);
        lease.release();
        const auto t1 = clock::now();
        if (ec || reply != body) {
            if (out.errors++ == 0)
                out.first_error =
                    ec ? ec.message() : "reply differs from the request: " + reply.dump();
            continue;
        }
        out.latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
}

double percentile_us(std::vector<std::int64_t>& v, double q)
{
    if (v.empty())
        return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1000.0;
}

void check(load_figures& f, bool ok, std::string what)
{
    if (!ok)
        f.failures.push_back(std::move(what));
}

} // namespace

load_figures run_load_phase(const options& o, tether_bench::server_process& server,
                            const pool_tls& tls, const server_probe& probe)
{
    load_figures f;
    f.links = o.load_links;
    f.threads = o.load_threads;
    const nlohmann::json body = body_of_64_bytes();

    std::cerr << "phase 2: opening " << o.load_links << " links\n";
    auto observer = std::make_shared<health_observer>();
    tether::pool pool = build_pool(o, server.port(), tls, o.load_links, observer);
    const auto opened = wait_all_open(pool, o.load_links, "load");
    if (!opened) {
        give_up_opening(pool, server, f.failures);
        return f;
    }
    f.opened = true;
    f.open_seconds = opened->count();

    std::cerr << "phase 2: " << o.load_threads << " callers for " << o.load_time.count() << " s\n";
    const auto s0 = pool.stats();
    (void)observer->take();
    std::atomic<bool> stop{false};
    std::vector<caller_result> results(o.load_threads);
    std::vector<std::thread> threads;
    const auto usage0 = process_usage();
    const auto main0 = thread_usage();
    const auto probe0 = probe.cpu();
    const auto server_cpu0 = other_process_cpu(server.pid());
    const auto t0 = clock::now();
    for (unsigned i = 0; i < o.load_threads; ++i)
        threads.emplace_back(caller, pool, std::cref(body), std::cref(stop), std::ref(results[i]));
    std::this_thread::sleep_for(o.load_time);
    stop.store(true);
    for (auto& t : threads)
        t.join();
    const auto t1 = clock::now();
    f.seconds = seconds_d(t1 - t0).count();
    f.client_cpu_seconds = seconds_d(((process_usage() - usage0) - (thread_usage() - main0)).cpu -
                                     (probe.cpu() - probe0))
                               .count();
    f.server_cpu_seconds = seconds_d(other_process_cpu(server.pid()) - server_cpu0).count();

    std::vector<std::int64_t> all;
    for (auto& r : results) {
        all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
        f.errors += r.errors;
        if (f.first_error.empty())
            f.first_error = r.first_error;
    }
    f.requests = all.size();
    f.p50_us = percentile_us(all, 0.50);
    f.p99_us = percentile_us(all, 0.99);
    f.p999_us = percentile_us(all, 0.999);
    f.max_us =
        all.empty() ? 0 : static_cast<double>(*std::max_element(all.begin(), all.end())) / 1000.0;

    const auto s1 = pool.stats();
    f.during_load = make_health_window(s0, s1, observer->take(), probe.between(t0, t1));
    f.total_end = s1.total;
    f.ready_end = s1.idle + s1.leased;
    f.connections_lost = s1.connections_lost;
    f.dead_links = s1.dead_links_detected;
    f.pings = s1.pings_sent - s0.pings_sent;

    check(f, server.running(), "the server " + server.exit_status());
    check(f, f.errors == 0, std::to_string(f.errors) + " failed requests, first: " + f.first_error);
    check(f, s1.total == o.load_links && s1.idle == o.load_links,
          "links at the end: " + std::to_string(s1.total) + " open, " + std::to_string(s1.idle) +
              " idle, expected " + std::to_string(o.load_links));
    check(f, s1.connections_lost == 0,
          std::to_string(s1.connections_lost) + " connections lost (" +
              std::to_string(s1.dead_links_detected) +
              " declared dead: no pong within ping_timeout)");
    pool.shutdown(std::chrono::seconds(1));
    return f;
}

} // namespace tether_scale
