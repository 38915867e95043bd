#pragma once

// Counts heap allocations of the whole process (every thread) by replacing the global
// operator new and aligned_alloc. Link alloc_counter.cpp straight into a benchmark executable
// (not through a static library, which would not pull the replacement in).

#include <cstdint>

namespace tether_bench {

/// Allocations made so far by any thread (operator new in all its forms and aligned_alloc,
/// which Asio uses for handler memory; plain malloc excluded).
std::uint64_t allocations() noexcept;

/// Measures allocations between construction and per_op(): allocations per operation.
class alloc_scope {
public:
    alloc_scope() noexcept : start_(allocations()) {}
    double per_op(std::uint64_t operations) const noexcept
    {
        return operations == 0
                   ? 0.0
                   : static_cast<double>(allocations() - start_) / static_cast<double>(operations);
    }

private:
    std::uint64_t start_;
};

} // namespace tether_bench
