#include "ledger.hpp"

#include "outcome.hpp"

#include <algorithm>

namespace soak {

namespace {

constexpr std::size_t max_anomalies_kept = 20;

} // namespace

std::string_view name_of(op_kind kind)
{
    switch (kind) {
    case op_kind::acquire:
        return "acquire";
    case op_kind::async_acquire:
        return "async_acquire";
    case op_kind::lease_request:
        return "lease_request";
    case op_kind::lease_async_request:
        return "lease_async_request";
    case op_kind::pool_request:
        return "pool_request";
    case op_kind::pool_async_request:
        return "pool_async_request";
    case op_kind::chaos_request:
        return "chaos_request";
    }
    return "?";
}

ledger::ticket ledger::issue(op_kind kind, bool timed)
{
    const auto now = clock::now();
    std::lock_guard lock(mutex_);
    const ticket t{next_id_++, now};
    open_.emplace(t.id, open_entry{kind, timed, now});
    ++totals_.issued;
    ++totals_.by_kind[static_cast<std::size_t>(kind)].issued;
    return t;
}

void ledger::complete(const ticket& t, std::string_view outcome)
{
    const auto now = clock::now();
    std::lock_guard lock(mutex_);
    const auto it = open_.find(t.id);
    if (it == open_.end()) {
        ++totals_.double_completions;
        note_anomaly_locked("operation #" + std::to_string(t.id) + " completed again (" +
                            std::string(outcome) + ")");
        return;
    }
    const open_entry entry = it->second;
    open_.erase(it);
    ++totals_.completed;
    totals_.last_completion = now;
    auto& kind = totals_.by_kind[static_cast<std::size_t>(entry.kind)];
    if (outcome == "ok") {
        ++totals_.ok;
        ++kind.ok;
        if (entry.timed)
            latencies_ms_.push_back(
                std::chrono::duration<double, std::milli>(now - entry.issued).count());
        return;
    }
    ++totals_.failed;
    ++kind.failed;
    const auto f = totals_.failures.find(outcome);
    if (f == totals_.failures.end())
        totals_.failures.emplace(std::string(outcome), 1);
    else
        ++f->second;
    if (outcome == wrong_reply)
        note_anomaly_locked("operation #" + std::to_string(t.id) + " (" +
                            std::string(name_of(entry.kind)) +
                            ") got a reply that was not its own");
}

ledger::totals ledger::snapshot() const
{
    std::lock_guard lock(mutex_);
    totals t = totals_;
    t.outstanding = open_.size();
    return t;
}

std::vector<ledger::open_op> ledger::oldest(std::size_t n) const
{
    const auto now = clock::now();
    std::vector<open_op> ops;
    {
        std::lock_guard lock(mutex_);
        ops.reserve(open_.size());
        for (const auto& [id, entry] : open_)
            ops.push_back({id, entry.kind, now - entry.issued});
    }
    const auto by_age = [](const open_op& a, const open_op& b) { return a.age > b.age; };
    if (ops.size() > n) {
        std::partial_sort(ops.begin(), ops.begin() + static_cast<std::ptrdiff_t>(n), ops.end(),
                          by_age);
        ops.resize(n);
    } else {
        std::sort(ops.begin(), ops.end(), by_age);
    }
    return ops;
}

std::vector<double> ledger::take_latencies_ms()
{
    std::vector<double> out;
    std::lock_guard lock(mutex_);
    out.swap(latencies_ms_);
    latencies_ms_.reserve(out.size()); // the next interval needs about as much
    return out;
}

std::vector<std::string> ledger::anomalies() const
{
    std::lock_guard lock(mutex_);
    return anomalies_;
}

void ledger::note_anomaly_locked(std::string text)
{
    if (anomalies_.size() < max_anomalies_kept)
        anomalies_.push_back(std::move(text));
}

} // namespace soak
