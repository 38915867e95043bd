#pragma once

// The soak's command line: `tether_soak MINUTES [--seed N] [--callers N] [--server PATH]
// [--verbose]`.

#include <chrono>
#include <cstdint>
#include <string>

namespace soak {

struct options {
    std::chrono::milliseconds duration{0}; ///< MINUTES, fractional allowed
    std::uint64_t seed = 0;                ///< random unless --seed
    unsigned callers = 8;
    std::string server;   ///< the echo_server program
    bool verbose = false; ///< print every fault as it is injected
};

/// Parses argv; prints usage and exits 0 on --help, exits 2 on a bad command line.
options parse_options(int argc, char** argv);

} // namespace soak
