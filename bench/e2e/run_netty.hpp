#pragma once

// The Netty peer's side of the plaintext workloads: bench/peers/netty, a Java client on Netty's
// FixedChannelPool, run as a child process for each run. It inherits this process's CPU
// affinity (the bench CPUs, off the server's), times itself like the harness and prints
// MEASURING and STOPPED at its window's start and end, where the server's CPU is sampled here,
// then its figures as one JSON line.

#include "harness.hpp"
#include "workloads.hpp"

#include <string>

namespace tether_bench {

struct netty_peer {
    std::string java;    ///< the java launcher
    std::string jar;     ///< tether-netty-peer.jar
    std::string skipped; ///< why the peer does not run ("" when it does)
    /// The least warm-up of a run: the JIT, sharing the bench CPUs with the peer, needs ~5 s of
    /// load to compile the hot paths (measured: 110 µs of CPU per request after 2 s, 41 after
    /// 5 s, 34-41 after 10-20 s), and a Java service that has run for a while is warm.
    double min_warmup_seconds = 5;
};

/// The peer this build made (bench/peers/netty), `jar` instead of its jar when not empty, or
/// why there is none (`disabled`: asked not to run it).
netty_peer find_netty_peer(const std::string& jar, bool disabled);

/// The peer's warm-up: the harness's, but at least peer.min_warmup_seconds.
double netty_warmup_seconds(const netty_peer& peer, const run_timing& timing);

/// Why workload `w` does not run on the peer, "" when it does.
std::string netty_skip_reason(const workload& w, const netty_peer& peer);

/// One run of `w` by the peer against the plaintext server. Throws when the peer fails (its
/// stderr is ours) or does not finish in time.
run_result run_netty(const workload& w, const run_settings& s, const netty_peer& peer);

} // namespace tether_bench
