#pragma once

// A clock whose time moves only when the test says: the clock seam of the io drivers
// (src/io/clock_service.hpp) in virtual time. Timers made by it post their expiry to their
// strand when advance() passes their deadline; the test then runs the io_context (poll()) to
// let the handlers run. Single-threaded: one test thread arms, advances and polls.

#include "io/clock_service.hpp"

#include <chrono>
#include <set>

namespace tether::test {

class manual_clock final : public detail::clock_service {
public:
    detail::clock_time now() const noexcept override { return now_; }
    detail::clock_time coarse_now() const noexcept override { return now_; }
    std::unique_ptr<detail::deadline_timer>
    make_timer(const boost::asio::any_io_executor& strand) override;

    /// Moves time forward by `d`, posting the expiry of every timer due by then.
    void advance(std::chrono::nanoseconds d);
    /// Timers armed and not yet due.
    std::size_t pending_timers() const;

private:
    class timer;
    void fire_due();

    detail::clock_time now_{std::chrono::hours(1)};
    std::set<timer*> timers_;
};

} // namespace tether::test
