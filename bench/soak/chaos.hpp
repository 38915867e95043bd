#pragma once

// The faults: one at a time, picked at random (seeded), each undone before the next.
//
//   restart_term   SIGTERM (the server drains: goaway, answers, exits), 0.1-1 s down, restart
//   restart_kill   SIGKILL, 0.1-1 s down, restart on the same port
//   suspend        SIGSTOP for 0.5-3 s, then SIGCONT (kernel still ACKs: found by pings)
//   cut_rst        every proxied link closed with RST
//   cut_fin        every proxied link closed with FIN
//   blackhole      the proxy forwards nothing for 0.1-1.5 s (sockets stay open)
//   delay          the proxy delays every chunk by 20-300 ms for 1-3 s
//   link_reset     one link reset by the server      ($test reset, through pool.request)
//   link_close     one link closed by the server     ($test close)
//   link_hang      one link's server side stops reading and answering ($test hang)
//   link_goaway    one link told goaway after a reply ($test goaway)

#include "ledger.hpp"

#include <tether/pool.hpp>

#include <chrono>
#include <cstdint>
#include <fault_proxy.hpp>
#include <functional>
#include <map>
#include <random>
#include <server_process.hpp>
#include <string>

namespace soak {

class chaos {
public:
    /// `stopping` cuts the waits inside a fault short (the fault is still undone).
    chaos(tether_bench::server_process& server, tether::test::fault_proxy& proxy, tether::pool pool,
          ledger& book, std::uint64_t seed, std::function<bool()> stopping);

    /// The pause before the next fault: 1.5-4 s.
    std::chrono::milliseconds next_pause();

    /// Injects one fault and returns once it is over, with what was done ("suspend 1200 ms").
    /// Throws std::runtime_error when the server cannot be started again.
    std::string inject_one();

    /// Proxy passing without delay, server running and not suspended.
    void heal();

    /// Faults injected so far, by name.
    const std::map<std::string, unsigned>& counts() const { return counts_; }

private:
    std::chrono::milliseconds between(int min_ms, int max_ms);
    void pause(std::chrono::milliseconds d);
    void restart(bool kill, std::chrono::milliseconds down);
    void link_fault(const char* control);

    tether_bench::server_process& server_;
    tether::test::fault_proxy& proxy_;
    tether::pool pool_;
    ledger& book_;
    std::mt19937_64 rng_;
    std::function<bool()> stopping_;
    std::map<std::string, unsigned> counts_;
};

} // namespace soak
