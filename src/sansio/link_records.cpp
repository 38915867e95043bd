#include "sansio/link_records.hpp"

#include <algorithm>

namespace tether::sansio {

link_slot link_records::add(const link_record& r)
{
    link_slot slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
        records_[slot] = r;
        used_[slot] = true;
    } else {
        slot = static_cast<link_slot>(records_.size());
        records_.push_back(r);
        used_.push_back(true);
    }
    count(records_[slot], +1);
    if (r.status == link_status::idle)
        idle_.push_back(slot);
    return slot;
}

void link_records::remove(link_slot slot)
{
    count(records_[slot], -1);
    move_idle(slot, records_[slot].status, link_status::draining);
    used_[slot] = false;
    records_[slot] = link_record{};
    free_.push_back(slot);
}

const backend_gauges& link_records::backend(backend_id b) const
{
    static const backend_gauges none{};
    return b < backends_.size() ? backends_[b] : none;
}

backend_gauges& link_records::backend_mut(backend_id b)
{
    if (b >= backends_.size())
        backends_.resize(b + 1);
    return backends_[b];
}

// The enter (+1) and exit (-1) hooks of every gauge: the only place a gauge changes.
void link_records::count(const link_record& r, int sign)
{
    const auto add = [sign](std::size_t& g) { g += static_cast<std::size_t>(sign); };
    add(gauges_.total);
    backend_gauges& b = backend_mut(r.backend);
    add(b.links);
    switch (r.status) {
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
    if (r.held) {
        add(gauges_.leased);
        add(b.leased);
    }
    if (r.replacing && r.status != link_status::draining)
        add(gauges_.replacing);
}

void link_records::move_idle(link_slot slot, link_status from, link_status to)
{
    if (to == link_status::idle) {
        idle_.push_back(slot);
    } else if (from == link_status::idle) {
        if (idle_.back() == slot)
            idle_.pop_back(); // the common case: the most recently used is taken
        else
            idle_.erase(std::find(idle_.begin(), idle_.end(), slot));
    }
}

void link_records::recount(link_gauges& pool, std::vector<backend_gauges>& backends) const
{
    pool = {};
    backends.assign(backends_.size(), backend_gauges{});
    for_each([&](link_slot, const link_record& r) {
        ++pool.total;
        if (r.backend >= backends.size())
            backends.resize(r.backend + 1);
        backend_gauges& b = backends[r.backend];
        ++b.links;
        switch (r.status) {
        case link_status::connecting:
            ++pool.connecting, ++b.connecting;
            break;
        case link_status::idle:
            ++pool.idle, ++pool.ready;
            break;
        case link_status::leased:
            ++pool.ready;
            break;
        case link_status::draining:
            ++pool.draining;
            break;
        }
        if (r.held)
            ++pool.leased, ++b.leased;
        if (r.replacing && r.status != link_status::draining)
            ++pool.replacing;
    });
}

} // namespace tether::sansio
