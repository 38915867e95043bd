#pragma once

// This process's resident memory, open descriptors and threads, read from /proc/self.

namespace soak {

struct process_sample {
    long rss_kib = -1; ///< VmRSS
    int fds = -1;      ///< entries of /proc/self/fd
    int threads = -1;  ///< Threads
};

process_sample sample_process();

} // namespace soak
