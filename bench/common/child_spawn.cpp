#include "child_spawn.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tether_bench {

spawned_child spawn_with_stdout_pipe(const std::vector<std::string>& args, int pin_cpu,
                                     std::string& why)
{
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        why = "pipe2 failed";
        return {};
    }
    // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
    std::vector<std::string> copies = args;
    std::vector<char*> argv;
    for (auto& a : copies)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    cpu_set_t pin;
    CPU_ZERO(&pin);
    if (pin_cpu >= 0)
        CPU_SET(static_cast<std::size_t>(pin_cpu), &pin);
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    const int max_fd = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                           ? 65536
                           : static_cast<int>(files.rlim_cur);
    const pid_t parent = ::getpid();

    const pid_t child = ::fork();
    if (child < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        why = "fork failed";
        return {};
    }
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        if (::close_range(3, ~0U, 0) != 0)
            for (int fd = 3; fd < max_fd; ++fd)
                ::close(fd);
        if (pin_cpu >= 0)
            ::sched_setaffinity(0, sizeof pin, &pin);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    return {child, pipe_fds[0]};
}

std::string exit_description(int status)
{
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               ::strsignal(WTERMSIG(status)) + ")";
    return "ended (status " + std::to_string(status) + ")";
}

std::string read_line(int fd, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string line;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return {};
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return {};
        char c = 0;
        const auto n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return {};
        if (c == '\n')
            return line;
        line.push_back(c);
    }
}

} // namespace tether_bench
