#pragma once

// Outstanding requests of one link, keyed by id, with their deadlines. Sans-io and generic in
// what is stored per request (the driver stores completion handlers). Deadlines are kept in a
// FIFO: every request of a link gets the same timeout, so insertion order is deadline order and
// the earliest deadline is always at the front (stale entries are skipped lazily). A queued
// deadline counts only while the request under its id still has that deadline, so an id reused
// after its take() is never expired by its predecessor's deadline.
//
// Stored values are only ever move-constructed, never assigned (Boost 1.81's
// any_completion_handler must not be move-assigned). Map nodes of completed requests are kept
// for the next ones, so a link in steady state inserts and takes without allocating.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tether::sansio {

template <class Pending, class TimePoint = std::chrono::steady_clock::time_point>
class request_table {
public:
    /// False when `id` is already outstanding (the caller allocates ids; this is a guard).
    bool insert(std::uint64_t id, Pending&& pending, TimePoint deadline)
    {
        if (entries_.contains(id))
            return false;
        if (spare_.empty()) {
            auto& fresh = entries_.try_emplace(id).first->second;
            fresh.pending.emplace(std::move(pending));
            fresh.deadline = deadline;
        } else {
            node_type node = std::move(spare_.back());
            spare_.pop_back();
            node.key() = id;
            node.mapped().pending.emplace(std::move(pending));
            node.mapped().deadline = deadline;
            entries_.insert(std::move(node));
        }
        deadlines_.push_back({deadline, id});
        return true;
    }

    /// Removes and returns the request `id`; empty when nothing with that id is outstanding
    /// (a late or unknown response).
    std::optional<Pending> take(std::uint64_t id)
    {
        TimePoint ignored;
        return take(id, ignored);
    }
    /// The same, and the request's deadline in `deadline` (when found).
    std::optional<Pending> take(std::uint64_t id, TimePoint& deadline)
    {
        auto it = entries_.find(id);
        if (it == entries_.end())
            return std::nullopt;
        deadline = it->second.deadline;
        std::optional<Pending> out = take_node(it);
        prune();
        return out;
    }

    /// Calls `f(id, Pending&&)` (or `f(id, Pending&&, deadline)`) for every request whose
    /// deadline is <= now, removing them.
    template <class F> void take_expired(TimePoint now, F&& f)
    {
        while (!deadlines_.empty() && deadlines_.front().at <= now) {
            const deadline_entry d = deadlines_.front();
            deadlines_.pop_front();
            auto it = entries_.find(d.id);
            if (it != entries_.end() && it->second.deadline == d.at)
                call(f, d.id, std::move(*take_node(it)), d.at);
        }
    }

    /// Calls `f(id, Pending&&)` (or `f(id, Pending&&, deadline)`) for every outstanding
    /// request, removing them all.
    template <class F> void take_all(F&& f)
    {
        while (!entries_.empty()) {
            const auto it = entries_.begin();
            const std::uint64_t id = it->first;
            const TimePoint deadline = it->second.deadline;
            call(f, id, std::move(*take_node(it)), deadline);
        }
        deadlines_.clear();
    }

    /// The earliest deadline of a request still outstanding.
    std::optional<TimePoint> next_deadline()
    {
        prune();
        if (deadlines_.empty())
            return std::nullopt;
        return deadlines_.front().at;
    }

    bool contains(std::uint64_t id) const { return entries_.contains(id); }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }

private:
    template <class F> static void call(F& f, std::uint64_t id, Pending&& p, TimePoint deadline)
    {
        if constexpr (std::is_invocable_v<F&, std::uint64_t, Pending&&, TimePoint>)
            f(id, std::move(p), deadline);
        else
            f(id, std::move(p));
    }

    struct entry {
        std::optional<Pending> pending;
        TimePoint deadline{}; // tells this request's queued deadline from a predecessor's
    };
    struct deadline_entry {
        TimePoint at;
        std::uint64_t id;
    };
    using map_type = std::unordered_map<std::uint64_t, entry>;
    using node_type = typename map_type::node_type;
    static constexpr std::size_t max_spare = 64;

    std::optional<Pending> take_node(typename map_type::iterator it)
    {
        node_type node = entries_.extract(it);
        std::optional<Pending> out;
        out.emplace(std::move(*node.mapped().pending));
        node.mapped().pending.reset();
        if (spare_.size() < max_spare)
            spare_.push_back(std::move(node));
        return out;
    }

    // Keeps the deadline FIFO proportional to what is outstanding: responses usually complete
    // in order, so popping the stale front is enough; a long-running request at the front is
    // handled by an occasional compaction (amortised O(1) per request).
    void prune()
    {
        while (!deadlines_.empty() && !is_live(deadlines_.front()))
            deadlines_.pop_front();
        if (deadlines_.size() > 2 * entries_.size() + 64)
            std::erase_if(deadlines_, [this](const deadline_entry& d) { return !is_live(d); });
    }

    // Whether a deadline still belongs to an outstanding request (not to a completed one whose
    // id was reused).
    bool is_live(const deadline_entry& d) const
    {
        const auto it = entries_.find(d.id);
        return it != entries_.end() && it->second.deadline == d.at;
    }

    map_type entries_;
    std::vector<node_type> spare_; // emptied nodes, reused by insert
    std::deque<deadline_entry> deadlines_;
};

} // namespace tether::sansio
