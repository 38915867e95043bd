#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<std::uint64_t> allocation_count{0};

void* counted_alloc(std::size_t size)
{
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size))
        return p;
    throw std::bad_alloc();
}

void* counted_aligned_alloc(std::size_t size, std::align_val_t align)
{
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    const auto a = static_cast<std::size_t>(align);
    const std::size_t rounded = (size + a - 1) / a * a;
    if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded))
        return p;
    throw std::bad_alloc();
}

} // namespace

namespace tether_bench {

std::uint64_t allocations() noexcept
{
    return allocation_count.load(std::memory_order_relaxed);
}

} // namespace tether_bench

// The replaceable global allocation functions ([new.delete]); the others forward to these.
void* operator new(std::size_t size)
{
    return counted_alloc(size);
}
void* operator new[](std::size_t size)
{
    return counted_alloc(size);
}
void* operator new(std::size_t size, std::align_val_t a)
{
    return counted_aligned_alloc(size, a);
}
void* operator new[](std::size_t size, std::align_val_t a)
{
    return counted_aligned_alloc(size, a);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
    try {
        return counted_alloc(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept
{
    try {
        return counted_alloc(size);
    } catch (...) {
        return nullptr;
    }
}
// Asio allocates handler memory with std::aligned_alloc, not operator new: counted too, or
// the per-request handler and hand-off allocations would not show. Interposed here (glibc lets
// a program replace its allocation functions) and forwarded to posix_memalign.
extern "C" void* aligned_alloc(std::size_t align, std::size_t size) noexcept
{
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    void* p = nullptr;
    const std::size_t a = align < sizeof(void*) ? sizeof(void*) : align;
    return posix_memalign(&p, a, size == 0 ? 1 : size) == 0 ? p : nullptr;
}

void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete[](void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
