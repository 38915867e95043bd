#pragma once

// What the kernel and the allocator say about a process: resident memory, CPU time, open
// descriptors, and raising the descriptor limit. Linux only (/proc, getrusage, mallinfo2).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace tether_scale {

using cpu_time = std::chrono::microseconds;

/// VmRSS of a process in bytes (pid 0: this one); 0 when unreadable (e.g. it exited).
std::int64_t rss_bytes(pid_t pid = 0);

/// Bytes the allocator has handed out and not got back (all arenas, mmapped blocks included).
std::int64_t heap_in_use();

/// User + system CPU and context switches (voluntary + involuntary: each sleep/wake-up of a
/// thread) of this whole process, or of the calling thread only.
struct usage {
    cpu_time cpu{0};
    std::int64_t context_switches = 0;
    friend usage operator-(const usage& a, const usage& b)
    {
        return {a.cpu - b.cpu, a.context_switches - b.context_switches};
    }
};
usage process_usage();
usage thread_usage();

/// User + system CPU of another process (from /proc/<pid>/stat); 0 when unreadable.
cpu_time other_process_cpu(pid_t pid);

/// Machine-wide CPU time from the first line of /proc/stat (clock ticks, all CPUs).
struct machine_cpu {
    std::int64_t busy = 0;  ///< user + nice + system + irq + softirq
    std::int64_t idle = 0;  ///< idle + iowait
    std::int64_t steal = 0; ///< taken by the hypervisor
};
machine_cpu machine_cpu_now();
/// Busy and steal shares (percent of all CPUs) between two samples.
struct machine_load {
    double busy_percent = 0;
    double steal_percent = 0;
};
machine_load machine_load_between(const machine_cpu& a, const machine_cpu& b);

/// Entries of /proc/<pid>/fd; -1 when unreadable.
long open_fds(pid_t pid);

/// Raises this process's RLIMIT_NOFILE soft limit to the hard limit (children inherit it).
/// Throws std::runtime_error, saying what to do, when the hard limit is below `needed`.
/// Returns the new soft limit.
std::uint64_t raise_nofile_limit(std::uint64_t needed);

/// Size of the local (ephemeral) port range, from /proc/sys/net/ipv4/ip_local_port_range;
/// 0 when unknown.
std::uint64_t ephemeral_ports();

/// The first figure of /proc/loadavg ("" when unknown).
std::string load_average();

} // namespace tether_scale
