#include "connect_report.hpp"

#include "report.hpp"

#include <cstdio>
#include <ostream>

using json = nlohmann::json;

namespace tether_bench {

namespace {

// Medians over the runs of one implementation and transport.
struct connect_median {
    double wall_ms = 0;
    double wall_us_per_link = 0;
    double cpu_us_per_link = 0;
};

connect_median median_of(const std::vector<connect_result>& runs)
{
    std::vector<double> wall, wall_per_link, cpu_per_link;
    for (const connect_result& r : runs) {
        wall.push_back(r.seconds * 1e3);
        wall_per_link.push_back(r.wall_us_per_link());
        cpu_per_link.push_back(r.cpu_us_per_link());
    }
    return {median(wall), median(wall_per_link), median(cpu_per_link)};
}

json ratio_figures(const connect_median& a, const connect_median& b)
{
    return {{"wall", ratio(a.wall_ms, b.wall_ms)},
            {"cpu_per_link", ratio(a.cpu_us_per_link, b.cpu_us_per_link)}};
}

json side(const std::vector<connect_result>& runs)
{
    const connect_median m = median_of(runs);
    json out = {{"wall_ms", m.wall_ms},
                {"wall_us_per_link", m.wall_us_per_link},
                {"cpu_us_per_link", m.cpu_us_per_link},
                {"runs", json::array()}};
    for (const connect_result& r : runs)
        out["runs"].push_back({{"seconds", r.seconds}, {"cpu_us", r.cpu_us}});
    return out;
}

json implementation(const std::vector<connect_result>& plain,
                    const std::vector<connect_result>& tls)
{
    return {{"plain", side(plain)},
            {"tls", side(tls)},
            {"tls_vs_plain", ratio_figures(median_of(tls), median_of(plain))}};
}

void print_line(std::ostream& out, const char* impl, const char* transport, const connect_median& m)
{
    char text[160];
    std::snprintf(text, sizeof text, "%-8s %-10s %10.1f %14.1f %13.1f\n", impl, transport,
                  m.wall_ms, m.wall_us_per_link, m.cpu_us_per_link);
    out << text;
}

void print_ratio(std::ostream& out, const char* label, const connect_median& a,
                 const connect_median& b)
{
    char text[160];
    std::snprintf(text, sizeof text, "%-8s %-10s %9.2fx %13.2fx %12.2fx\n", "", label,
                  ratio(a.wall_ms, b.wall_ms), ratio(a.wall_us_per_link, b.wall_us_per_link),
                  ratio(a.cpu_us_per_link, b.cpu_us_per_link));
    out << text;
}

} // namespace

void print_connect_table(std::ostream& out, const connect_runs& runs)
{
    const connect_median tp = median_of(runs.tether_plain), tt = median_of(runs.tether_tls);
    const connect_median rp = median_of(runs.raw_plain), rt = median_of(runs.raw_tls);
    out << "\nOpening " << runs.links
        << " new links (median over rounds; client CPU only, the server is another process)\n"
           "  tether: build + wait_ready, all at once (max_concurrent_connects "
        << runs.links
        << "): connect, TLS handshake, proving ping\n"
           "  raw:    blocking connect, then the TLS handshake, one link after the other\n";
    char header[160];
    std::snprintf(header, sizeof header, "%-8s %-10s %10s %14s %13s\n", "impl", "transport",
                  "wall ms", "wall us/link", "cpu us/link");
    out << header;
    print_line(out, "tether", "plain", tp);
    print_line(out, "", "tls", tt);
    print_ratio(out, "tls/plain", tt, tp);
    print_line(out, "raw", "plain", rp);
    print_line(out, "", "tls", rt);
    print_ratio(out, "tls/plain", rt, rp);
    print_ratio(out, "tls t/raw", tt, rt);
}

json to_json(const connect_runs& runs)
{
    return {
        {"links", runs.links},
        {"tether", implementation(runs.tether_plain, runs.tether_tls)},
        {"raw", implementation(runs.raw_plain, runs.raw_tls)},
        {"tls_tether_vs_raw", ratio_figures(median_of(runs.tether_tls), median_of(runs.raw_tls))}};
}

} // namespace tether_bench
