#pragma once

#include <tether/detail/erased.hpp>
#include <tether/detail/handler_memory.hpp>
#include <tether/error.hpp>
#include <tether/with_diagnostics.hpp>

#include <boost/asio/async_result.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <system_error>

namespace tether {

/// Exclusive use of one pooled connection until the lease is destroyed or released.
///
/// Move-only. Use it from one thread at a time; its asynchronous operations may overlap
/// (pipelining: several async_request in flight complete in any order, matched by id).
/// Releasing or destroying a lease never cancels its requests: each still completes exactly
/// once, and the link returns to the pool after the last one (or is discarded if it broke).
/// Every operation on an empty, moved-from or released lease fails with errc::invalid_lease.
class lease {
public:
    lease() noexcept = default;
    lease(lease&& other) noexcept = default;
    lease& operator=(lease&& other) noexcept;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease();

    /// True while the lease holds a link (not empty, moved-from, released or discarded).
    bool valid() const noexcept { return link_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    /// Sends `body` as a request and blocks for the response body.
    /// Throws tether::server_error for an error response, tether::error otherwise
    /// (request_timeout, connection_lost, connection_draining, pool_closed, too_many_requests,
    /// frame_too_large, invalid_lease, would_block_io_thread when called on a pool io thread).
    nlohmann::json request(const nlohmann::json& body);

    /// As above without exceptions: on a server error, `ec == errc::server_error` and the result
    /// is the response's `error` object ({"code": ..., "message": ...}).
    nlohmann::json request(const nlohmann::json& body, std::error_code& ec);

    /// Sends `body` as a request; completes with the response body.
    /// \par Handler signature `void(boost::system::error_code, nlohmann::json)`
    /// \par Executor The handler's associated executor, else the pool's io threads (outside
    ///      any link strand); never inside this call.
    /// \par Per-operation cancellation terminal/partial/total: completes with
    ///      boost::asio::error::operation_aborted; the late response is dropped.
    /// \par Errors as request(); errc::server_error carries the error object as the value.
    /// The body is serialized before this returns, so it need not outlive the call.
    /// \par Default token with_diagnostics(deferred): `co_await lease.async_request(body)`
    ///      returns the body or throws what request() throws (see with_diagnostics.hpp).
    template <class CompletionToken = default_completion_token>
    auto async_request(const nlohmann::json& body, CompletionToken&& token = {})
    {
        const auto start = [](auto handler, std::shared_ptr<detail::pool_anchor> anchor,
                              std::shared_ptr<detail::link> link, const nlohmann::json& b) {
            detail::async_request_erased(anchor, link, b,
                                         detail::with_handler_memory(std::move(handler)));
        };
        if constexpr (detail::is_with_diagnostics_v<CompletionToken>) {
            return boost::asio::async_initiate<decltype(token.token),
                                               void(std::exception_ptr, nlohmann::json)>(
                [start](auto handler, std::shared_ptr<detail::pool_anchor> anchor,
                        std::shared_ptr<detail::link> link, const nlohmann::json& b) {
                    start(detail::diagnosing(std::move(handler), nullptr), std::move(anchor),
                          std::move(link), b);
                },
                token.token, anchor_, link_, body);
        } else {
            return boost::asio::async_initiate<CompletionToken,
                                               void(boost::system::error_code, nlohmann::json)>(
                start, token, anchor_, link_, body);
        }
    }

    /// Sends a one-way `notify`. Throws tether::error (same codes as request, minus timeouts).
    void notify(const nlohmann::json& body);
    void notify(const nlohmann::json& body, std::error_code& ec);

    /// Gives the link back to the pool now (after its in-flight requests). Idempotent.
    void release() noexcept;

    /// Drops the link instead of reusing it (for a connection the application distrusts): it
    /// is closed once its in-flight requests complete and a replacement opens as needed.
    void discard() noexcept;

    /// The pool-local number of the link (matches the observer's link_id); 0 if invalid.
    std::uint64_t link_id() const noexcept;

private:
    friend struct detail::lease_access;
    lease(std::shared_ptr<detail::pool_anchor> anchor, std::shared_ptr<detail::link> link) noexcept
        : anchor_(std::move(anchor)), link_(std::move(link))
    {
    }

    std::shared_ptr<detail::pool_anchor> anchor_;
    std::shared_ptr<detail::link> link_;
};

template <class Handler>
void detail::diagnosing_handler<Handler>::operator()(const boost::system::error_code& ec,
                                                     tether::lease value)
{
    std::exception_ptr failure;
    if (ec)
        failure = acquire_exception(anchor, ec);
    std::move(handler)(std::move(failure), std::move(value));
}

} // namespace tether
