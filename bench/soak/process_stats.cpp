#include "process_stats.hpp"

#include <dirent.h>
#include <fstream>
#include <string>

namespace soak {

namespace {

int count_fds()
{
    DIR* dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    int entries = 0;
    while (readdir(dir))
        ++entries;
    closedir(dir);
    return entries - 3; // ".", ".." and the descriptor of the listing itself
}

} // namespace

process_sample sample_process()
{
    process_sample s;
    s.fds = count_fds(); // before the status file below is opened
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:"))
            s.rss_kib = std::stol(line.substr(6)); // "VmRSS:     12345 kB"
        else if (line.starts_with("Threads:"))
            s.threads = std::stoi(line.substr(8));
    }
    return s;
}

} // namespace soak
