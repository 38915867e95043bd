#pragma once

// The pool's metrics as values (pool::metrics()) and in the Prometheus text format
// (pool::metrics_text()). Every family, its unit and meaning: the README's "Monitoring".

#include <tether/histogram.hpp>

#include <string>
#include <vector>

namespace tether {

/// What a family's samples are, in Prometheus terms.
enum class metric_type {
    counter,   ///< only grows while the pool lives; the name ends in `_total`
    gauge,     ///< a value now
    histogram, ///< a distribution in seconds: `_bucket{le}` (cumulative), `_sum`, `_count`
};

/// A label of a sample. The value is as is: renderers escape it.
struct metric_label {
    std::string name;
    std::string value;
    friend bool operator==(const metric_label&, const metric_label&) = default;
};

/// One time series of a family: its labels (`pool` first) and its value.
struct metric_sample {
    std::vector<metric_label> labels;
    double value = 0;       ///< counter and gauge families
    histogram distribution; ///< histogram families (empty in the others)
};

/// Samples that share a name, a help text and a type. Names are Prometheus names in base units
/// (seconds), following OpenTelemetry's connection-pool conventions (design.md §9).
struct metric_family {
    std::string name;
    std::string help;
    metric_type type = metric_type::gauge;
    std::vector<metric_sample> samples;
};

/// The Content-Type of to_prometheus_text()'s output, for an HTTP /metrics endpoint.
inline constexpr const char* prometheus_text_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

/// Renders `families` in the Prometheus text exposition format 0.0.4: per family `# HELP` and
/// `# TYPE`, then one line per sample (histograms as cumulative `_bucket{le}` lines up to
/// `le="+Inf"`, then `_sum` and `_count`). Help texts and label values are escaped (backslash,
/// newline; double quote in label values); numbers are printed the same in every locale.
std::string to_prometheus_text(const std::vector<metric_family>& families);

} // namespace tether
