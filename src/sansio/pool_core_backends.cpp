// How the pool core judges its backends: failed connects and their backoff, goaways right
// after proving, and the trust a serving link restores.

#include "sansio/pool_core.hpp"
#include "sansio/pool_policy.hpp"

#include <algorithm>

namespace tether::sansio {

void pool_core::trust_if_old(link_slot slot, pool_time now) noexcept
{
    const link_record& r = records_.at(slot);
    backend& b = backends_[r.backend];
    if (b.on_probation && now - r.proven_at >= limits_.backoff.initial)
        trust(b); // it served long after proving
}

void pool_core::put_on_probation(backend& b) noexcept
{
    if (!b.on_probation) {
        b.on_probation = true;
        ++on_probation_;
    }
}

// A link of `b` outlived the early-goaway window: whatever came before is forgiven.
void pool_core::trust(backend& b) noexcept
{
    if (b.on_probation) {
        b.on_probation = false;
        --on_probation_;
    }
    b.failures_before_reset = 0;
    b.early_goaway_at.reset();
}

// A goaway to a link that answered no request, within backoff.initial of proving, is "early".
// Once is a restart that caught a new link: replaced at once, as any goaway. Again within
// backoff.max, the backend sends every new link away (a reconnect loop otherwise, since
// proving resets the backoff and goaway replaces at once): a failed connect, resuming the
// backoff from before that proving. A server that rotates links after serving them is fine.
void pool_core::judge_goaway(const link_record& r, bool served, pool_time now, actions& out)
{
    backend& b = backends_[r.backend];
    if (served || now - r.proven_at >= limits_.backoff.initial) {
        trust(b);
        return;
    }
    const bool repeat = b.early_goaway_at && now - *b.early_goaway_at < limits_.backoff.max;
    b.early_goaway_at = now;
    put_on_probation(b);
    if (!repeat)
        return;
    if (r.epoch == b.failure_epoch)
        b.backoff.resume(b.failures_before_reset);
    record_connect_failure(r, "goaway again right after a link was proven", now, out);
}

void pool_core::record_connect_failure(const link_record& r, std::string_view detail, pool_time now,
                                       actions& out)
{
    backend& b = backends_[r.backend];
    ++counters_.connect_failures;
    ++b.connect_failures;
    b.last_error.assign(detail);
    if (r.status == link_status::connecting)
        out.emplace_back(connect_failed{r.backend, r.id});
    advance_backoff(r, now, out);
}

void pool_core::advance_backoff(const link_record& r, pool_time now, actions& out)
{
    backend& b = backends_[r.backend];
    // Concurrent connects that failed together advance the backoff once.
    if (r.epoch != b.failure_epoch)
        return;
    ++b.failure_epoch;
    const auto delay = b.backoff.on_failure();
    b.retry_at = now + delay;
    out.emplace_back(backoff_started{r.backend, delay, b.backoff.failures()});
}

} // namespace tether::sansio
