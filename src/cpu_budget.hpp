#pragma once

// How many CPUs this process may use, for the default number of io threads: the CPUs its
// affinity mask allows (taskset, cpusets, a container pinned to cores), lowered to a cgroup v2
// CPU limit (cpu.max, rounded up) when one is set on its cgroup or an ancestor. The parsers are
// separate from the reads so that they are tested on any machine.

#include <optional>
#include <string>
#include <string_view>

namespace tether::detail {

/// CPUs of a cgroup v2 `cpu.max` ("<quota> <period>" in µs, or "max <period>"): the quota
/// over the period rounded up, at least 1; nullopt for "max" (no limit) or text that is not
/// that format.
std::optional<unsigned> cpus_of_cpu_max(std::string_view cpu_max);

/// The cgroup v2 path of `/proc/self/cgroup` text (its "0::<path>" line), nullopt when there
/// is none (cgroup v1 only).
std::optional<std::string> cgroup_v2_path(std::string_view proc_self_cgroup);

/// The CPU limit of the cgroup at `path` under `cgroup_root` or any of its ancestors (the
/// smallest), nullopt when none sets one or the files cannot be read.
std::optional<unsigned> cgroup_cpu_limit(const std::string& cgroup_root, std::string_view path);

/// The CPUs the calling thread may run on (sched_getaffinity), lowered to this process's
/// cgroup v2 CPU limit; std::thread::hardware_concurrency() when the affinity cannot be read;
/// at least 1.
unsigned usable_cpus() noexcept;

} // namespace tether::detail
