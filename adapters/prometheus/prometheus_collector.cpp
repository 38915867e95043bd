// The pool's metric families (pool::metrics()) as prometheus-cpp MetricFamily values.

#include <tether/prometheus.hpp>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <utility>
#include <vector>

namespace tether {
namespace {

namespace prom = ::prometheus;

prom::MetricType type_of(metric_type t)
{
    switch (t) {
    case metric_type::counter:
        return prom::MetricType::Counter;
    case metric_type::gauge:
        return prom::MetricType::Gauge;
    case metric_type::histogram:
        return prom::MetricType::Histogram;
    }
    return prom::MetricType::Untyped;
}

prom::ClientMetric::Histogram histogram_of(const histogram& h)
{
    prom::ClientMetric::Histogram out;
    out.sample_count = h.count();
    out.sample_sum = h.sum();
    out.bucket.reserve(histogram::bucket_count);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
        cumulative += h.counts()[i];
        out.bucket.push_back({cumulative, histogram::bounds()[i]}); // the last is +Inf
    }
    return out;
}

prom::ClientMetric metric_of(metric_type type, metric_sample&& s)
{
    prom::ClientMetric m;
    m.label.reserve(s.labels.size());
    for (metric_label& l : s.labels)
        m.label.push_back({std::move(l.name), std::move(l.value)});
    switch (type) {
    case metric_type::counter:
        m.counter.value = s.value;
        break;
    case metric_type::gauge:
        m.gauge.value = s.value;
        break;
    case metric_type::histogram:
        m.histogram = histogram_of(s.distribution);
        break;
    }
    return m;
}

class pool_collector final : public prom::Collectable {
public:
    explicit pool_collector(pool p) : pool_(std::move(p)) {}

    std::vector<prom::MetricFamily> Collect() const override
    {
        std::vector<prom::MetricFamily> out;
        auto families = pool_.metrics();
        out.reserve(families.size());
        for (metric_family& f : families) {
            prom::MetricFamily pf;
            pf.name = std::move(f.name);
            pf.help = std::move(f.help);
            pf.type = type_of(f.type);
            pf.metric.reserve(f.samples.size());
            for (metric_sample& s : f.samples)
                pf.metric.push_back(metric_of(f.type, std::move(s)));
            out.push_back(std::move(pf));
        }
        return out;
    }

private:
    pool pool_;
};

} // namespace

std::shared_ptr<prom::Collectable> prometheus_collector(pool p)
{
    return std::make_shared<pool_collector>(std::move(p));
}

} // namespace tether
