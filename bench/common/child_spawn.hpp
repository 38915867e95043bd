#pragma once

// Starting a program of the benchmarks as a child process whose stdout we read line by line:
// the reference server (server_process.hpp) and the Netty peer of tether_e2e.

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tether_bench {

struct spawned_child {
    pid_t pid = -1;     ///< -1: not started (see `why`)
    int stdout_fd = -1; ///< read end of the child's stdout (close it when done)
};

/// Forks and executes `args` (args[0]: the program's path) with its stdout on a pipe to us and
/// its stdin and stderr shared with ours. The child is pinned to `pin_cpu` when >= 0 (like
/// taskset -c; otherwise it inherits this process's affinity), dies with this process
/// (PR_SET_PDEATHSIG) and inherits none of our other descriptors. Only async-signal-safe calls
/// run between fork and exec, so it may be called while other threads run. On failure returns
/// pid -1 and says why in `why`; a program that cannot be executed exits with status 127.
spawned_child spawn_with_stdout_pipe(const std::vector<std::string>& args, int pin_cpu,
                                     std::string& why);

/// How a child ended, from its waitpid status: "exited with status N", "killed by signal S
/// (name)".
std::string exit_description(int status);

/// One line read from `fd` (without its '\n') within `limit`; empty on EOF or timeout.
std::string read_line(int fd, std::chrono::milliseconds limit);

} // namespace tether_bench
