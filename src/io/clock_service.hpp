#pragma once

// The clock seam of the io drivers: what time it is, and deadline timers on a strand. In
// production both come from std::chrono::steady_clock and Asio's steady_timer
// (steady_clock_service()); tests install a manual clock (tests/common/manual_clock.hpp) whose
// time moves only when the test says, so a link or pool driver runs in virtual time.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace tether::detail {

using clock_time = std::chrono::steady_clock::time_point;

/// One deadline at a time on one strand; used on that strand only. Its owner must outlive any
/// pending wait (on_expiry usually keeps the owner alive).
class deadline_timer {
public:
    virtual ~deadline_timer() = default;
    /// Runs `on_expiry` on the timer's strand once `at` has passed, unless cancel() or another
    /// arm() comes first (then never: a re-armed or cancelled wait is silently dropped).
    /// `on_expiry` keeps what it captures alive until it ran or was dropped.
    virtual void arm(clock_time at, std::function<void()> on_expiry) = 0;
    virtual void cancel() = 0;
};

class clock_service {
public:
    virtual ~clock_service() = default;
    virtual clock_time now() const noexcept = 0;
    /// Cheaper and up to a few milliseconds behind now(): for figures, not for deadlines.
    virtual clock_time coarse_now() const noexcept = 0;
    /// A timer whose expiries run on `strand` (an executor that serializes them).
    virtual std::unique_ptr<deadline_timer>
    make_timer(const boost::asio::any_io_executor& strand) = 0;
};

/// steady_clock, CLOCK_MONOTONIC_COARSE and Asio's steady_timer.
clock_service& steady_clock_service();

} // namespace tether::detail
