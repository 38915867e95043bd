#pragma once

// A fault-injecting TCP proxy for integration tests: listens on 127.0.0.1 (ephemeral port) and
// forwards every accepted connection to a target host:port, both directions, with faults
// switched on and off from the test thread while traffic flows.
//
// It runs its own io_context on its own threads (1 or 2); each accepted connection and its
// upstream connection form a pair that lives on one strand. The proxy's sockets set TCP_NODELAY
// so that what it writes leaves at once (a 1-byte write is one segment).
//
// Every public member function is thread-safe and may be called from any thread except the
// proxy's own io threads (cut_all() waits for them).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tether::test {

class fault_proxy {
public:
    enum class mode {
        /// Forward every chunk as read (up to 64 KiB per write).
        pass,
        /// Silence in both directions, sockets kept open: no FIN, no RST. The proxy stops
        /// *reading* both sockets (bytes are not discarded: they wait in the kernel's buffers,
        /// which keep ACKing until they fill up) and holds what it had already read but not yet
        /// written; a write already handed to the kernel when the mode changes still finishes.
        /// New connections are still accepted (the kernel completes them) and connected
        /// upstream, but nothing is forwarded. Switching back to pass or slice resumes every
        /// pair exactly where it stopped: the byte streams stay intact, nothing is lost.
        blackhole,
        /// Forward in 1-byte writes: each byte its own write, in order.
        slice,
    };

    /// Resolves the target now (std::system_error on failure), binds 127.0.0.1:0, starts
    /// accepting. Connections are forwarded to the target in the mode and with the delay set
    /// at the moment.
    fault_proxy(const std::string& target_host, std::uint16_t target_port, unsigned threads = 2);
    /// Stops accepting, closes every socket, stops and joins the io threads. Never hangs.
    ~fault_proxy();

    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    /// The port the proxy listens on (127.0.0.1).
    std::uint16_t port() const;

    /// Applies to every current connection pair at once and to future ones.
    void set_mode(mode m);
    mode get_mode() const;

    /// Every chunk is forwarded no earlier than `d` after the proxy read it, in order (a
    /// chunk never overtakes an earlier one in the same direction). Applies at once to chunks
    /// already waiting (their time is measured from when they were read, with the new delay).
    /// 0 (the default) forwards at once.
    void set_delay(std::chrono::milliseconds d);

    /// Closes every current connection pair, both sockets: with RST (SO_LINGER 0) when
    /// `reset`, else with FIN (unread input is drained first so that the kernel does not turn
    /// the FIN into an RST). Returns once they are closed. Connections accepted later are
    /// forwarded normally.
    void cut_all(bool reset);

    /// Connections accepted so far (monotonic).
    std::size_t connections_accepted() const;
    /// Connection pairs currently open (closed by either side, by cut_all, or after both
    /// directions saw and forwarded end-of-stream).
    std::size_t connections_open() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace tether::test
