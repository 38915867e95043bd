// The handler-memory cache behind tether::detail::handler_allocator: a few size classes of
// recycled blocks. Each thread keeps a handful per class without locking (an io thread
// allocating and freeing its own socket and completion operations never touches the lock);
// blocks that cross threads (allocated by a caller, freed by an io thread) flow through a
// shared depot under a short lock, in batches. Bounded, so a burst of in-flight operations
// does not pin memory for good.

#include "io/adaptive_mutex.hpp"

#include <tether/detail/handler_memory.hpp>

#include <array>
#include <mutex>
#include <new>
#include <vector>

namespace tether::detail {
namespace {

constexpr std::size_t classes = 4;
constexpr std::array<std::size_t, classes> class_size{64, 128, 256, 512};
constexpr std::array<std::size_t, classes> depot_limit{1024, 1024, 256, 256}; // ~384 KiB
constexpr std::size_t local_limit = 16; // per thread and class
constexpr std::size_t batch = local_limit / 2;

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
    for (std::size_t i = 0; i < classes; ++i)
        if (size <= class_size[i])
            return static_cast<int>(i);
    return -1;
}

struct depot {
    adaptive_mutex mutex;
    std::array<std::vector<void*>, classes> free; // guarded by mutex

    depot()
    {
        for (std::size_t i = 0; i < classes; ++i)
            free[i].reserve(depot_limit[i]); // pushes never allocate
    }
};

// Never destroyed: handlers may still be freed by threads that outlive static destruction.
depot& the_depot()
{
    static depot* const d = new depot;
    return *d;
}

// Trivially destructible, so it stays usable while other thread_locals are destroyed; its
// blocks go back to the depot when the thread exits (see local_flusher), after which the
// thread uses the depot directly.
struct local_cache {
    std::array<std::array<void*, local_limit>, classes> blocks;
    std::array<std::size_t, classes> count;
    bool registered;
    bool gone;
};
thread_local local_cache local{};

// Moves up to `n` blocks of class `k` from the thread's cache to the depot (or the heap).
void spill(std::size_t k, std::size_t n) noexcept
{
    depot& d = the_depot();
    std::size_t moved = 0;
    {
        std::lock_guard lock(d.mutex);
        while (moved < n && local.count[k] > 0 && d.free[k].size() < depot_limit[k]) {
            d.free[k].push_back(local.blocks[k][--local.count[k]]);
            ++moved;
        }
    }
    for (; moved < n && local.count[k] > 0; ++moved)
        ::operator delete(local.blocks[k][--local.count[k]]);
}

struct local_flusher {
    bool armed = false;
    ~local_flusher()
    {
        for (std::size_t k = 0; k < classes; ++k)
            spill(k, local_limit);
        local.gone = true;
    }
};
thread_local local_flusher flusher;

// Before the thread's cache first holds a block: makes sure it is handed back at thread exit.
void register_local() noexcept
{
    if (!local.registered) {
        local.registered = true;
        flusher.armed = true; // constructs it, which registers its destructor
    }
}

} // namespace

void* allocate_handler_memory(std::size_t size, std::size_t align)
{
    const int c = class_of(size, align);
    if (c < 0)
        return align > __STDCPP_DEFAULT_NEW_ALIGNMENT__
                   ? ::operator new(size, std::align_val_t(align))
                   : ::operator new(size);
    const auto k = static_cast<std::size_t>(c);
    if (local.count[k] > 0)
        return local.blocks[k][--local.count[k]];
    if (!local.gone) {
        // Refill a few at once, so a thread that only allocates takes the lock once per batch.
        register_local();
        depot& d = the_depot();
        std::lock_guard lock(d.mutex);
        while (local.count[k] < batch && !d.free[k].empty()) {
            local.blocks[k][local.count[k]++] = d.free[k].back();
            d.free[k].pop_back();
        }
    } else {
        depot& d = the_depot();
        std::lock_guard lock(d.mutex);
        if (!d.free[k].empty()) {
            void* p = d.free[k].back();
            d.free[k].pop_back();
            return p;
        }
    }
    if (local.count[k] > 0)
        return local.blocks[k][--local.count[k]];
    return ::operator new(class_size[k]);
}

void deallocate_handler_memory(void* p, std::size_t size, std::size_t align) noexcept
{
    if (p == nullptr)
        return;
    const int c = class_of(size, align);
    if (c < 0) {
        if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
            ::operator delete(p, std::align_val_t(align));
        else
            ::operator delete(p);
        return;
    }
    const auto k = static_cast<std::size_t>(c);
    if (local.gone) {
        depot& d = the_depot();
        {
            std::lock_guard lock(d.mutex);
            if (d.free[k].size() < depot_limit[k]) {
                d.free[k].push_back(p);
                return;
            }
        }
        ::operator delete(p);
        return;
    }
    register_local();
    if (local.count[k] == local_limit)
        spill(k, batch);
    local.blocks[k][local.count[k]++] = p;
}

} // namespace tether::detail
