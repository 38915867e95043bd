#pragma once

// Helpers every test binary shares: timing that scales with the environment, polling.

#include <chrono>
#include <functional>
#include <string_view>
#include <thread>

namespace tether::test {

/// TETHER_TEST_TIME_SCALE (default 1; the sanitizer presets set more). Every timing bound a
/// test asserts is multiplied by it so a slow build on a busy machine does not flake.
double time_scale();

/// `d` stretched by time_scale().
template <class Rep, class Period>
std::chrono::milliseconds scaled(std::chrono::duration<Rep, Period> d)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return std::chrono::milliseconds(
        static_cast<long long>(static_cast<double>(ms) * time_scale()));
}

/// Bound for what must happen (generous: only a broken peer reaches it): 5 s, scaled.
std::chrono::milliseconds must_happen();
/// How long a test watches for what must not happen: 300 ms, scaled.
std::chrono::milliseconds must_not_happen();

/// Polls `done` every few milliseconds until it holds or `timeout` (already scaled by the caller
/// or not, as it likes) passes. Returns whether it held.
bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

/// Number of open file descriptors of this process (reads /proc/self/fd).
int open_fd_count();

/// Number of threads of this process (reads /proc/self/status).
int thread_count();

/// The enumerator's name of the tether::errc with value `value` ("acquire_timeout"), "ok"
/// for 0, "?" for a value that is none (figures and reports of tests and benches).
std::string_view errc_name(int value) noexcept;

} // namespace tether::test
