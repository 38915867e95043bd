#include "manual_clock.hpp"

#include <boost/asio/post.hpp>

#include <memory>

namespace tether::test {

class manual_clock::timer final : public detail::deadline_timer {
public:
    timer(manual_clock& clock, boost::asio::any_io_executor strand)
        : clock_(clock), strand_(std::move(strand)), alive_(std::make_shared<bool>(true))
    {
        clock_.timers_.insert(this);
    }
    ~timer() override
    {
        *alive_ = false;
        clock_.timers_.erase(this);
    }

    void arm(detail::clock_time at, std::function<void()> on_expiry) override
    {
        at_ = at;
        fn_ = std::move(on_expiry);
        armed_ = true;
        ++generation_;
        if (at_ <= clock_.now())
            fire();
    }
    void cancel() override
    {
        armed_ = false;
        fn_ = nullptr;
        ++generation_;
    }
    bool due() const { return armed_ && at_ <= clock_.now(); }
    bool armed() const { return armed_; }

    // Posts the expiry; a re-arm or cancel before it runs drops it, as the real timer does.
    void fire()
    {
        armed_ = false;
        boost::asio::post(strand_, [this, alive = alive_, gen = generation_, fn = std::move(fn_)] {
            if (*alive && gen == generation_)
                fn();
        });
        fn_ = nullptr;
    }

private:
    manual_clock& clock_;
    boost::asio::any_io_executor strand_;
    std::shared_ptr<bool> alive_;
    detail::clock_time at_{};
    std::function<void()> fn_;
    bool armed_ = false;
    std::uint64_t generation_ = 0;
};

std::unique_ptr<detail::deadline_timer>
manual_clock::make_timer(const boost::asio::any_io_executor& strand)
{
    return std::make_unique<timer>(*this, strand);
}

void manual_clock::advance(std::chrono::nanoseconds d)
{
    now_ += std::chrono::duration_cast<detail::clock_time::duration>(d);
    fire_due();
}

void manual_clock::fire_due()
{
    std::vector<timer*> due;
    for (auto* t : timers_)
        if (t->due())
            due.push_back(t);
    for (auto* t : due)
        t->fire();
}

std::size_t manual_clock::pending_timers() const
{
    std::size_t n = 0;
    for (auto* t : timers_)
        n += t->armed() ? 1u : 0u;
    return n;
}

} // namespace tether::test
