#pragma once

// The simulator behind run_fleet_sim(): an event queue keyed by virtual time, the driver's
// side of the pool core's contract, simulated links each owning a real link_fsm, a simulated
// fleet with scripted faults, and clients. Split over fleet_sim.cpp (loop, clients, core
// actions), sim_links.cpp (links and faults) and sim_checks.cpp (invariants and probes).

#include "fleet_sim.hpp"
#include "sansio/pool_core.hpp"

#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace tether::sim {

using sansio::link_slot;
using sansio::pool_time;

enum class ev : std::uint8_t {
    arrival,        ///< a client wants a link
    connect_arrive, ///< the SYN reached the backend: refused, lost (hung) or connected
    pong,           ///< a = link id, b = ping id
    reply,          ///< a = link id, b = op
    link_timer,     ///< a = timer tag
    link_close,     ///< a = link id: a link the pool retired closes (its fsm closed already)
    core_wake,      ///< a = wake tag
    fault_start,    ///< a = fault index
    fault_end,      ///< a = fault index
    shutdown,
};

struct event {
    pool_time at;
    std::uint64_t seq; ///< ties broken by insertion order: deterministic
    std::uint64_t a = 0, b = 0;
    link_slot slot = 0;
    ev kind;
    bool operator>(const event& o) const noexcept { return at != o.at ? at > o.at : seq > o.seq; }
};

/// A simulated link, kept under the core's slot. `id == 0`: the slot is free.
struct sim_link {
    std::uint64_t id = 0;
    std::size_t backend = 0;
    std::optional<sansio::link_fsm> fsm;
    bool proven = false;       ///< link_ready told to the core
    bool held = false;         ///< leased to a client (the driver's view)
    bool replied = false;      ///< answered a request at least once
    std::uint64_t request = 0; ///< op in flight, 0: none
    pool_time timer_at = pool_time::max();
    std::uint64_t timer_tag = 0;
    int hit_by = -1; ///< fault that hit it while established (for closed_after)
    pool_time hit_at{};
};

struct backend_state {
    int refused = 0, hung = 0, slow = 0, goaway = 0; ///< active faults of each kind
    std::optional<pool_time> down_since;             ///< waiting for the first connect after up
};

enum class op_state : std::uint8_t { acquiring, requesting, done };

class fleet_sim {
public:
    explicit fleet_sim(const fleet_config& config);
    fleet_results run();

private:
    // ---- fleet_sim.cpp: loop, clients, the core's actions
    void push(pool_time at, ev kind, link_slot slot = 0, std::uint64_t a = 0, std::uint64_t b = 0);
    void dispatch(const event& e);
    template <class F> void call(F&& f);
    void perform(const sansio::pool_action& a);
    void on_open(const sansio::open_link& a);
    void on_grant(const sansio::grant_link& a);
    void on_fail(const sansio::fail_waiter& a);
    void on_retire(const sansio::retire_link& a);
    void arrival();
    void start_request(std::uint64_t op, link_slot slot);
    void finish_op(std::uint64_t op, std::optional<errc> failure, bool in_request);
    void arm_core_wake();
    void core_wake(std::uint64_t tag);
    void shutdown();

    // ---- sim_links.cpp: links and faults
    sim_link* live(link_slot slot, std::uint64_t id);
    bool accepting(link_slot slot) const;
    void connect_arrive(link_slot slot, std::uint64_t id);
    void perform_link(link_slot slot, sansio::link_action a);
    void send_ping(link_slot slot);
    void pong(link_slot slot, std::uint64_t id, std::uint64_t ping);
    void reply(link_slot slot, std::uint64_t id, std::uint64_t op);
    void link_timer(link_slot slot, std::uint64_t tag);
    void arm_link_timer(link_slot slot);
    void deliver_goaway(link_slot slot);
    void close_link(link_slot slot);
    void fault_start(std::size_t index);
    void fault_end(std::size_t index);
    std::vector<link_slot> established_on(std::size_t backend) const;
    pool_time after(sim_duration mean);

    // ---- sim_checks.cpp: invariants and probes
    void check_cheap();
    void check_full();
    void violation(const std::string& what);
    void after_event();
    void update_all_down();
    void plan_probes();
    void note_connect(std::size_t backend);
    std::vector<std::uint32_t> links_per_backend() const;
    void finish_results();

    double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

    fleet_config cfg_;
    std::mt19937_64 rng_;
    pool_time start_, end_, now_;
    sansio::pool_core core_;
    sansio::pool_core::actions out_;
    bool performing_ = false;
    std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
    std::uint64_t seq_ = 0, tags_ = 0;
    std::vector<sim_link> links_;
    std::vector<backend_state> backends_;
    std::vector<op_state> ops_;
    std::map<sansio::waiter_id, std::uint64_t> waiting_; ///< waiter -> op
    std::uint64_t wake_tag_ = 0;
    pool_time wake_at_ = pool_time::max();
    // The driver's own counts, compared with the core's gauges after every call.
    std::size_t n_links_ = 0, n_connecting_ = 0, n_held_ = 0;
    // Measurements.
    fleet_results r_;
    std::vector<std::vector<sim_duration>> closed_after_;
    std::vector<sim_duration> recovery_, first_connect_, first_backoff_;
    std::vector<bool> quiet_end_; ///< per fault: no other fault around its end (a probe)
    std::optional<pool_time> probing_since_;
    std::optional<pool_time> all_down_since_; ///< the first time every backend was down
    std::optional<pool_time> all_down_end_;   ///< ... and when the first came back
    bool all_down_snapshot_ = false;
    bool closed_ = false;
};

// One core call: its actions performed once it returned, then the cheap invariants checked.
template <class F> void fleet_sim::call(F&& f)
{
    if (performing_)
        violation("the core was called while its actions were being performed");
    out_.clear();
    f(out_);
    performing_ = true;
    for (const auto& a : out_)
        perform(a);
    performing_ = false;
    check_cheap();
}

} // namespace tether::sim
