#pragma once

// Boost 1.81 cannot co_await a deferred operation whose signature is
// void(std::exception_ptr, T): its handler for that shape dereferences the result struct
// instead of the exception pointer in it, which does not compile. tether's default token,
// with_diagnostics(deferred), makes exactly such operations (T = tether::lease or
// nlohmann::json), so for those two the handler is given here as it should be. Later Boost
// versions are left alone.

#include <boost/version.hpp>

#if BOOST_VERSION < 108200

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace tether {
class lease;
}

namespace tether::detail {
template <class T>
concept fixed_awaitable_value =
    std::is_same_v<T, tether::lease> || std::is_same_v<T, nlohmann::json>;
} // namespace tether::detail

namespace boost::asio::detail {

// A specialization of Asio's own template (its frames befriend every specialization), for
// tether's two completion values only.
template <typename Executor, typename T>
requires tether::detail::fixed_awaitable_value<T>
class awaitable_async_op_handler<void(std::exception_ptr, T), Executor>
    : public awaitable_thread<Executor> {
public:
    struct result_type {
        std::exception_ptr* ex_;
        T* value_;
    };

    awaitable_async_op_handler(awaitable_thread<Executor>* h, result_type& result)
        : awaitable_thread<Executor>(std::move(*h)), result_(result)
    {
    }

    void operator()(std::exception_ptr ex, T value)
    {
        result_.ex_ = &ex;
        result_.value_ = &value;
        this->entry_point()->top_of_stack_->attach_thread(this);
        this->entry_point()->top_of_stack_->clear_cancellation_slot();
        this->pump();
    }

    static T resume(result_type& result)
    {
        if (*result.ex_) // the line Boost 1.81 gets wrong
            std::rethrow_exception(std::exchange(*result.ex_, nullptr));
        return std::move(*result.value_);
    }

private:
    result_type& result_;
};

} // namespace boost::asio::detail

#endif
