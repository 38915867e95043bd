#pragma once

#include <chrono>
#include <cstdint>
#include <source_location>
#include <string>
#include <system_error>

namespace tether {

struct endpoint;

/// Hook for pool events: metrics, logs, tests. Every method has an empty default; override what
/// you need. Methods run on the pool's io threads, outside any lock; they must not block and
/// must not throw. `link_id` numbers the connections of one pool from 1.
class pool_observer {
public:
    virtual ~pool_observer() = default;

    /// A new link's TCP connection to `ep` is established (socket options applied, and over
    /// TLS the handshake done and the certificate verified); its proving ping goes out next.
    /// It is not handed out before on_connected.
    virtual void on_tcp_connected(const endpoint& ep, std::uint64_t link_id)
    {
        (void)ep, (void)link_id;
    }
    /// A new link to `ep` connected and was proven (ping/pong) within connect_timeout: from now
    /// on it can be leased.
    virtual void on_connected(const endpoint& ep, std::uint64_t link_id)
    {
        (void)ep, (void)link_id;
    }
    /// Resolve, connect, TLS handshake or proving of a new link to `ep` failed. `reason`:
    /// connect_failed, tls_handshake_failed, connection_lost (closed while proving), ...
    virtual void on_connect_failed(const endpoint& ep, std::error_code reason)
    {
        (void)ep, (void)reason;
    }
    /// The same event with what failed in words (also endpoint_stats::last_error), e.g.
    /// "TLS handshake with db1:7443: certificate verify failed: certificate has expired".
    /// The pool calls this one; by default it calls on_connect_failed(ep, reason). (A name
    /// of its own, so overriding either never hides the other.)
    virtual void on_connect_failure(const endpoint& ep, std::error_code reason,
                                    const std::string& detail)
    {
        (void)detail;
        on_connect_failed(ep, reason);
    }
    /// A link closed; `reason` says why (connection_lost, protocol_error, pool_closed, ...).
    virtual void on_disconnected(const endpoint& ep, std::uint64_t link_id, std::error_code reason)
    {
        (void)ep, (void)link_id, (void)reason;
    }
    /// The next connect to `ep` waits `delay` after `failures` consecutive failures.
    virtual void on_backoff(const endpoint& ep, std::chrono::milliseconds delay, unsigned failures)
    {
        (void)ep, (void)delay, (void)failures;
    }
    /// A pong answered our ping after `rtt`.
    virtual void on_ping_rtt(const endpoint& ep, std::uint64_t link_id,
                             std::chrono::microseconds rtt)
    {
        (void)ep, (void)link_id, (void)rtt;
    }
    /// The server sent goaway on a link.
    virtual void on_goaway(const endpoint& ep, std::uint64_t link_id, const std::string& reason)
    {
        (void)ep, (void)link_id, (void)reason;
    }
    /// A lease has been held longer than lease_warn_threshold; `site` is where it was acquired.
    virtual void on_lease_held_too_long(std::uint64_t link_id, std::chrono::milliseconds held,
                                        const std::source_location& site)
    {
        (void)link_id, (void)held, (void)site;
    }
};

} // namespace tether
