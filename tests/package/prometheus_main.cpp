// Links against tether::prometheus as an outside project would (the package's component
// `prometheus`): the collector reports a pool's families.
#include <tether/prometheus.hpp>
#include <tether/tether.hpp>

#include <chrono>
#include <cstdio>

int main()
{
    using namespace std::chrono_literals;
    tether::pool pool = tether::pool_builder{}
                            .name("consumer")
                            .endpoint("127.0.0.1", 1)
                            .min_connections(0)
                            .max_connections(3)
                            .io_threads(1)
                            .build();
    const auto families = tether::prometheus_collector(pool)->Collect();
    pool.shutdown(1s);
    for (const auto& f : families)
        if (f.name == "tether_connection_max" && f.metric.size() == 1 &&
            f.metric[0].gauge.value == 3) {
            std::printf("tether prometheus consumer: %zu families, OK\n", families.size());
            return 0;
        }
    std::puts("tether prometheus consumer: no tether_connection_max of 3");
    return 1;
}
