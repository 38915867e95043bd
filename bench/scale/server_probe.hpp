#pragma once

// An independent witness of the server's responsiveness: a thread with one blocking TCP
// connection (TLS against a TLS server) that sends a wire-protocol ping every 100 ms and times
// the pong. When pool links
// are declared dead while this probe's round trips stay short, the server was answering and
// the delay was in the client; when the probe is slow too, the server (or the whole machine)
// was behind.

#include "probe_link.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tether_scale {

class server_probe {
public:
    using clock = std::chrono::steady_clock;

    struct window {
        std::uint64_t samples = 0;
        std::uint64_t slow = 0; ///< round trip >= 500 ms
        std::chrono::microseconds max_rtt{0};
        std::uint64_t failures = 0; ///< no pong within 5 s, or the connection broke
    };

    /// Connects to 127.0.0.1:port (over TLS when `tls`) and starts probing; throws
    /// std::runtime_error.
    server_probe(std::uint16_t port, bool tls);
    ~server_probe();
    server_probe(const server_probe&) = delete;
    server_probe& operator=(const server_probe&) = delete;

    /// Figures of the probes sent in [from, to).
    window between(clock::time_point from, clock::time_point to) const;
    /// CPU used by the probe thread so far (to take out of the client's figures).
    std::chrono::microseconds cpu() const noexcept
    {
        return std::chrono::microseconds(cpu_us_.load());
    }

private:
    struct sample {
        clock::time_point sent;
        std::chrono::microseconds rtt; ///< negative: failed
    };
    void run();
    bool ping_once(std::uint64_t id);

    probe_link link_;
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> cpu_us_{0};
    mutable std::mutex mutex_;
    std::vector<sample> samples_;
    std::string inbox_;
    std::thread thread_;
};

} // namespace tether_scale
