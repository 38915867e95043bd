#include "test_env.hpp"

#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <string>

namespace tether::test {

double time_scale()
{
    static const double scale = [] {
        const char* s = std::getenv("TETHER_TEST_TIME_SCALE");
        if (!s)
            return 1.0;
        const double v = std::strtod(s, nullptr);
        return v >= 1.0 ? v : 1.0;
    }();
    return scale;
}

std::chrono::milliseconds must_happen()
{
    return scaled(std::chrono::seconds(5));
}

std::chrono::milliseconds must_not_happen()
{
    return scaled(std::chrono::milliseconds(300));
}

bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return done();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

int open_fd_count()
{
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d))
            ++n;
        closedir(d);
        n -= 3; // ".", ".." and the directory's own descriptor
    }
    return n;
}

int thread_count()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Threads:", 0) == 0)
            return std::stoi(line.substr(8));
    return -1;
}

std::string_view errc_name(int value) noexcept
{
    // Indexed by the value of tether::errc (error.hpp); 0 is success.
    static constexpr std::string_view names[] = {
        "ok",
        "acquire_timeout",
        "pool_closed",
        "connect_failed",
        "no_endpoint_available",
        "connection_lost",
        "connection_draining",
        "request_timeout",
        "protocol_error",
        "frame_too_large",
        "server_error",
        "too_many_waiters",
        "too_many_requests",
        "invalid_lease",
        "would_block_io_thread",
        "invalid_argument",
    };
    return value >= 0 && static_cast<std::size_t>(value) < std::size(names) ? names[value] : "?";
}

} // namespace tether::test
