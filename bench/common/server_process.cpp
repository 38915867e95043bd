#include "server_process.hpp"

#include "child_spawn.hpp"

#include <cerrno>
#include <sched.h>
#include <signal.h>
#include <stdexcept>
#include <string_view>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace tether_bench {

namespace {

using namespace std::chrono_literals;

constexpr auto listening_limit = 10s; // for the "LISTENING <port>" line
constexpr int start_attempts = 10;    // the port can be busy for a moment after a kill
constexpr auto start_retry_pause = 200ms;

constexpr const char* reaped_elsewhere = "ended (reaped elsewhere; status unknown)";

} // namespace

server_process::server_process(server_launch launch) : launch_(std::move(launch)) {}

server_process::~server_process()
{
    kill();
}

std::uint16_t server_process::start(std::uint16_t port)
{
    std::string why;
    for (int attempt = 1; attempt <= start_attempts; ++attempt) {
        if (const auto p = start_once(port, why))
            return p;
        std::this_thread::sleep_for(start_retry_pause);
    }
    throw std::runtime_error("cannot start " + launch_.path + " on port " + std::to_string(port) +
                             ": " + why);
}

std::uint16_t server_process::start_once(std::uint16_t port, std::string& why)
{
    if (running())
        throw std::logic_error("server_process::start: already running");
    std::vector<std::string> args{launch_.path, "--port", std::to_string(port)};
    args.insert(args.end(), launch_.args.begin(), launch_.args.end());
    const spawned_child child = spawn_with_stdout_pipe(args, launch_.pin_cpu, why);
    if (child.pid < 0)
        return 0;
    pid_ = child.pid;
    stdout_fd_ = child.stdout_fd;
    suspended_ = false;
    exit_status_ = "running";

    const std::string line = read_line(stdout_fd_, listening_limit);
    constexpr std::string_view prefix = "LISTENING ";
    unsigned long listening = 0;
    if (line.starts_with(prefix)) {
        try {
            listening = std::stoul(line.substr(prefix.size()));
        } catch (const std::exception&) {
            listening = 0;
        }
    }
    if (listening == 0 || listening > 65535 || (port != 0 && listening != port)) {
        kill();
        const std::string what = line.empty() ? "no LISTENING line within " +
                                                    std::to_string(listening_limit.count()) + " s"
                                              : "unexpected first line '" + line + "'";
        why = what + " (the server " + exit_status_ + ")";
        return 0;
    }
    port_ = static_cast<std::uint16_t>(listening);
    return port_;
}

void server_process::terminate(std::chrono::milliseconds grace)
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGTERM);
    if (suspended_)
        resume(); // a stopped process handles SIGTERM only once continued
    if (wait_exit(grace))
        forget();
    else
        kill();
}

void server_process::kill()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGKILL);
    if (!wait_exit(10s))
        exit_status_ = "sent SIGKILL, not reaped within 10 s";
    forget();
}

void server_process::suspend()
{
    if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0)
        suspended_ = true;
}

void server_process::resume()
{
    if (pid_ > 0 && ::kill(pid_, SIGCONT) == 0)
        suspended_ = false;
}

bool server_process::running()
{
    if (pid_ <= 0)
        return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_)
        reaped(status);
    else if (r < 0 && errno == ECHILD)
        exit_status_ = reaped_elsewhere;
    else
        return true;
    forget();
    return false;
}

bool server_process::wait_exit(std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped(status);
            return true;
        }
        if (r < 0 && errno == ECHILD) {
            exit_status_ = reaped_elsewhere;
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(5ms);
    }
}

void server_process::reaped(int status)
{
    exit_status_ = exit_description(status);
}

void server_process::forget()
{
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
    stdout_fd_ = -1;
    pid_ = -1;
    suspended_ = false;
}

int last_allowed_cpu()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu)
        if (CPU_ISSET(static_cast<std::size_t>(cpu), &set))
            return cpu;
    return -1;
}

bool avoid_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0 || ::sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 2)
        return false;
    CPU_CLR(static_cast<std::size_t>(cpu), &set);
    return ::sched_setaffinity(0, sizeof set, &set) == 0;
}

} // namespace tether_bench
