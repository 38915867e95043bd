#pragma once

// Facts about the machine for the report (pinning itself: bench/common/server_process.hpp).

#include <string>
#include <vector>

namespace tether_bench {

struct machine_info {
    std::string cpu_model; ///< "model name" of /proc/cpuinfo
    unsigned cores = 0;    ///< online CPUs
    std::string kernel;    ///< uname: sysname release machine
    std::string date;      ///< UTC, ISO 8601
};

machine_info probe_machine();

/// CPUs this process may run on (its affinity mask), ascending.
std::vector<int> allowed_cpus();

/// "0-2,5" style list.
std::string cpu_list(const std::vector<int>& cpus);

} // namespace tether_bench
