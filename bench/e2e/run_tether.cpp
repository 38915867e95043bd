// tether's side of each workload and of the connect section: leases from a pool, exactly as an
// application would use it.

#include "connect_cost.hpp"
#include "workloads.hpp"

#include <tether/tether.hpp>

#include <stdexcept>

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace tether_bench {

namespace {

// A pool of `links` links (all opened at once), over TLS verifying the test CA's certificate
// for 127.0.0.1, once every link is proven.
tether::pool make_pool(std::size_t links, bool tls, const run_settings& s)
{
    tether::pool_builder builder;
    builder.endpoint("127.0.0.1", tls ? s.tls_port : s.port)
        .io_threads(s.io_threads)
        .min_connections(links)
        .max_connections(links)
        .max_concurrent_connects(links)
        .acquire_timeout(10s)
        .connect_timeout(10s)
        .request_timeout(10s);
    if (tls) {
        tether::tls_options options;
        options.ca_pem = s.ca_pem;
        builder.tls(std::move(options));
    }
    tether::pool pool = builder.build();
    if (!pool.wait_ready(30s))
        throw std::runtime_error("tether pool not ready: " + pool.diagnostics());
    return pool;
}

} // namespace

run_result run_tether(const workload& w, const run_settings& s)
{
    tether::pool pool = make_pool(w.links, w.tls, s);
    const json body = body_of_size(w.body_bytes);
    if (pool.request(body) != body) // one check outside the timed part: the echo is right
        throw std::runtime_error("tether: the echo differs from the request");

    run_result r;
    if (!w.pipelined) {
        r = closed_loop(w.callers, s.timing, s.server_pid_of(w), [&](std::size_t) {
            tether::lease lease = pool.acquire();
            lease.request(body); // the lease goes back to the pool at the end of the scope
        });
    } else {
        tether::lease lease = pool.acquire();
        r = pipelined(
            w.depth, s.timing, s.server_pid_of(w),
            [&](auto done) {
                lease.async_request(body,
                                    [done](boost::system::error_code ec, json) { done(!ec); });
            },
            [&] { pool.shutdown(1s); });
        lease.release();
    }
    pool.shutdown(2s);
    return r;
}

connect_result connect_tether(std::size_t links, bool tls, const run_settings& s)
{
    return time_connects(
        links, [&] { return make_pool(links, tls, s); },
        [](tether::pool& pool) { pool.shutdown(2s); });
}

} // namespace tether_bench
