// The Prometheus text exposition format 0.0.4 of metric families (to_prometheus_text).
// Numbers go through std::to_chars: no locale, no iostreams, and shortest round-trip output.

#include <tether/metrics.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

namespace tether {
namespace {

void append_number(std::string& out, std::uint64_t v)
{
    std::array<char, 24> buf;
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), r.ptr);
}

void append_number(std::string& out, double v)
{
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    // Whole numbers (counters, gauges) in full: 10000000, not the shortest form 1e+07.
    if (v >= 0 && v < 0x1p53 && v == std::floor(v)) {
        append_number(out, static_cast<std::uint64_t>(v));
        return;
    }
    std::array<char, 32> buf;
    const auto r =
        std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general);
    out.append(buf.data(), r.ptr);
}

// Label values escape backslash, double quote and newline; help texts the first and last.
void append_escaped(std::string& out, std::string_view text, bool quote)
{
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out += c;
    }
}

// `{a="x",b="y"}`, with an extra last label (a histogram's `le`) when `extra_name` is set.
void append_labels(std::string& out, const std::vector<metric_label>& labels,
                   std::string_view extra_name = {}, std::string_view extra_value = {})
{
    if (labels.empty() && extra_name.empty())
        return;
    out += '{';
    bool first = true;
    const auto one = [&](std::string_view name, std::string_view value) {
        if (!first)
            out += ',';
        first = false;
        out += name;
        out += "=\"";
        append_escaped(out, value, true);
        out += '"';
    };
    for (const metric_label& l : labels)
        one(l.name, l.value);
    if (!extra_name.empty())
        one(extra_name, extra_value);
    out += '}';
}

// The `le` values of the buckets, rendered once.
const std::array<std::string, histogram::bucket_count>& bucket_bounds_text()
{
    static const std::array<std::string, histogram::bucket_count> text = [] {
        std::array<std::string, histogram::bucket_count> t;
        for (std::size_t i = 0; i < histogram::bucket_count; ++i)
            append_number(t[i], histogram::bounds()[i]);
        return t;
    }();
    return text;
}

// `name<suffix>{labels[,le="..."]} value`, a line.
template <class Number>
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const std::vector<metric_label>& labels, Number value, std::string_view le = {})
{
    out += name;
    out += suffix;
    append_labels(out, labels, le.empty() ? std::string_view() : "le", le);
    out += ' ';
    append_number(out, value);
    out += '\n';
}

void append_histogram(std::string& out, std::string_view name, const metric_sample& s)
{
    const auto& le = bucket_bounds_text();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
        cumulative += s.distribution.counts()[i];
        append_sample(out, name, "_bucket", s.labels, cumulative, le[i]);
    }
    append_sample(out, name, "_sum", s.labels, s.distribution.sum());
    append_sample(out, name, "_count", s.labels, s.distribution.count());
}

const char* type_name(metric_type t)
{
    switch (t) {
    case metric_type::counter:
        return "counter";
    case metric_type::gauge:
        return "gauge";
    case metric_type::histogram:
        return "histogram";
    }
    return "untyped";
}

} // namespace

std::string to_prometheus_text(const std::vector<metric_family>& families)
{
    std::string out;
    out.reserve(16 * 1024);
    for (const metric_family& f : families) {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        append_escaped(out, f.help, false);
        out += "\n# TYPE ";
        out += f.name;
        out += ' ';
        out += type_name(f.type);
        out += '\n';
        for (const metric_sample& s : f.samples) {
            if (f.type == metric_type::histogram)
                append_histogram(out, f.name, s);
            else
                append_sample(out, f.name, "", s.labels, s.value);
        }
    }
    return out;
}

} // namespace tether
