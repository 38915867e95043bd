#include "io/clock_service.hpp"

#include "io/coarse_clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace tether::detail {
namespace {

class steady_deadline_timer final : public deadline_timer {
public:
    explicit steady_deadline_timer(const boost::asio::any_io_executor& strand) : timer_(strand) {}

    void arm(clock_time at, std::function<void()> on_expiry) override
    {
        // An earlier wait completes with operation_aborted, or, when it had expired already
        // and its handler is queued, finds a newer generation: dropped either way.
        timer_.expires_at(at);
        timer_.async_wait([this, gen = ++generation_,
                           fn = std::move(on_expiry)](const boost::system::error_code& ec) {
            if (!ec && gen == generation_)
                fn();
        });
    }
    void cancel() override
    {
        ++generation_;
        timer_.cancel();
    }

private:
    boost::asio::steady_timer timer_;
    std::uint64_t generation_ = 0; // strand only
};

class steady_service final : public clock_service {
public:
    clock_time now() const noexcept override { return std::chrono::steady_clock::now(); }
    clock_time coarse_now() const noexcept override { return detail::coarse_now(); }
    std::unique_ptr<deadline_timer> make_timer(const boost::asio::any_io_executor& strand) override
    {
        return std::make_unique<steady_deadline_timer>(strand);
    }
};

} // namespace

clock_service& steady_clock_service()
{
    static steady_service service;
    return service;
}

} // namespace tether::detail
