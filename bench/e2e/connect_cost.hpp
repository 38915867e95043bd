#pragma once

// tether_e2e's connect section: what opening new links costs, over TLS against plaintext. One
// run opens `links` links on a fresh client and takes the wall time until all of them can carry
// requests (tether: built, then wait_ready, i.e. connected, handshaken and proven by a ping, all
// at once up to max_concurrent_connects = links; raw: connected one after the other, each
// handshaken over TLS) and the process's CPU meanwhile (client side only: the server is another
// process). Setting up the client (io threads, TLS context) is inside the window, once per run.

#include "harness.hpp"
#include "workloads.hpp"

#include <chrono>
#include <cstddef>
#include <vector>

namespace tether_bench {

struct connect_result {
    std::size_t links = 0;
    double seconds = 0; ///< wall time to open them all
    double cpu_us = 0;  ///< process user+sys CPU meanwhile

    double wall_us_per_link() const { return per_link(seconds * 1e6); }
    double cpu_us_per_link() const { return per_link(cpu_us); }

private:
    double per_link(double total) const
    {
        return links > 0 ? total / static_cast<double>(links) : 0;
    }
};

/// Every run of the section, per implementation and transport.
struct connect_runs {
    std::size_t links = 0;
    std::vector<connect_result> tether_plain, tether_tls, raw_plain, raw_tls;
};

/// Times `open()`, which returns the client with its links open; `close(client)` runs after the
/// window.
template <class Open, class Close>
connect_result time_connects(std::size_t links, Open open, Close close)
{
    const double cpu0 = process_cpu_us();
    const auto t0 = bench_clock::now();
    auto client = open();
    const auto window = bench_clock::now() - t0;
    const double cpu = process_cpu_us() - cpu0;
    close(client);
    connect_result r;
    r.links = links;
    r.seconds = std::chrono::duration<double>(window).count();
    r.cpu_us = cpu;
    return r;
}

/// One run on a fresh tether pool (min = max = max_concurrent_connects = links).
connect_result connect_tether(std::size_t links, bool tls, const run_settings& s);
/// One run on a fresh raw_client.
connect_result connect_raw(std::size_t links, bool tls, const run_settings& s);

} // namespace tether_bench
