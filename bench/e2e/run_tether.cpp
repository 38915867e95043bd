// tether's side of each workload: leases from a pool, exactly as an application would use it.

#include "workloads.hpp"

#include <tether/tether.hpp>

#include <stdexcept>

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace tether_bench {

namespace {

tether::pool make_pool(const workload& w, const run_settings& s)
{
    tether::pool pool = tether::pool_builder{}
                            .endpoint("127.0.0.1", s.port)
                            .io_threads(s.io_threads)
                            .min_connections(w.links)
                            .max_connections(w.links)
                            .acquire_timeout(10s)
                            .connect_timeout(5s)
                            .request_timeout(10s)
                            .build();
    if (!pool.wait_ready(10s))
        throw std::runtime_error("tether pool not ready: " + pool.diagnostics());
    return pool;
}

} // namespace

run_result run_tether(const workload& w, const run_settings& s)
{
    tether::pool pool = make_pool(w, s);
    const json body = body_of_size(w.body_bytes);
    if (pool.request(body) != body) // one check outside the timed part: the echo is right
        throw std::runtime_error("tether: the echo differs from the request");

    run_result r;
    if (!w.pipelined) {
        r = closed_loop(w.callers, s.timing, [&](std::size_t) {
            tether::lease lease = pool.acquire();
            lease.request(body); // the lease goes back to the pool at the end of the scope
        });
    } else {
        tether::lease lease = pool.acquire();
        r = pipelined(
            w.depth, s.timing,
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

} // namespace tether_bench
