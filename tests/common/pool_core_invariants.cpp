#include "pool_core_invariants.hpp"

#include "sansio/pool_policy.hpp"

#include <algorithm>
#include <vector>

namespace tether::test {
namespace {

bool any_backend_accepts(const sansio::pool_core& c, sansio::pool_time now)
{
    for (std::size_t b = 0; b < c.backends().size(); ++b)
        if (c.backend_accepts_connect(b, now))
            return true;
    return false;
}

std::string over(const char* what, std::size_t value, std::size_t limit)
{
    return std::string(what) + ": " + std::to_string(value) + " > " + std::to_string(limit);
}

} // namespace

std::string core_limits_violation(const sansio::pool_core& c, sansio::pool_time now)
{
    const auto& g = c.gauges();
    const auto& l = c.limits();
    if (g.live() > l.max_connections)
        return over("live links over max_connections", g.live(), l.max_connections);
    if (g.connecting > l.max_concurrent_connects)
        return over("connects over max_concurrent_connects", g.connecting,
                    l.max_concurrent_connects);
    if (c.waiters().size() > l.max_waiters)
        return over("waiters over max_waiters", c.waiters().size(), l.max_waiters);
    if (!c.waiters().empty() && g.idle != 0)
        return "callers wait while " + std::to_string(g.idle) + " links are idle";
    if (c.closed())
        return {};
    // Refilled: short of links only while the connect cap or every backend's backoff holds
    // the connects back, and then a retry is scheduled.
    const bool short_of_links = sansio::connects_wanted(g, c.waiters().size(), l) > 0;
    const bool capped = g.connecting >= l.max_concurrent_connects;
    const bool accepts = any_backend_accepts(c, now);
    if (short_of_links && !capped && accepts)
        return "connects wanted but none started: live " + std::to_string(g.live()) +
               ", connecting " + std::to_string(g.connecting) + ", waiters " +
               std::to_string(c.waiters().size());
    if (short_of_links && !capped && !accepts && c.next_wake() == sansio::pool_time::max())
        return "short of links, every backend backing off, and no retry scheduled";
    return {};
}

std::string core_records_violation(const sansio::pool_core& c)
{
    sansio::link_gauges recount;
    std::vector<sansio::backend_gauges> backends;
    c.records().recount(recount, backends);
    if (!(recount == c.gauges()))
        return "a gauge differs from a recount of the records";
    for (std::size_t b = 0; b < backends.size(); ++b)
        if (!(backends[b] == c.records().backend(b)))
            return "backend " + std::to_string(b) + " gauges differ from a recount";
    std::vector<sansio::link_slot> stack = c.records().idle_stack(), idle;
    c.records().for_each([&](sansio::link_slot s, const sansio::link_record& r) {
        if (r.status == sansio::link_status::idle)
            idle.push_back(s);
    });
    std::sort(stack.begin(), stack.end());
    if (stack != idle) // for_each goes in slot order; a duplicate in the stack differs too
        return "the idle stack is not the set of idle records";
    return {};
}

} // namespace tether::test
