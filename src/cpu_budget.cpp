#include "cpu_budget.hpp"

#include <tether/config.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sched.h>
#include <thread>

namespace tether::detail {
namespace {

std::optional<std::uint64_t> parse_number(std::string_view text)
{
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end)
        return std::nullopt;
    return value;
}

std::optional<std::string> read_small_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::string text;
    std::getline(in, text, '\0'); // these files are a few lines at most
    return text;
}

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::optional<unsigned> cpus_of_cpu_max(std::string_view cpu_max)
{
    cpu_max = trimmed(cpu_max);
    const auto space = cpu_max.find(' ');
    if (space == std::string_view::npos)
        return std::nullopt;
    const auto quota_text = cpu_max.substr(0, space);
    const auto period = parse_number(cpu_max.substr(space + 1));
    if (quota_text == "max" || !period || *period == 0)
        return std::nullopt;
    const auto quota = parse_number(quota_text);
    if (!quota)
        return std::nullopt;
    const std::uint64_t cpus = (*quota + *period - 1) / *period;
    return static_cast<unsigned>(std::clamp<std::uint64_t>(cpus, 1, 1u << 20));
}

std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup)
{
    while (!proc_self_cgroup.empty()) {
        const auto eol = proc_self_cgroup.find('\n');
        const auto line = proc_self_cgroup.substr(0, eol);
        if (line.substr(0, 3) == "0::")
            return std::string(line.substr(3));
        if (eol == std::string_view::npos)
            break;
        proc_self_cgroup.remove_prefix(eol + 1);
    }
    return std::nullopt;
}

std::optional<unsigned> cgroup_cpu_limit(const std::string& cgroup_root, std::string_view path)
{
    std::optional<unsigned> limit;
    std::string dir(trimmed(path));
    // From the process's cgroup up to the root: a limit anywhere above applies too.
    for (int depth = 0; depth < 64; ++depth) {
        if (auto text = read_small_file(cgroup_root + dir + "/cpu.max"))
            if (auto cpus = cpus_of_cpu_max(*text))
                limit = limit ? std::min(*limit, *cpus) : *cpus;
        if (dir.empty() || dir == "/")
            break;
        const auto slash = dir.rfind('/');
        dir.resize(slash == std::string::npos ? 0 : slash);
    }
    return limit;
}

unsigned usable_cpus() noexcept
{
    unsigned cpus = std::thread::hardware_concurrency();
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        cpus = static_cast<unsigned>(CPU_COUNT(&set));
    try {
        if (auto self = read_small_file("/proc/self/cgroup"))
            if (auto path = cgroup_v2_path(*self))
                if (auto limit = cgroup_cpu_limit("/sys/fs/cgroup", *path))
                    cpus = std::min(cpus, *limit);
    } catch (...) { // no memory for a path: the affinity's figure stands
    }
    return std::max(cpus, 1u);
}

} // namespace tether::detail

namespace tether {

unsigned default_io_threads() noexcept
{
    return detail::usable_cpus();
}

} // namespace tether
