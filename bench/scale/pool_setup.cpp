#include "pool_setup.hpp"

#include <algorithm>
#include <iostream>

namespace tether_scale {

tether::pool build_pool(const options& o, std::uint16_t port, const pool_tls& tls,
                        std::size_t links, std::shared_ptr<tether::pool_observer> observer)
{
    tether::pool_builder builder;
    if (tls)
        builder.tls(*tls);
    return builder.endpoint("127.0.0.1", port)
        .min_connections(links)
        .max_connections(links)
        .io_threads(o.io_threads)
        .ping_interval(o.ping_interval)
        .ping_timeout(o.ping_timeout)
        .connect_timeout(o.connect_timeout)
        .max_concurrent_connects(o.max_concurrent_connects)
        .max_waiters(std::max<std::size_t>(1024, o.load_threads))
        .observer(std::move(observer))
        .build();
}

std::optional<std::chrono::duration<double>> wait_all_open(tether::pool& pool, std::size_t links,
                                                           const char* phase)
{
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto bound = std::max<clock::duration>(
        std::chrono::seconds(60), std::chrono::milliseconds(10) * static_cast<long>(links));
    const auto step = std::chrono::milliseconds(2000);
    while (clock::now() - start < bound) {
        if (pool.wait_ready(step))
            return clock::now() - start;
        const auto s = pool.stats();
        std::cerr << "  [" << phase << "] opening: " << s.idle + s.leased << '/' << links
                  << " ready, " << s.connecting << " connecting, " << s.connect_failures
                  << " connect failures after "
                  << std::chrono::duration<double>(clock::now() - start).count() << " s\n";
    }
    return std::nullopt;
}

void give_up_opening(tether::pool& pool, tether_bench::server_process& server,
                     std::vector<std::string>& failures)
{
    failures.push_back("not all links opened in time; " + pool.diagnostics());
    if (!server.running())
        failures.push_back("the server " + server.exit_status());
    pool.shutdown(std::chrono::seconds(1));
}

} // namespace tether_scale
