#pragma once

// Where a link meets its pool, in both directions, and nothing more: the context it runs in
// (down) and the events it reports (up). The link knows no pool implementation, and the pool
// touches no member of the link but through the link's own thread-safe functions.

#include "io/clock_service.hpp"
#include "io/flight_recorder.hpp"
#include "io/health_registry.hpp"
#include "io/io_runner.hpp"
#include "io/pool_counters.hpp"
#include "io/pool_log.hpp"
#include "io/transport.hpp"

#include <tether/config.hpp>

#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace tether::detail {

class idle_watch;
class link;
struct pool_anchor;

/// What a link runs with; owned by the pool and valid for the link's whole life (the link
/// keeps its owner alive).
struct link_context {
    const pool_config& config;
    pool_counters& counters;
    io_runner& io;                    ///< where the link's strand and timers live
    health_registry<link>& health;    ///< proven links enrol for the pool's health tick
    std::uint64_t seed;               ///< mixed into each link's ping-jitter seed
    clock_service& clock;             ///< time and timers (a manual clock in tests)
    transport_factory make_transport; ///< plain TCP, TLS, or a test's fake
    pool_log& log;                    ///< the pool's logger
    flight_recorder& events;          ///< the pool's recent link events per endpoint
    idle_watch* watch = nullptr;      ///< takes quiet links' sockets; null: links keep them

    pool_observer* observer() const noexcept { return config.observer.get(); }
    /// Calls `call(observer)` when there is an observer; what it throws is logged, not let
    /// out into the link's code.
    template <class Call> void observe(Call&& call) const noexcept
    {
        if (auto* obs = observer())
            log.run_guarded("observer threw", [&] { call(*obs); });
    }
    bool running_in_io_thread() const noexcept { return io.running_in_io_thread(); }
};

/// Events a link reports to its pool, each from the link's strand except on_link_returned
/// (from whichever thread drops the last hold).
class link_owner {
public:
    /// The link is proven and accepts requests.
    virtual void on_link_ready(const std::shared_ptr<link>& l) = 0;
    /// The server sent goaway: the link takes no new requests and closes once quiet.
    virtual void on_link_draining(const std::shared_ptr<link>& l) = 0;
    /// The link closed. `detail` says why a connect failed (empty otherwise).
    virtual void on_link_closed(const std::shared_ptr<link>& l, boost::system::error_code reason,
                                const std::string& detail) = 0;
    /// The last hold (lease or request) was dropped. `donor`: the releasing lease's reference,
    /// which the pool may keep for the idle list (saves a reference-count round trip).
    /// `anchor`: the releasing lease's pool reference (null when no lease ended), which the
    /// pool may take (move from) to hand to the link's next lease.
    virtual void on_link_returned(link& l, std::shared_ptr<link> donor,
                                  std::shared_ptr<pool_anchor>* anchor) = 0;
    /// A notify arrived.
    virtual void deliver_notify(nlohmann::json body) = 0;
    /// The pool is shutting down (refusals then say pool_closed).
    virtual bool closed() const noexcept = 0;
    /// How long a link closing on purpose may wait for its peer's goodbye (TLS close_notify):
    /// 1 s, or what is left of the shutdown's drain if less.
    virtual std::chrono::milliseconds close_grace() const noexcept = 0;

protected:
    ~link_owner() = default;
};

} // namespace tether::detail
