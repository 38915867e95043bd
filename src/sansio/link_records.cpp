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
    if (r.backend >= backends_.size())
        backends_.resize(r.backend + 1);
    count(counted_of(records_[slot]), r.backend, +1);
    if (r.status == link_status::idle)
        idle_.push_back(slot);
    return slot;
}

void link_records::remove(link_slot slot)
{
    count(counted_of(records_[slot]), records_[slot].backend, -1);
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

void link_records::erase_idle(link_slot slot)
{
    idle_.erase(std::find(idle_.begin(), idle_.end(), slot));
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
