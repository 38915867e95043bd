#include "report.hpp"

#include <tether/version.hpp>

#include <algorithm>
#include <cstdio>
#include <ostream>

using json = nlohmann::json;

namespace tether_bench {

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const std::size_t mid = v.size() / 2;
    return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

namespace {

template <class Field> double median_field(const std::vector<run_result>& runs, Field field)
{
    std::vector<double> values;
    for (const run_result& r : runs)
        values.push_back(field(r));
    return median(values);
}

// Median over rounds of each round's a/b ratio (the runs of a round are adjacent in time, so
// this cancels slow drift of the machine better than a ratio of medians).
template <class Field>
double paired_ratio(const std::vector<run_result>& a, const std::vector<run_result>& b, Field field)
{
    std::vector<double> ratios;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        ratios.push_back(ratio(field(a[i]), field(b[i])));
    return median(ratios);
}

json figures(const run_result& r)
{
    return {{"req_per_s", r.rps},
            {"p50_us", r.p50_us},
            {"p99_us", r.p99_us},
            {"p999_us", r.p999_us},
            {"cpu_us_per_req", r.cpu_us_per_req},
            {"server_cpu_us_per_req", r.server_cpu_us_per_req},
            {"requests", r.requests},
            {"errors", r.errors},
            {"seconds", r.seconds}};
}

json side(const std::vector<run_result>& runs)
{
    json out = figures(median_of(runs));
    out.erase("seconds");
    out["runs"] = json::array();
    for (const run_result& r : runs)
        out["runs"].push_back(figures(r));
    return out;
}

std::string line(const char* format, auto... args)
{
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, format, args...);
    return buffer;
}

// The plaintext row of the same shape as TLS row `r`, if it ran (nullptr otherwise).
const row* plaintext_twin(const std::vector<row>& rows, const row& r)
{
    if (!r.w.tls)
        return nullptr;
    for (const row& other : rows)
        if (!other.w.tls && same_shape(other.w, r.w))
            return &other;
    return nullptr;
}

json ratio_figures(const run_result& a, const run_result& b)
{
    return {{"throughput", ratio(a.rps, b.rps)},
            {"p99", ratio(a.p99_us, b.p99_us)},
            {"cpu_per_req", ratio(a.cpu_us_per_req, b.cpu_us_per_req)},
            {"server_cpu_per_req", ratio(a.server_cpu_us_per_req, b.server_cpu_us_per_req)}};
}

// Ratios of the medians, and the paired ones of throughput and p99 (tether's runs against
// `other`'s, round by round).
json tether_ratios(const row& r, const std::vector<run_result>& other)
{
    json out = ratio_figures(median_of(r.tether), median_of(other));
    out["throughput_paired"] =
        paired_ratio(r.tether, other, [](const run_result& x) { return x.rps; });
    out["p99_paired"] = paired_ratio(r.tether, other, [](const run_result& x) { return x.p99_us; });
    return out;
}

// A TSV field: the figure, or NaN (gnuplot leaves the bar out) when the implementation did not
// run.
std::string tsv_figure(const std::vector<run_result>& runs, double run_result::*field)
{
    return runs.empty() ? "NaN" : line("%.2f", median_of(runs).*field);
}

} // namespace

run_result median_of(const std::vector<run_result>& runs)
{
    run_result m;
    m.rps = median_field(runs, [](const run_result& r) { return r.rps; });
    m.p50_us = median_field(runs, [](const run_result& r) { return r.p50_us; });
    m.p99_us = median_field(runs, [](const run_result& r) { return r.p99_us; });
    m.p999_us = median_field(runs, [](const run_result& r) { return r.p999_us; });
    m.cpu_us_per_req = median_field(runs, [](const run_result& r) { return r.cpu_us_per_req; });
    m.server_cpu_us_per_req =
        median_field(runs, [](const run_result& r) { return r.server_cpu_us_per_req; });
    m.seconds = median_field(runs, [](const run_result& r) { return r.seconds; });
    for (const run_result& r : runs) {
        m.requests += r.requests;
        m.errors += r.errors;
    }
    return m;
}

void print_table(std::ostream& out, const std::vector<row>& rows)
{
    out << line("%-22s %-7s %11s %9s %9s %9s %11s %11s %7s\n", "workload", "impl", "req/s",
                "p50 us", "p99 us", "p999 us", "cpu us/req", "srv us/req", "errors");
    for (const row& r : rows) {
        const run_result t = median_of(r.tether);
        const auto print = [&](const char* name, const char* impl, const run_result& m) {
            out << line("%-22s %-7s %11.0f %9.1f %9.1f %9.1f %11.2f %11.2f %7llu\n", name, impl,
                        m.rps, m.p50_us, m.p99_us, m.p999_us, m.cpu_us_per_req,
                        m.server_cpu_us_per_req, static_cast<unsigned long long>(m.errors));
        };
        const auto print_ratio = [&](const char* label, const run_result& x, const run_result& y) {
            out << line("%-22s %-7s %10.2fx %8.2fx %8.2fx %8.2fx %10.2fx %10.2fx\n", "", label,
                        ratio(x.rps, y.rps), ratio(x.p50_us, y.p50_us), ratio(x.p99_us, y.p99_us),
                        ratio(x.p999_us, y.p999_us), ratio(x.cpu_us_per_req, y.cpu_us_per_req),
                        ratio(x.server_cpu_us_per_req, y.server_cpu_us_per_req));
        };
        print(r.w.name.c_str(), "tether", t);
        print("", "raw", median_of(r.raw));
        if (!r.netty.empty())
            print("", "netty", median_of(r.netty));
        else if (r.w.tls)
            out << line("%-22s %-7s %s\n", "", "netty", r.netty_skipped.c_str());
        print_ratio("t/raw", t, median_of(r.raw));
        if (!r.netty.empty())
            print_ratio("t/netty", t, median_of(r.netty));
        if (const row* plain = plaintext_twin(rows, r))
            print_ratio("t/plain", t, median_of(plain->tether));
    }
    out << "cpu: the client process's CPU (user+sys) per request; srv: the reference server's\n"
           "t/raw: tether / raw baseline";
    if (std::any_of(rows.begin(), rows.end(), [](const row& r) { return !r.netty.empty(); }))
        out << "; t/netty: tether / Netty FixedChannelPool peer (JVM)";
    out << '\n';
    if (std::any_of(rows.begin(), rows.end(),
                    [&](const row& r) { return plaintext_twin(rows, r); }))
        out << "t/plain: tether over TLS / tether plaintext, same shape\n";
    const auto skipped = std::find_if(rows.begin(), rows.end(), [](const row& r) {
        return !r.w.tls && !r.netty_skipped.empty();
    });
    if (skipped != rows.end())
        out << "netty: skipped: " << skipped->netty_skipped << '\n';
}

json to_json(const std::vector<row>& rows, const report_context& c)
{
    json out;
    out["machine"] = {{"cpu_model", c.machine.cpu_model},
                      {"cores", c.machine.cores},
                      {"kernel", c.machine.kernel},
                      {"date", c.machine.date}};
    out["settings"] = {{"rounds", c.rounds},
                       {"seconds_per_run", c.timing.seconds},
                       {"warmup_seconds", c.timing.warmup_seconds},
                       {"io_threads", c.io_threads},
                       {"server_core", c.server_core},
                       {"bench_cpus", c.bench_cpus},
                       {"server", c.server},
                       {"tls", c.tls},
                       {"netty", c.netty},
                       {"tether_version", TETHER_VERSION_STRING}};
    out["rows"] = json::array();
    for (const row& r : rows) {
        const run_result t = median_of(r.tether);
        const run_result b = median_of(r.raw);
        json netty = r.netty.empty() ? json{{"skipped", r.netty_skipped}} : side(r.netty);
        out["rows"].push_back({{"workload", r.w.name},
                               {"mode", r.w.pipelined ? "pipelined" : "closed"},
                               {"callers", r.w.callers},
                               {"links", r.w.links},
                               {"depth", r.w.depth},
                               {"body_bytes", r.w.body_bytes},
                               {"tls", r.w.tls},
                               {"tether", side(r.tether)},
                               {"raw", side(r.raw)},
                               {"netty", std::move(netty)},
                               {"ratio", tether_ratios(r, r.raw)}});
        if (!r.netty.empty())
            out["rows"].back()["ratio_netty"] = tether_ratios(r, r.netty);
        if (const row* plain = plaintext_twin(rows, r))
            out["rows"].back()["tls_vs_plain"] = {
                {"tether", ratio_figures(t, median_of(plain->tether))},
                {"raw", ratio_figures(b, median_of(plain->raw))}};
    }
    return out;
}

std::string to_tsv(const std::vector<row>& rows, const report_context& c)
{
    std::string out =
        "# " + c.machine.cpu_model + ", " + std::to_string(c.machine.cores) + " CPUs, " +
        line("median of %u round(s) of %g s, ", c.rounds, c.timing.seconds) + c.machine.date + "\n";
    out += "workload\ttether_rps\traw_rps\ttether_p99_us\traw_p99_us\tnetty_rps\tnetty_p99_us"
           "\ttether_cpu_us\traw_cpu_us\tnetty_cpu_us"
           "\ttether_server_cpu_us\traw_server_cpu_us\tnetty_server_cpu_us\n";
    for (const row& r : rows) {
        out += r.w.name;
        for (const auto field : {&run_result::rps, &run_result::p99_us})
            for (const auto* runs : {&r.tether, &r.raw})
                out += "\t" + tsv_figure(*runs, field);
        for (const auto field : {&run_result::rps, &run_result::p99_us})
            out += "\t" + tsv_figure(r.netty, field);
        for (const auto field : {&run_result::cpu_us_per_req, &run_result::server_cpu_us_per_req})
            for (const auto* runs : {&r.tether, &r.raw, &r.netty})
                out += "\t" + tsv_figure(*runs, field);
        out += "\n";
    }
    return out;
}

} // namespace tether_bench
