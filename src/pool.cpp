// The facade of the pool: pool handle, builder's build(), and the erased entry points of the
// asynchronous templates.

#include "io/frame_scratch.hpp"
#include "io/lease_access.hpp"
#include "io/link.hpp"
#include "io/pool_impl.hpp"
#include "io/sync_wait.hpp"
#include "sansio/message.hpp"

#include <tether/pool.hpp>
#include <tether/pool_builder.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <mutex>
#include <thread>

namespace tether {
namespace asio = boost::asio;
using boost::system::error_code;

namespace detail {

void start_acquire(const std::shared_ptr<pool_anchor>& anchor, acquire_handler handler,
                   const std::source_location& site, completion_mode mode)
{
    if (!anchor) {
        complete_without_pool(std::move(handler), make_error_code(errc::pool_closed), lease{});
        return;
    }
    pool_impl& impl = *anchor->impl;
    pool_impl::acquire_op op(std::move(handler), impl.io(), mode);
    if (impl.closed()) {
        std::move(op).complete_detached(make_error_code(errc::pool_closed), lease{});
        return;
    }
    impl.async_acquire(anchor, std::move(op), site);
}

void async_acquire_erased(const std::shared_ptr<pool_anchor>& anchor, acquire_handler handler,
                          const std::source_location& site)
{
    start_acquire(anchor, std::move(handler), site, completion_mode::posted);
}

void start_request(const std::shared_ptr<pool_anchor>& anchor, const std::shared_ptr<link>& l,
                   const nlohmann::json& body, request_handler handler, completion_mode mode,
                   bool holds_lease)
{
    if (holds_lease && !anchor && l)
        l->hold_release();
    if (!anchor || !l) {
        complete_without_pool(std::move(handler), make_error_code(errc::invalid_lease),
                              nlohmann::json());
        return;
    }
    pool_impl& impl = *anchor->impl;
    link::request_op op(std::move(handler), impl.io(), mode);
    if (impl.closed()) {
        if (holds_lease)
            l->hold_release();
        std::move(op).complete_detached(make_error_code(errc::pool_closed), nullptr);
        return;
    }
    // Serialized here, on the caller's thread, into its reused buffer: the body need not
    // outlive the call, and the link only copies bytes.
    const std::uint64_t id = l->allocate_id();
    frame_scratch frame;
    if (const auto ec =
            wire::serialize_request(id, body, frame.buffer(), impl.config().max_frame_size)) {
        if (holds_lease)
            l->hold_release();
        std::move(op).complete(ec, nullptr); // nothing was sent: the link is kept
        return;
    }
    if (!holds_lease)
        l->hold_add();
    l->watch_cancellation(id, op);
    l->submit_request(id, frame.buffer(), std::move(op));
}

void async_request_erased(const std::shared_ptr<pool_anchor>& anchor,
                          const std::shared_ptr<link>& l, const nlohmann::json& body,
                          request_handler handler)
{
    start_request(anchor, l, body, std::move(handler), completion_mode::posted);
}

namespace {

// acquire → request → release, retried on another link when the first one answered
// connection_draining (a goaway crossed the acquire: nothing was sent, so it is safe).
struct pool_request_op : std::enable_shared_from_this<pool_request_op> {
    static constexpr int max_attempts = 3;

    pool_request_op(std::shared_ptr<pool_anchor> a, nlohmann::json b, link::request_op o,
                    std::source_location s, boost::asio::any_io_executor ex)
        : anchor(std::move(a)), body(std::move(b)), op(std::move(o)), site(s), io(std::move(ex))
    {
    }

    // The caller's slot gets one handler, installed here on the initiating thread; it forwards
    // to an internal signal that the current stage (acquire, then request) is bound to. Stage
    // initiation and forwarding hold `mutex`, because cancellation slots are not thread-safe.
    void watch_cancellation()
    {
        auto slot = op.cancellation_slot();
        if (!slot.is_connected())
            return;
        slot.assign([weak = weak_from_this()](asio::cancellation_type type) {
            if (auto self = weak.lock()) {
                std::lock_guard lock(self->mutex);
                self->cancelled = true;
                self->stage_signal.emit(type);
            }
        });
    }

    void start()
    {
        std::lock_guard lock(mutex);
        ++attempts;
        if (cancelled) {
            post_finish(asio::error::operation_aborted);
            return;
        }
        async_acquire_erased(anchor,
                             with_handler_memory(asio::bind_cancellation_slot(
                                 stage_signal.slot(),
                                 [self = shared_from_this()](error_code ec, lease l) mutable {
                                     self->on_lease(ec, std::move(l));
                                 })),
                             site);
    }

    void post_finish(error_code ec)
    {
        // Never complete inside an initiating call: hop through the pool's executor.
        asio::post(io, [self = shared_from_this(), ec] { self->finish(ec, nullptr); });
    }

    // The anchor is dropped before the caller is told: a caller that then drops its last
    // pool handle must be the one whose thread shuts the pool down (and joins it), not an io
    // thread finishing this operation.
    void finish(error_code ec, nlohmann::json reply)
    {
        anchor.reset();
        std::move(op).complete(ec, std::move(reply));
    }

    void on_lease(error_code ec, lease l)
    {
        if (ec) {
            finish(ec, nullptr);
            return;
        }
        std::lock_guard lock(mutex);
        if (cancelled) {
            post_finish(asio::error::operation_aborted);
            return;
        }
        // The lease's hold passes to the request, so the link is back in the pool before the
        // reply completes this operation. (Releasing the lease after sending would race the
        // reply: the caller could see the link still leased after its answer.)
        auto held = lease_access::take_link_and_hold(l);
        start_request(anchor, held, body,
                      with_handler_memory(asio::bind_cancellation_slot(
                          stage_signal.slot(),
                          [self = shared_from_this()](error_code rec, nlohmann::json reply) {
                              self->on_reply(rec, std::move(reply));
                          })),
                      completion_mode::posted, /*holds_lease=*/true);
    }

    void on_reply(error_code ec, nlohmann::json reply)
    {
        if (ec == errc::connection_draining && attempts < max_attempts) {
            start();
            return;
        }
        finish(ec, std::move(reply));
    }

    std::shared_ptr<pool_anchor> anchor;
    nlohmann::json body;
    link::request_op op;
    std::source_location site;
    boost::asio::any_io_executor io; // the pool's
    std::mutex mutex;
    asio::cancellation_signal stage_signal; // guarded by mutex
    bool cancelled = false;                 // guarded by mutex
    int attempts = 0;
};

} // namespace

void start_pool_request(const std::shared_ptr<pool_anchor>& anchor, const nlohmann::json& body,
                        request_handler handler, const std::source_location& site,
                        completion_mode mode)
{
    if (!anchor) {
        complete_without_pool(std::move(handler), make_error_code(errc::pool_closed),
                              nlohmann::json());
        return;
    }
    pool_impl& impl = *anchor->impl;
    link::request_op op(std::move(handler), impl.io(), mode);
    if (impl.closed()) {
        std::move(op).complete_detached(make_error_code(errc::pool_closed), nullptr);
        return;
    }
    auto request =
        std::make_shared<pool_request_op>(anchor, body, std::move(op), site, impl.io().executor());
    request->watch_cancellation();
    request->start();
}

void async_pool_request_erased(const std::shared_ptr<pool_anchor>& anchor,
                               const nlohmann::json& body, request_handler handler,
                               const std::source_location& site)
{
    start_pool_request(anchor, body, std::move(handler), site, completion_mode::posted);
}

} // namespace detail

// ---- pool -----------------------------------------------------------------------------------

pool::pool(std::shared_ptr<detail::pool_anchor> anchor) noexcept : anchor_(std::move(anchor))
{
    if (anchor_)
        anchor_->handles.fetch_add(1, std::memory_order_relaxed);
}

pool::pool(const pool& other) noexcept : pool(other.anchor_) {}

pool& pool::operator=(const pool& other) noexcept
{
    if (this != &other)
        *this = pool(other); // the move below
    return *this;
}

pool& pool::operator=(pool&& other) noexcept
{
    if (this != &other) {
        drop_handle();
        anchor_ = std::move(other.anchor_);
    }
    return *this;
}

pool::~pool()
{
    drop_handle();
}

void pool::drop_handle() noexcept
{
    if (!anchor_)
        return;
    // The last handle: the lease cache lets go of the references it kept, while this one
    // still holds the pool, so that this reference, dropped next, is the last unless a lease
    // lives (then the pool shuts down when that lease goes, as before).
    if (anchor_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1)
        anchor_->impl->on_last_handle_gone();
    anchor_.reset();
}

detail::pool_impl& pool::impl() const
{
    if (!anchor_)
        throw error(make_error_code(errc::pool_closed), "tether: empty pool handle");
    return *anchor_->impl;
}

lease pool::acquire(std::error_code& ec, std::source_location site) const
{
    ec = detail::blocking_call_refusal(anchor_);
    if (ec)
        return {};
    if (auto idle = anchor_->impl->try_acquire_idle(site); idle.link) {
        // The reference the lease cache kept, when it did: no shared count touched.
        return detail::lease_access::make(idle.anchor ? std::move(idle.anchor) : anchor_,
                                          std::move(idle.link));
    }
    detail::sync_wait<lease> wait;
    detail::start_acquire(anchor_, wait.handler(), site,
                          detail::completion_mode::inline_for_blocking_caller);
    return wait.get(ec);
}

lease pool::acquire(std::source_location site) const
{
    std::error_code ec;
    lease l = acquire(ec, site);
    if (ec)
        std::rethrow_exception(detail::acquire_exception(anchor_, ec));
    return l;
}

nlohmann::json pool::request(const nlohmann::json& body, std::error_code& ec,
                             std::source_location site) const
{
    ec = detail::blocking_call_refusal(anchor_);
    if (ec)
        return nullptr;
    detail::sync_wait<nlohmann::json> wait;
    detail::start_pool_request(anchor_, body, wait.handler(), site,
                               detail::completion_mode::inline_for_blocking_caller);
    return wait.get(ec);
}

nlohmann::json pool::request(const nlohmann::json& body, std::source_location site) const
{
    std::error_code ec;
    nlohmann::json reply = request(body, ec, site);
    detail::throw_if_request_failed(ec, reply, anchor_); // an acquire failure explains itself
    return reply;
}

bool pool::wait_ready(std::chrono::milliseconds timeout) const
{
    const auto ec = detail::blocking_call_refusal(anchor_);
    if (ec == errc::pool_closed)
        return false;
    if (ec)
        throw error(ec, "tether: wait_ready on an io thread");
    return anchor_->impl->wait_ready(timeout);
}

pool_stats pool::stats() const
{
    return impl().stats();
}

std::vector<metric_family> pool::metrics() const
{
    auto& i = impl();
    return detail::metric_families(i.stats(), i.config(), i.backend_metrics());
}

std::string pool::metrics_text() const
{
    return to_prometheus_text(metrics());
}

const pool_config& pool::config() const
{
    return impl().config();
}

void pool::reload_tls(const tls_options& options, tls_reload mode) const
{
    impl().reload_tls(options, mode);
}

std::string pool::diagnostics() const
{
    return anchor_ ? anchor_->impl->diagnostics() : "empty pool handle";
}

void pool::shutdown(std::chrono::milliseconds drain) const
{
    if (anchor_)
        anchor_->impl->shutdown(drain);
}

void pool::shutdown() const
{
    if (anchor_)
        anchor_->impl->shutdown(anchor_->impl->config().drain_timeout);
}

// ---- builder --------------------------------------------------------------------------------

pool pool_builder::build() const
{
    if (config_.executor && io_threads_set_)
        throw config_error("io_threads", "must be left unset with executor(): the pool runs on "
                                         "the application's executor and starts no threads");
    pool_config c = config_;
    if (!io_threads_set_)
        c.io_threads = default_io_threads(); // the CPUs this thread may use now, not at the
                                             // builder's construction (maybe elsewhere)
    validate(c);
    auto impl = std::make_shared<detail::pool_impl>(std::move(c));
    impl->start();
    auto anchor = std::make_shared<detail::pool_anchor>();
    anchor->impl = std::move(impl);
    return pool(std::move(anchor));
}

} // namespace tether
