#pragma once

// A tether pool's metrics for prometheus-cpp: the optional CMake target tether::prometheus
// (built when prometheus-cpp is found; find_package(tether CONFIG REQUIRED COMPONENTS
// prometheus) after cmake --install).

#include <tether/pool.hpp>

#include <memory>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h> // what Collect() returns

namespace tether {

/// A prometheus::Collectable whose Collect() returns `p`'s metric families: those of
/// pool::metrics(), with the names, help texts, types and values of pool::metrics_text(),
/// histograms with cumulative buckets up to +Inf. Register it with an application's
/// prometheus::Exposer (`exposer.RegisterCollectable(collector)`) or wherever prometheus-cpp
/// takes collectables; they hold it weakly, so keep the returned pointer while it is
/// registered. It holds a handle of the pool: the pool is not shut down implicitly while the
/// collector lives (pool::shutdown() still works, and Collect() keeps reporting after it).
/// Collect() is thread-safe and takes about as long as pool::metrics().
std::shared_ptr<::prometheus::Collectable> prometheus_collector(pool p);

} // namespace tether
