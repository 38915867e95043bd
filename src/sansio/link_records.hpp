#pragma once

// The pool core's record of every link, and every gauge derived from them.
//
// A record's counted fields (status, held, replacing, backend) change only through change():
// it takes the record's contribution out of every gauge, applies the change, and puts the new
// contribution back (exit and enter hooks). So each gauge and per-backend count always equals
// a recount of the records (recount() does that, for tests), and no caller adjusts a counter
// by hand. Entering `idle` pushes the slot on the idle stack (most recently used at the back);
// leaving it takes the slot off; a change that stays idle keeps the slot's place.

#include "sansio/pool_types.hpp"

#include <cstddef>
#include <cstdint>
#include <source_location>
#include <vector>

namespace tether::sansio {

struct link_record {
    std::uint64_t id = 0;
    backend_id backend = 0;
    link_status status = link_status::connecting;
    bool held = false;       ///< a lease holds it (status leased, or draining while still held)
    bool replacing = false;  ///< past max_lifetime: retired once a replacement is proven
    bool warned = false;     ///< this lease was reported as held too long
    std::uint64_t epoch = 0; ///< the backend's failure epoch when the connect started
    pool_time retire_at{};   ///< opened + jittered max_lifetime
    pool_time proven_at{};
    pool_time idle_since{};
    pool_time leased_at{};
    pool_duration idle_limit{};  ///< jittered idle_timeout
    std::source_location site{}; ///< of the current lease
};

/// Pool-wide gauges, each a function of the records.
struct link_gauges {
    std::size_t total = 0;
    std::size_t connecting = 0;
    std::size_t idle = 0;
    std::size_t leased = 0; ///< held by a lease, whatever the status
    std::size_t draining = 0;
    std::size_t ready = 0;     ///< proven and in service: idle or leased status
    std::size_t replacing = 0; ///< marked replacing and not draining

    /// Links that count against max_connections for new connects: all but the draining.
    std::size_t live() const noexcept { return total - draining; }
    friend bool operator==(const link_gauges&, const link_gauges&) = default;
};

/// Per-backend gauges.
struct backend_gauges {
    std::size_t links = 0;
    std::size_t connecting = 0;
    std::size_t leased = 0;
    friend bool operator==(const backend_gauges&, const backend_gauges&) = default;
};

class link_records {
public:
    /// Adds a record (its gauges counted) and returns its slot.
    link_slot add(const link_record& r);
    /// Removes the record in `slot` (its gauges uncounted); the slot may be reused.
    void remove(link_slot slot);

    /// The single transition function: `f(link_record&)` may change any field but `backend`.
    template <class F> void change(link_slot slot, F&& f)
    {
        link_record& r = records_[slot];
        const counted before = counted_of(r);
        f(r);
        const counted after = counted_of(r);
        // The exit hook of the old state, then the enter hook of the new one; applied after
        // the change, so the compiler can fold what both touch.
        count(before, r.backend, -1);
        count(after, r.backend, +1);
        if (before.status != after.status)
            move_idle(slot, before.status, after.status);
    }

    const link_record& at(link_slot slot) const { return records_[slot]; }
    bool contains(link_slot slot) const noexcept { return slot < used_.size() && used_[slot]; }

    const link_gauges& gauges() const noexcept { return gauges_; }
    const backend_gauges& backend(backend_id b) const;
    /// Recomputes every gauge from the records (invariant checks in tests).
    void recount(link_gauges& pool, std::vector<backend_gauges>& backends) const;
    /// Idle slots, most recently used at the back.
    const std::vector<link_slot>& idle_stack() const noexcept { return idle_; }

    /// Calls f(slot, record) for every record, in slot order.
    template <class F> void for_each(F&& f) const
    {
        for (link_slot s = 0; s < records_.size(); ++s)
            if (used_[s])
                f(s, records_[s]);
    }

private:
    /// What of a record the gauges depend on (with its backend, which never changes).
    struct counted {
        link_status status;
        bool held;
        bool replacing;
    };
    static counted counted_of(const link_record& r) noexcept
    {
        return {r.status, r.held, r.replacing};
    }
    void count(counted c, backend_id backend, int sign);
    /// Keeps the idle stack in step with a status change (a change within idle keeps its place).
    void move_idle(link_slot slot, link_status from, link_status to)
    {
        if (to == link_status::idle)
            idle_.push_back(slot);
        else if (from == link_status::idle && idle_.back() == slot)
            idle_.pop_back(); // the common case: the most recently used is taken
        else if (from == link_status::idle)
            erase_idle(slot);
    }
    void erase_idle(link_slot slot);

    std::vector<link_record> records_;
    std::vector<bool> used_;
    std::vector<link_slot> free_;
    std::vector<link_slot> idle_;
    link_gauges gauges_;
    std::vector<backend_gauges> backends_;
};

// The enter (+1) and exit (-1) hooks of every gauge: the only place a gauge changes.
[[gnu::always_inline]] inline void link_records::count(counted c, backend_id backend, int sign)
{
    const auto add = [sign](std::size_t& g) { g += static_cast<std::size_t>(sign); };
    add(gauges_.total);
    backend_gauges& b = backends_[backend]; // sized by add(); a record's backend never changes
    add(b.links);
    switch (c.status) {
    case link_status::connecting:
        add(gauges_.connecting);
        add(b.connecting);
        break;
    case link_status::idle:
        add(gauges_.idle);
        add(gauges_.ready);
        break;
    case link_status::leased:
        add(gauges_.ready);
        break;
    case link_status::draining:
        add(gauges_.draining);
        break;
    }
    if (c.held) {
        add(gauges_.leased);
        add(b.leased);
    }
    if (c.replacing && c.status != link_status::draining)
        add(gauges_.replacing);
}

} // namespace tether::sansio
