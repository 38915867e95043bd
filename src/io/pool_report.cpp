// What the pool says about itself: stats() and diagnostics(), rendered from the core's records
// and the links' counters; and wait_ready().

#include "io/idle_watch.hpp"
#include "io/pool_deferred.hpp"
#include "io/pool_impl.hpp"

#include <sstream>

namespace tether::detail {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::uint64_t get(const std::atomic<std::uint64_t>& a)
{
    return a.load(std::memory_order_relaxed);
}

void copy_link_counters(const pool_counters& c, pool_stats& s)
{
    s.connects = get(c.connects);
    s.pings_sent = get(c.pings_sent);
    s.pongs_received = get(c.pongs_received);
    s.dead_links_detected = get(c.dead_links_detected);
    s.requests = get(c.requests);
    s.request_timeouts = get(c.request_timeouts);
    s.protocol_errors = get(c.protocol_errors);
    s.late_responses = get(c.late_responses);
    s.unknown_messages = get(c.unknown_messages);
    s.notifies_received = get(c.notifies_received);
    s.notifies_dropped = get(c.notifies_dropped);
    s.goaways = get(c.goaways);
    s.server_errors = get(c.server_errors);
    s.connections_lost = get(c.connections_lost);
    s.connect_time = c.connect_time.snapshot();
    s.ping_rtt = c.ping_rtt.snapshot();
    for (std::size_t o = 0; o < request_outcome_count; ++o)
        s.request_duration[o] = c.request_duration[o].snapshot();
}

// The held lease that was taken first, if any.
const sansio::link_record* oldest_lease(const sansio::link_records& records)
{
    const sansio::link_record* oldest = nullptr;
    if (records.gauges().leased == 0)
        return nullptr; // no scan of thousands of idle links
    records.for_each([&](sansio::link_slot, const sansio::link_record& r) {
        if (r.held && (!oldest || r.leased_at < oldest->leased_at))
            oldest = &r;
    });
    return oldest;
}

} // namespace

pool_stats pool_impl::stats()
{
    pool_stats s;
    {
        deferred out(*this);
        std::lock_guard lock(mutex_);
        settle_cache_locked(out);
        const auto& g = core_.gauges();
        auto c = core_.counters(); // with the leases the per-thread cache served
        const auto cached = cache_.counts();
        c.acquires += cached.acquires;
        c.leases_returned += cached.returns;
        c.hold_total += cached.hold_total;
        c.hold_max = std::max(c.hold_max, cached.hold_max);
        s.total = g.total;
        s.idle = g.idle;
        s.leased = g.leased;
        s.connecting = g.connecting;
        s.waiting = core_.waiters().size();
        s.acquires = c.acquires;
        s.acquire_timeouts = c.acquire_timeouts;
        s.connect_failures = c.connect_failures;
        s.leases_returned = c.leases_returned;
        if (c.leases_returned > 0)
            s.lease_hold_mean = duration_cast<std::chrono::microseconds>(
                c.hold_total / static_cast<clock::rep>(c.leases_returned));
        s.lease_hold_max = duration_cast<std::chrono::microseconds>(c.hold_max);
        s.leases_held_too_long = c.leases_held_too_long;
        // Acquires served by an idle link at hand waited for nothing: the first bucket.
        s.acquire_wait = waited_acquires_;
        if (c.acquires > waited_acquires_.count())
            s.acquire_wait.add(0, c.acquires - waited_acquires_.count(), 0);
        s.lease_use = lease_use_;
        s.lease_use += cached.hold;
        const auto now = clock_.now();
        if (const auto* oldest = oldest_lease(core_.records()))
            s.longest_current_hold = std::max(milliseconds::zero(),
                                              duration_cast<milliseconds>(now - oldest->leased_at));
        for (std::size_t b = 0; b < core_.backends().size(); ++b) {
            const auto& backend = core_.backends()[b];
            endpoint_stats es;
            es.endpoint = config_.endpoints[backend.endpoint_index];
            es.links = core_.records().backend(b).links;
            es.connects = backend.connects;
            es.connect_failures = backend.connect_failures;
            es.consecutive_failures = backend.backoff.failures();
            es.backing_off = backend.backing_off(now);
            es.last_error = backend.last_error;
            s.endpoints.push_back(std::move(es));
        }
    }
    copy_link_counters(counters_, s);
    return s;
}

void pool_impl::write_state_locked(std::ostream& os, clock_time now, bool telling) const
{
    const auto& g = core_.gauges();
    os << "links " << g.total << "/" << config_.max_connections << " (idle " << g.idle
       << ", leased " << g.leased << ", connecting " << g.connecting << ", draining " << g.draining
       << "), waiting " << core_.waiters().size();
    if (const auto* oldest = oldest_lease(core_.records())) {
        const auto& site = oldest->site;
        os << "; oldest lease held " << duration_cast<milliseconds>(now - oldest->leased_at).count()
           << " ms, acquired at " << site.file_name() << ":" << site.line() << " ("
           << site.function_name() << ")";
    }
    if (closed())
        os << "; pool is shut down";
    if (tls_) {
        const auto in_force = tls_->current();
        os << "; tls: verify " << to_string(in_force->options.verify);
        if (const unsigned reloads = tls_->reloads())
            os << " (options reloaded " << reloads << (reloads == 1 ? " time)" : " times)");
    }
    for (std::size_t b = 0; b < core_.backends().size(); ++b) {
        const auto& e = core_.backends()[b];
        os << "; " << to_string(config_.endpoints[e.endpoint_index]) << ": links "
           << core_.records().backend(b).links << ", failures " << e.backoff.failures();
        if (e.backing_off(now))
            os << ", backing off " << duration_cast<milliseconds>(e.retry_at - now).count()
               << " ms";
        // The most telling recent event (a failed connect, a dead or lost link) says when and
        // on which link; it carries the last error when that was the last failure.
        const std::string event = telling ? events_.most_telling(e.endpoint_index, now) : "";
        if (!e.last_error.empty() && event.find(e.last_error) == std::string::npos)
            os << ", last error: " << e.last_error;
        if (!event.empty())
            os << ", last failure " << event;
    }
}

std::string pool_impl::diagnostics()
{
    std::ostringstream os;
    const auto now = clock_.now();
    deferred out(*this);
    std::lock_guard lock(mutex_);
    settle_cache_locked(out);
    write_state_locked(os, now, false);
    if (const std::size_t watched = watch_ ? watch_->size() : 0; watched > 0)
        os << "; idle links in the health loop " << watched;
    for (std::size_t i = 0; i < config_.endpoints.size(); ++i) {
        std::ostringstream events;
        events_.write_recent(i, now, "  ", events);
        if (!events.str().empty())
            os << "\nrecent events of " << to_string(config_.endpoints[i])
               << " (newest first):" << events.str();
    }
    return os.str();
}

std::string pool_impl::failure_report()
{
    std::ostringstream os;
    const auto now = clock_.now();
    deferred out(*this);
    std::lock_guard lock(mutex_);
    settle_cache_locked(out);
    write_state_locked(os, now, true);
    return os.str();
}

bool pool_impl::wait_ready(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    const auto ready = [&] { return closed() || core_.gauges().ready >= config_.min_connections; };
    state_changed_.wait_for(lock, timeout, ready);
    return !closed() && core_.gauges().ready >= config_.min_connections;
}

} // namespace tether::detail
