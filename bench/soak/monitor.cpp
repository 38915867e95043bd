#include "monitor.hpp"

#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

namespace soak {

namespace {

using namespace std::chrono_literals;

constexpr auto report_every = 5s;
constexpr auto check_every = 250ms;
constexpr auto stall_limit = 10s;    // no completion at all while operations are open
constexpr auto stuck_op_limit = 30s; // one operation open this long

double seconds(clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

/// The 99th percentile (nearest rank) of `v`; NaN when empty.
double p99(std::vector<double>& v)
{
    if (v.empty())
        return std::nan("");
    const auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(v.size())));
    const auto nth = v.begin() + static_cast<std::ptrdiff_t>(rank - 1);
    std::nth_element(v.begin(), nth, v.end());
    return *nth;
}

} // namespace

monitor::monitor(ledger& book, monitor_limits limits, std::function<unsigned()> faults,
                 std::function<int()> proxy_fds)
    : book_(book), limits_(limits), faults_(std::move(faults)), proxy_fds_(std::move(proxy_fds)),
      start_(clock::now()), last_report_(start_)
{
    thread_ = std::thread([this] { run(); });
}

monitor::~monitor()
{
    stop();
}

void monitor::print_header()
{
    say("   time   requests         ok   failed inflight    req/s   p99ms  rssMiB   fds  thr "
        "faults");
}

void monitor::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

std::string monitor::failure() const
{
    std::lock_guard lock(mutex_);
    return failure_;
}

monitor::growth monitor::figures() const
{
    std::lock_guard lock(mutex_);
    return growth_;
}

void monitor::run()
{
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (cv_.wait_for(lock, check_every, [&] { return stopping_; }))
                break;
        }
        const auto now = clock::now();
        check(now, sample_process());
        if (now - last_report_ >= report_every)
            report(now);
    }
    report(clock::now());
}

void monitor::report(clock::time_point now)
{
    const auto t = book_.snapshot();
    auto latencies = book_.take_latencies_ms();
    const double p = p99(latencies);
    const double interval = seconds(now - last_report_);
    const double rate =
        interval > 0 ? static_cast<double>(t.issued - issued_at_last_report_) / interval : 0.0;
    const auto s = sample_process();
    char p99_text[16];
    if (std::isnan(p))
        std::snprintf(p99_text, sizeof p99_text, "%7s", "-");
    else
        std::snprintf(p99_text, sizeof p99_text, "%7.2f", p);
    char line[256];
    std::snprintf(line, sizeof line, "%6.1fs %10llu %10llu %8llu %8llu %8.0f %s %7.1f %5d %4d %6u",
                  seconds(now - start_), static_cast<unsigned long long>(t.issued),
                  static_cast<unsigned long long>(t.ok), static_cast<unsigned long long>(t.failed),
                  static_cast<unsigned long long>(t.outstanding), rate, p99_text,
                  static_cast<double>(s.rss_kib) / 1024.0, s.fds, s.threads, faults_());
    say(line);
    std::string failures = "        failures:";
    for (const auto& [name, count] : t.failures)
        failures += " " + name + "=" + std::to_string(count);
    if (t.failures.empty())
        failures += " none";
    say(failures);
    last_report_ = now;
    issued_at_last_report_ = t.issued;
}

void monitor::check(clock::time_point now, const process_sample& s)
{
    const auto t = book_.snapshot();
    const auto last = std::max(t.last_completion, start_);
    if (t.outstanding > 0 && now - last > stall_limit)
        fail("hang: no operation completed for " +
             std::to_string(static_cast<int>(seconds(now - last))) + " s while " +
             std::to_string(t.outstanding) + " were open");
    if (const auto old = book_.oldest(1); !old.empty() && old.front().age > stuck_op_limit)
        fail("hang: operation #" + std::to_string(old.front().id) + " (" +
             std::string(name_of(old.front().kind)) + ") open for " +
             std::to_string(static_cast<int>(seconds(old.front().age))) + " s");
    const int own_fds = s.fds - proxy_fds_();
    if (own_fds > limits_.fd_ceiling)
        fail("descriptors: " + std::to_string(own_fds) +
             " open outside the proxy's pairs, above the ceiling of " +
             std::to_string(limits_.fd_ceiling));
    if (s.threads > limits_.thread_ceiling)
        fail("threads: " + std::to_string(s.threads) + " running, above the ceiling of " +
             std::to_string(limits_.thread_ceiling));

    std::lock_guard lock(mutex_);
    growth_.fds_max = std::max(growth_.fds_max, s.fds);
    growth_.own_fds_max = std::max(growth_.own_fds_max, own_fds);
    growth_.threads_max = std::max(growth_.threads_max, s.threads);
    if (now - start_ >= limits_.warmup) {
        if (growth_.rss_at_warmup_kib < 0)
            growth_.rss_at_warmup_kib = s.rss_kib;
        growth_.rss_max_after_kib = std::max(growth_.rss_max_after_kib, s.rss_kib);
    }
}

void monitor::fail(std::string why)
{
    {
        std::lock_guard lock(mutex_);
        if (!failure_.empty())
            return;
        failure_ = why;
    }
    say("FAIL: " + why);
}

} // namespace soak
