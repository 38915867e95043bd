#pragma once

// The reference server (the echo_server program) as a child process of a benchmark or of the
// soak: started (on an ephemeral port, or again on the same one), optionally pinned to one CPU,
// stopped with SIGTERM (it drains) or SIGKILL, suspended and resumed. The child is killed by
// pid when this object goes, dies with this process (PR_SET_PDEATHSIG) and inherits none of
// our descriptors (a pool link copied into it would never see a cut).
//
// Not thread-safe: one thread drives it. Start it before other threads when possible (fork).

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tether_bench {

struct server_launch {
    std::string path;              ///< the echo_server binary
    std::vector<std::string> args; ///< extra options (--threads, --ping-interval, ...)
    int pin_cpu = -1;              ///< >= 0: the child runs on this CPU only (like taskset -c)
};

class server_process {
public:
    explicit server_process(server_launch launch);
    ~server_process();
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    /// Starts the server on `port` (0: ephemeral) and waits for its "LISTENING <port>" line.
    /// Retries a few times (a port may stay busy for a moment after a kill); throws
    /// std::runtime_error when it cannot. Returns the port.
    std::uint16_t start(std::uint16_t port = 0);

    /// SIGTERM (the server drains), SIGKILL if it has not exited after `grace`; reaps it.
    void terminate(std::chrono::milliseconds grace);
    /// SIGKILL and reap. No-op when not running.
    void kill();
    void suspend(); ///< SIGSTOP
    void resume();  ///< SIGCONT

    /// False once the child was stopped, or exited by itself (reaped here).
    bool running();
    /// How the child ended, recorded where it is reaped (running(), terminate(), kill()):
    /// "exited with status N", "killed by signal S (name)"; "running" while it runs, "not
    /// started" before start().
    const std::string& exit_status() const noexcept { return exit_status_; }
    bool suspended() const noexcept { return suspended_; }
    pid_t pid() const noexcept { return pid_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    std::uint16_t start_once(std::uint16_t port, std::string& why);
    bool wait_exit(std::chrono::milliseconds limit);
    void reaped(int status);
    void forget();

    server_launch launch_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1; // read end of the child's stdout, kept open while it lives
    std::uint16_t port_ = 0;
    bool suspended_ = false;
    std::string exit_status_ = "not started";
};

/// The last CPU this process may run on (to pin the server there), -1 when unknown.
int last_allowed_cpu();

/// Pins the calling process's threads to every allowed CPU except `cpu` (when at least two are
/// allowed), so a pinned server does not compete with the client. Returns false if it did not.
bool avoid_cpu(int cpu);

} // namespace tether_bench
