#pragma once

// with_diagnostics(token): a completion token adapter under which a failed tether operation
// completes with the exception the blocking call would have thrown (tether::server_error with
// the server's code and message, tether::error whose what() carries the pool's diagnostics),
// as a std::exception_ptr first argument instead of an error_code. use_awaitable and deferred
// rethrow it in the coroutine; use_future stores it. It is the default token of every tether
// async operation, wrapping boost::asio::deferred: `co_await pool.async_acquire()` needs no
// token and throws what pool.acquire() throws.

#include <tether/detail/awaitable_fix.hpp>
#include <tether/detail/erased.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/system/error_code.hpp>

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace tether {

/// The adapted token; made by with_diagnostics().
template <class CompletionToken> struct with_diagnostics_t {
    CompletionToken token;
};

/// Adapts `token`: failures complete with a std::exception_ptr to the exception the blocking
/// form of the operation throws; success with a null exception_ptr and the value.
template <class CompletionToken> auto with_diagnostics(CompletionToken&& token)
{
    return with_diagnostics_t<std::decay_t<CompletionToken>>{std::forward<CompletionToken>(token)};
}

/// The default completion token of tether's async operations.
using default_completion_token = with_diagnostics_t<boost::asio::deferred_t>;

namespace detail {

template <class T> struct is_with_diagnostics : std::false_type {
};
template <class T> struct is_with_diagnostics<with_diagnostics_t<T>> : std::true_type {
};
template <class T>
inline constexpr bool is_with_diagnostics_v = is_with_diagnostics<std::decay_t<T>>::value;

/// The exception a failed acquire throws: tether::error with the pool's diagnostics.
std::exception_ptr acquire_exception(const std::shared_ptr<pool_anchor>& anchor,
                                     const boost::system::error_code& ec);
/// The exception a failed request throws: tether::server_error for an error reply (`reply`
/// holds its error object), else tether::error (an acquire failure of pool::request with the
/// diagnostics of `anchor`, when given).
std::exception_ptr request_exception(const std::shared_ptr<pool_anchor>& anchor,
                                     const boost::system::error_code& ec,
                                     const nlohmann::json& reply);

/// Wraps a handler of void(std::exception_ptr, T) as one of void(error_code, T).
template <class Handler> struct diagnosing_handler {
    Handler handler;
    std::shared_ptr<pool_anchor> anchor; // for the diagnostics of a failed acquire

    void operator()(const boost::system::error_code& ec, tether::lease value);
    void operator()(const boost::system::error_code& ec, nlohmann::json value)
    {
        std::exception_ptr failure;
        if (ec)
            failure = request_exception(anchor, ec, value);
        std::move(handler)(std::move(failure), std::move(value));
    }
};

template <class Handler> auto diagnosing(Handler&& h, std::shared_ptr<pool_anchor> anchor)
{
    return diagnosing_handler<std::decay_t<Handler>>{std::forward<Handler>(h), std::move(anchor)};
}

} // namespace detail
} // namespace tether

// The wrapper keeps the wrapped handler's executor, allocator and cancellation slot.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, tether::detail::diagnosing_handler<Handler>,
                               DefaultCandidate> : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type
    get(const tether::detail::diagnosing_handler<Handler>& h) noexcept
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const tether::detail::diagnosing_handler<Handler>& h,
                    const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c))
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};
