#include "process_metrics.hpp"

#include <filesystem>
#include <fstream>
#include <malloc.h>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>

namespace tether_scale {
namespace {

cpu_time to_cpu_time(const timeval& tv)
{
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

usage rusage_of(int who)
{
    rusage ru{};
    if (::getrusage(who, &ru) != 0)
        return {};
    return {to_cpu_time(ru.ru_utime) + to_cpu_time(ru.ru_stime), ru.ru_nvcsw + ru.ru_nivcsw};
}

std::string proc_dir(pid_t pid)
{
    return pid == 0 ? std::string("/proc/self") : "/proc/" + std::to_string(pid);
}

} // namespace

std::int64_t rss_bytes(pid_t pid)
{
    std::ifstream in(proc_dir(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream fields(line.substr(6));
            std::int64_t kib = 0;
            fields >> kib;
            return kib * 1024;
        }
    }
    return 0;
}

std::int64_t heap_in_use()
{
    const struct mallinfo2 info = ::mallinfo2();
    return static_cast<std::int64_t>(info.uordblks + info.hblkhd);
}

usage process_usage()
{
    return rusage_of(RUSAGE_SELF);
}

usage thread_usage()
{
    return rusage_of(RUSAGE_THREAD);
}

cpu_time other_process_cpu(pid_t pid)
{
    std::ifstream in(proc_dir(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return cpu_time{0};
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    long long utime = 0;
    long long stime = 0;
    // After ')': state(3) ... utime is field 14, stime field 15 of the whole line.
    for (int n = 3; n <= 15 && fields >> field; ++n) {
        if (n == 14)
            utime = std::stoll(field);
        else if (n == 15)
            stime = std::stoll(field);
    }
    const long ticks = ::sysconf(_SC_CLK_TCK);
    if (ticks <= 0)
        return cpu_time{0};
    return cpu_time{(utime + stime) * 1'000'000LL / ticks};
}

machine_cpu machine_cpu_now()
{
    std::ifstream in("/proc/stat");
    std::string cpu;
    std::int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                 steal = 0;
    if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
        cpu != "cpu")
        return {};
    return {user + nice + system + irq + softirq, idle + iowait, steal};
}

machine_load machine_load_between(const machine_cpu& a, const machine_cpu& b)
{
    const auto busy = b.busy - a.busy;
    const auto idle = b.idle - a.idle;
    const auto steal = b.steal - a.steal;
    const auto total = busy + idle + steal;
    if (total <= 0)
        return {};
    return {100.0 * static_cast<double>(busy) / static_cast<double>(total),
            100.0 * static_cast<double>(steal) / static_cast<double>(total)};
}

long open_fds(pid_t pid)
{
    std::error_code ec;
    std::filesystem::directory_iterator it(proc_dir(pid) + "/fd", ec);
    if (ec)
        return -1;
    long n = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec)
            return -1;
        ++n;
    }
    return n;
}

std::uint64_t raise_nofile_limit(std::uint64_t needed)
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
        throw std::system_error(errno, std::generic_category(), "getrlimit(RLIMIT_NOFILE)");
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed)
        throw std::runtime_error(
            "RLIMIT_NOFILE hard limit is " + std::to_string(lim.rlim_max) + ", but " +
            std::to_string(needed) +
            " descriptors are needed per process (links + 256 spare; the client and the server "
            "each hold one socket per link). Raise the hard limit (ulimit -Hn as root, "
            "/etc/security/limits.conf, docker run --ulimit nofile=N:N) or lower --links / "
            "--load-links.");
    if (lim.rlim_cur != lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
            throw std::system_error(errno, std::generic_category(), "setrlimit(RLIMIT_NOFILE)");
    }
    return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : lim.rlim_cur;
}

std::uint64_t ephemeral_ports()
{
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    if (!(in >> low >> high) || high < low)
        return 0;
    return high - low + 1;
}

std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string first;
    in >> first;
    return first;
}

} // namespace tether_scale
