#pragma once

// What a throwing acquire() failed with, for tests that expect it to fail.

#include <tether/error.hpp>
#include <tether/pool.hpp>

#include <string>
#include <system_error>

namespace tether::test {

struct acquire_failure {
    std::error_code ec; ///< empty when acquire() did not throw
    std::string what;   ///< the tether::error's what()
};

/// Calls pool.acquire() and returns the tether::error it threw (nothing when it succeeded; the
/// lease is released at once).
inline acquire_failure failed_acquire(const tether::pool& pool)
{
    try {
        (void)pool.acquire();
    } catch (const tether::error& e) {
        return {e.code(), e.what()};
    }
    return {};
}

} // namespace tether::test
