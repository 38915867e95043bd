#pragma once

// Command line of tether_scale.

#include <tether/config.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace tether_scale {

struct options {
    std::size_t links = 10'000;         ///< phase 1: idle links held open (0 skips the phase)
    std::chrono::seconds hold{60};      ///< phase 1: how long they are held
    std::size_t load_links = 1'000;     ///< phase 2: links of the loaded pool (0 skips the phase)
    std::chrono::seconds load_time{10}; ///< phase 2: duration of the request load
    unsigned load_threads = 16;         ///< phase 2: closed-loop caller threads
    unsigned io_threads = tether::default_io_threads(); ///< the pool's default
    std::chrono::milliseconds ping_interval{1'000};
    std::chrono::milliseconds ping_timeout{1'000};
    std::chrono::milliseconds connect_timeout{10'000};
    std::size_t max_concurrent_connects = 256;
    std::string server_path; ///< echo_server binary
    int server_threads = 1;
    bool pin_server = false; ///< pin the server to the last CPU this process may use
    bool baseline = false;   ///< also time a minimal epoll pinger (raw_baseline.hpp)
    bool tls = false;        ///< the server speaks TLS (test certificates), so do the pools
    std::string json_path;   ///< --json FILE; empty: none
};

/// Parses argv; prints usage and exits 0 on --help, exits 2 on a bad option.
options parse_options(int argc, char** argv);

} // namespace tether_scale
