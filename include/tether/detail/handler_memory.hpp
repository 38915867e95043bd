#pragma once

// Memory for type-erased completion handlers and the operations tether queues for them. Such a
// block is typically allocated on the caller's thread and freed on an io thread once the
// operation completes; Asio's own recycling allocator keeps blocks per thread, so it cannot
// reuse them across that hop and every request paid a heap allocation. These blocks come from
// a small process-wide cache shared by all threads instead (bounded; larger or over-aligned
// blocks go straight to the heap).

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/bind_allocator.hpp>

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace tether::detail {

void* allocate_handler_memory(std::size_t size, std::size_t align);
void deallocate_handler_memory(void* p, std::size_t size, std::size_t align) noexcept;

/// A stateless allocator drawing on the shared handler-memory cache.
template <class T> class handler_allocator {
public:
    using value_type = T;

    handler_allocator() noexcept = default;
    template <class U> handler_allocator(const handler_allocator<U>&) noexcept {}

    T* allocate(std::size_t n)
    {
        return static_cast<T*>(allocate_handler_memory(sizeof(T) * n, alignof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept
    {
        deallocate_handler_memory(p, sizeof(T) * n, alignof(T));
    }

    template <class U> bool operator==(const handler_allocator<U>&) const noexcept { return true; }
};

/// `handler` with handler_allocator associated when it has no allocator of its own (the
/// default std::allocator); a handler's own associated allocator is always kept.
template <class Handler> auto with_handler_memory(Handler&& handler)
{
    using decayed = std::decay_t<Handler>;
    if constexpr (std::is_same_v<boost::asio::associated_allocator_t<decayed>,
                                 std::allocator<void>>)
        return boost::asio::bind_allocator(handler_allocator<void>(),
                                           std::forward<Handler>(handler));
    else
        return decayed(std::forward<Handler>(handler));
}

} // namespace tether::detail
