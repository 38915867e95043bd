#pragma once

// Results of tether_e2e: medians over rounds, tether/raw and tether/netty ratios, as a table,
// JSON and TSV.

#include "harness.hpp"
#include "machine.hpp"
#include "workloads.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace tether_bench {

/// Every run of one workload, per implementation.
struct row {
    workload w;
    std::vector<run_result> tether;
    std::vector<run_result> raw;
    std::vector<run_result> netty;
    std::string netty_skipped; ///< why the Netty peer does not run this workload ("" if it does)
};

/// Median of each figure over the runs (errors: summed).
run_result median_of(const std::vector<run_result>& runs);

double median(std::vector<double> values); ///< 0 when empty
double ratio(double a, double b);          ///< a / b, 0 when b is not positive

struct report_context {
    machine_info machine;
    unsigned rounds = 0;
    run_timing timing;
    unsigned io_threads = 0;
    int server_core = -1;
    std::string bench_cpus;
    std::string server;
    std::string tls;   ///< how the TLS rows are set up ("" when none ran)
    std::string netty; ///< how the Netty peer runs, or why it does not
};

/// Per row: tether, raw, netty (plaintext rows), tether/raw, tether/netty; and for a TLS row
/// whose plaintext shape ran too, tether over TLS / tether plaintext. Client and server CPU per
/// request.
void print_table(std::ostream& out, const std::vector<row>& rows);
nlohmann::json to_json(const std::vector<row>& rows, const report_context& context);
/// A '#' line describing the machine and settings, a header, then per workload: name, req/s,
/// p99 µs, client CPU µs/req and server CPU µs/req of tether, raw and netty (tab-separated, for
/// gnuplot; "NaN" where Netty did not run).
std::string to_tsv(const std::vector<row>& rows, const report_context& context);

} // namespace tether_bench
