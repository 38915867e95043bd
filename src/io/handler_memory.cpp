// The shared handler-memory cache behind tether::detail::handler_allocator: a few size classes
// of recycled blocks under one short lock. Bounded, so a burst of in-flight operations does
// not pin memory for good.

#include <tether/detail/handler_memory.hpp>

#include "io/adaptive_mutex.hpp"

#include <array>
#include <mutex>
#include <new>
#include <vector>

namespace tether::detail {
namespace {

constexpr std::array<std::size_t, 4> class_size{64, 128, 256, 512};
constexpr std::array<std::size_t, 4> class_limit{1024, 1024, 256, 256}; // at most ~384 KiB kept

// Under AddressSanitizer every block goes back to the heap, so a handler used after it was
// freed is still caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool caching = false;
#else
constexpr bool caching = true;
#endif

constexpr int class_of(std::size_t size, std::size_t align) noexcept
{
    if (!caching || align > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
        return -1;
    for (std::size_t i = 0; i < class_size.size(); ++i)
        if (size <= class_size[i])
            return static_cast<int>(i);
    return -1;
}

struct cache {
    adaptive_mutex mutex;
    std::array<std::vector<void*>, class_size.size()> free; // guarded by mutex

    cache()
    {
        for (std::size_t i = 0; i < free.size(); ++i)
            free[i].reserve(class_limit[i]); // pushes never allocate
    }
};

// Never destroyed: handlers may still be freed by threads that outlive static destruction.
cache& the_cache()
{
    static cache* const c = new cache;
    return *c;
}

} // namespace

void* allocate_handler_memory(std::size_t size, std::size_t align)
{
    const int k = class_of(size, align);
    if (k < 0)
        return align > __STDCPP_DEFAULT_NEW_ALIGNMENT__
                   ? ::operator new(size, std::align_val_t(align))
                   : ::operator new(size);
    cache& c = the_cache();
    {
        std::lock_guard lock(c.mutex);
        auto& list = c.free[static_cast<std::size_t>(k)];
        if (!list.empty()) {
            void* p = list.back();
            list.pop_back();
            return p;
        }
    }
    return ::operator new(class_size[static_cast<std::size_t>(k)]);
}

void deallocate_handler_memory(void* p, std::size_t size, std::size_t align) noexcept
{
    if (p == nullptr)
        return;
    const int k = class_of(size, align);
    if (k < 0) {
        if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
            ::operator delete(p, std::align_val_t(align));
        else
            ::operator delete(p);
        return;
    }
    const auto i = static_cast<std::size_t>(k);
    cache& c = the_cache();
    {
        std::lock_guard lock(c.mutex);
        if (c.free[i].size() < class_limit[i]) {
            c.free[i].push_back(p);
            return;
        }
    }
    ::operator delete(p);
}

} // namespace tether::detail
