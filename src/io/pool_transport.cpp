// The pool's transports: which one its links get (a test's, TLS with the options in force,
// or plain TCP), the TLS reload, and the grace a link closing on purpose gives its peer.

#include "io/pool_deferred.hpp"
#include "io/pool_impl.hpp"

#include <tether/error.hpp>

#include <algorithm>

namespace tether::detail {
namespace asio = boost::asio;

std::shared_ptr<tls_context_source> pool_impl::tls_source_for(const pool_config& c)
{
    return c.tls ? std::make_shared<tls_context_source>(make_tls_client_context(*c.tls)) : nullptr;
}

// A test's transport, else TLS with the context in force when the link starts, else TCP.
transport_factory pool_impl::transport_for(transport_factory given,
                                           const std::shared_ptr<tls_context_source>& tls)
{
    if (given)
        return given;
    if (!tls)
        return make_tcp_transport;
    return [tls](const asio::any_io_executor& strand, const pool_config& config) {
        return make_tls_transport(strand, config, tls->current());
    };
}

void pool_impl::reload_tls(const tls_options& options, tls_reload mode)
{
    if (!tls_)
        throw config_error("tls", "the pool was built without TLS: reload_tls cannot turn it on");
    tls_->replace(make_tls_client_context(options)); // throws before anything changed
    if (mode != tls_reload::rotate_links)
        return;
    deferred out(*this);
    std::lock_guard lock(mutex_);
    core_.expire_all(now(), actions_);
    core_.records().for_each([&](sansio::link_slot s, const sansio::link_record& r) {
        if (s < slots_.size() && slots_[s].owned)
            slots_[s].owned->set_retire_at(r.retire_at); // the cache lets them go back too
    });
    translate_locked(out);
}

std::chrono::milliseconds pool_impl::close_grace() const noexcept
{
    constexpr std::chrono::milliseconds most{1000};
    const clock_time deadline{
        clock_time::duration(drain_deadline_.load(std::memory_order_acquire))};
    if (deadline == clock_time::max())
        return most;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now());
    return std::clamp(left, std::chrono::milliseconds::zero(), most);
}

} // namespace tether::detail
