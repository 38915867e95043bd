// The simulator's invariant checks and measurements. Cheap checks after every core call
// compare the core's gauges with the driver's own counts (an independent model, not a
// recount); the full check (every full_check_every events, and at the end) recounts the
// records as tests/common/pool_core_harness.hpp does and matches every record against its
// simulated link.

#include "fleet_sim_impl.hpp"
#include "pool_core_invariants.hpp"

#include <algorithm>
#include <cstdio>

namespace tether::sim {
namespace {

std::string at(pool_time start, pool_time now)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "t=+%.6fs ", std::chrono::duration<double>(now - start).count());
    return buf;
}

} // namespace

void fleet_sim::violation(const std::string& what)
{
    ++r_.violations;
    if (r_.first_violations.size() < 8)
        r_.first_violations.push_back(at(start_, now_) + what);
}

void fleet_sim::check_cheap()
{
    ++r_.cheap_checks;
    const auto& g = core_.gauges();
    const auto fail = [&](const char* what, std::size_t core, std::size_t driver) {
        violation(std::string(what) + ": core " + std::to_string(core) + ", driver/limit " +
                  std::to_string(driver));
    };
    if (g.total != n_links_)
        fail("link records", g.total, n_links_);
    if (g.connecting != n_connecting_)
        fail("connecting links", g.connecting, n_connecting_);
    if (g.leased != n_held_)
        fail("leased links", g.leased, n_held_);
    if (core_.waiters().size() != waiting_.size())
        fail("waiters", core_.waiters().size(), waiting_.size());
    if (const auto v = test::core_limits_violation(core_, now_); !v.empty())
        violation(v);
}

void fleet_sim::check_full()
{
    ++r_.full_checks;
    if (const auto v = test::core_records_violation(core_); !v.empty())
        violation(v);
    core_.records().for_each([&](link_slot s, const sansio::link_record& r) {
        const sim_link& l = links_[s];
        const auto st = l.fsm ? l.fsm->state() : sansio::link_state::closed;
        bool ok = l.id == r.id && l.held == r.held;
        switch (r.status) {
        case sansio::link_status::connecting:
            ok = ok && !l.proven &&
                 (st == sansio::link_state::connecting || st == sansio::link_state::proving ||
                  core_.closed());
            break;
        case sansio::link_status::idle:
        case sansio::link_status::leased:
            ok = ok && st == sansio::link_state::ready;
            break;
        case sansio::link_status::draining:
            ok = ok && l.proven;
            break;
        }
        if (!ok)
            violation("record of link " + std::to_string(r.id) + " (status " +
                      std::to_string(static_cast<int>(r.status)) + ") disagrees with the link");
    });
}

// After every event: the recovery probe, and a look at the links 10 s after the all-down.
void fleet_sim::after_event()
{
    if (probing_since_ && core_.gauges().ready >= cfg_.limits.min_connections) {
        recovery_.push_back(now_ - *probing_since_);
        probing_since_.reset();
    }
    if (all_down_end_ && r_.all_down_refill_us < 0 &&
        core_.gauges().ready >= cfg_.limits.min_connections)
        r_.all_down_refill_us =
            std::chrono::duration_cast<std::chrono::microseconds>(now_ - *all_down_end_).count();
    if (all_down_end_ && !all_down_snapshot_ && now_ >= *all_down_end_ + 10s) {
        all_down_snapshot_ = true;
        r_.links_after_all_down = links_per_backend();
    }
}

// The first time every backend is refusing or hung is watched: connects while they are
// down and as they come back, and where the links are 10 s after the first came back.
void fleet_sim::update_all_down()
{
    const bool down = std::all_of(backends_.begin(), backends_.end(),
                                  [](const backend_state& b) { return b.refused || b.hung; });
    if (down && !all_down_since_)
        all_down_since_ = now_;
    if (!down && all_down_since_ && !all_down_end_)
        all_down_end_ = now_;
}

// A fault's end is probed for recovery when no other fault is active then, and none starts
// before the pool could have recovered (the longest backoff, a connect timeout, a second).
void fleet_sim::plan_probes()
{
    const auto& faults = cfg_.faults;
    const auto& bo = cfg_.limits.backoff;
    const sim_duration bound = std::chrono::duration_cast<sim_duration>(bo.max * (1 + bo.jitter)) +
                               cfg_.timing.connect_timeout + 1s;
    quiet_end_.assign(faults.size(), false);
    for (std::size_t i = 0; i < faults.size(); ++i) {
        const sim_duration e = faults[i].end;
        bool quiet = e + bound < cfg_.duration;
        for (std::size_t j = 0; j < faults.size() && quiet; ++j)
            if (j != i)
                quiet = !(faults[j].start < e && e < faults[j].end) &&
                        !(faults[j].start >= e && faults[j].start <= e + bound);
        quiet_end_[i] = quiet;
    }
}

void fleet_sim::note_connect(std::size_t backend)
{
    backend_state& b = backends_[backend];
    if (b.down_since) {
        first_connect_.push_back(now_ - *b.down_since);
        b.down_since.reset();
    }
    if (!all_down_since_)
        return;
    const auto bin = static_cast<std::size_t>((now_ - *all_down_since_) / 250ms);
    if (bin < spread_bins)
        ++r_.all_down_connects[bin];
    auto& first = r_.all_down_first_connect_ms[backend % r_.all_down_first_connect_ms.size()];
    if (first < 0)
        first =
            std::chrono::duration_cast<std::chrono::milliseconds>(now_ - *all_down_since_).count();
}

// Proven links in service (idle or leased) per backend.
std::vector<std::uint32_t> fleet_sim::links_per_backend() const
{
    std::vector<std::uint32_t> n(cfg_.backends, 0);
    core_.records().for_each([&](link_slot, const sansio::link_record& r) {
        if (r.status == sansio::link_status::idle || r.status == sansio::link_status::leased)
            ++n[r.backend];
    });
    return n;
}

void fleet_sim::finish_results()
{
    check_full();
    r_.virtual_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_ - start_).count();
    for (std::size_t k = 0; k < fault_kinds; ++k)
        r_.closed_after[k] = summarize(closed_after_[k]);
    r_.recovery = summarize(recovery_);
    r_.first_connect_after_up = summarize(first_connect_);
    r_.first_backoff = summarize(first_backoff_);
    std::size_t unfinished = 0;
    for (std::uint64_t op = 0; op < ops_.size(); ++op)
        if (ops_[op] != op_state::done && unfinished++ < 3)
            violation("request " + std::to_string(op) + " never completed");
    if (unfinished)
        violation(std::to_string(unfinished) + " requests never completed");
    if (!waiting_.empty())
        violation(std::to_string(waiting_.size()) + " waiters never completed");
    if (n_links_ != 0 || !core_.finished())
        violation("links left after shutdown: " + std::to_string(n_links_));
    if (r_.pool_finished != 1)
        violation("pool_finished told " + std::to_string(r_.pool_finished) + " times");
}

} // namespace tether::sim
