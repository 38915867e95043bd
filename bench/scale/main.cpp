// tether_scale: the "Scale" target of design.md §5, against the reference server as a separate
// process (the echo_server program, spawned and killed by this bench).
//
// Phase 1 (idle scale): a pool of --links links (default 10,000; min = max connections), ping
// interval 1 s, held open for --seconds (default 60) with no requests. Reports the time to open
// them all, client RSS growth per link (VmRSS; kernel socket buffers are not in it), client CPU
// over the hold (= the cost of health checking: % of one core and µs per ping), and checks that
// every link is still alive at the end (none lost, none declared dead, no reconnects).
// Phase 2 (load): a pool of --load-links links (default 1,000) under closed-loop lease requests
// with 64-byte bodies from --load-threads callers (default 16) for --load-seconds (default
// 10): req/s, latency percentiles, and all links alive at the end.
//
// Health is watched from both sides: a pool observer records the slowest pong per stretch
// (opening, hold, load), and an independent probe (one socket, a ping every 100 ms)
// shows whether the server itself was answering; links declared dead while the probe stays
// fast point at the client. --baseline times a minimal epoll pinger over as many
// links: the floor of CPU per ping on this machine, against which the pool's figure is judged.
// --tls runs both phases over TLS: the server on test certificates made for the run (in a
// temporary directory, removed once it has read them), the pools verifying them, the probe
// over TLS too; phase 1 then gives the RSS per idle TLS link.
//
// The server is the shared tether_bench::server_process (bench/common). It is killed by pid when
// this program ends, however it ends: normally (SIGTERM, it drains), by an error or exception
// (its destructor), by SIGINT/SIGTERM (the handler below), or by dying (PR_SET_PDEATHSIG).
//
// Both processes need one descriptor per link: the RLIMIT_NOFILE soft limit is raised to the
// hard limit before the server is spawned (it inherits it); a hard limit below links + 256 is
// an error. Exit status: 0 all checks passed, 1 a check failed, 2 usage, 3 setup failed.
//
//   cmake --build build/release --target tether_scale echo_server
//   build/release/bench/scale/tether_scale                   # 10,000 links, 60 s; 1,000 under load
//   build/release/bench/scale/tether_scale --quick           # smoke test (1,000 links, 5 s, 2 s)
//   build/release/bench/scale/tether_scale --json scale.json # also write the figures
//   build/release/bench/scale/tether_scale --baseline        # and the minimal pinger's floor
//   build/release/bench/scale/tether_scale --links 1000 --seconds 5 --load-links 0 --tls
//                                                            # RSS per idle TLS link
//   build/release/bench/scale/tether_scale --help            # every option

#include "idle_phase.hpp"
#include "load_phase.hpp"
#include "options.hpp"
#include "process_metrics.hpp"
#include "raw_baseline.hpp"
#include "report.hpp"
#include "server_probe.hpp"
#include "server_process.hpp" // bench/common
#include "test_pki.hpp"       // bench/common

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <exception>
#include <iostream>
#include <optional>
#include <sys/wait.h>
#include <thread>

namespace {

constexpr int exit_failed = 1;
constexpr int exit_setup = 3;
constexpr std::uint64_t spare_descriptors = 256;

// The server's pid for the signal handler, -1 when there is none.
std::atomic<pid_t> g_server{-1};

/// SIGINT/SIGTERM: kill the server, then die of the signal as if not handled. waitpid first, so
/// that only a child of ours not yet reaped is killed, never a reused pid (server_process may
/// have reaped the server in running(), terminate() or its destructor).
extern "C" void kill_server_and_die(int sig)
{
    const int saved_errno = errno;
    const pid_t server = g_server.load();
    int status = 0;
    if (server > 0 && ::waitpid(server, &status, WNOHANG) == 0)
        ::kill(server, SIGKILL);
    std::signal(sig, SIG_DFL);
    errno = saved_errno;
    std::raise(sig);
}

} // namespace

int main(int argc, char** argv)
{
    using namespace tether_scale;
    const options o = parse_options(argc, argv);

    run_context ctx;
    ctx.cpus = std::thread::hardware_concurrency();
    ctx.load_average_start = load_average();
    std::optional<tether_bench::server_process> server;
    std::optional<server_probe> probe;
    pool_tls tls;
    try {
        const std::uint64_t needed = std::max(o.links, o.load_links) + spare_descriptors;
        ctx.nofile_limit = raise_nofile_limit(needed);
        if (const auto ports = ephemeral_ports(); ports != 0 && ports < needed - spare_descriptors)
            std::cerr << "tether_scale: warning: only " << ports
                      << " local ports (net.ipv4.ip_local_port_range) for the links\n";

        tether_bench::server_launch launch;
        launch.path = o.server_path;
        launch.args = {"--threads", std::to_string(o.server_threads), "--drain-timeout", "1000"};
        launch.pin_cpu = o.pin_server ? tether_bench::last_allowed_cpu() : -1;
        ctx.server_pinned_cpu = launch.pin_cpu;
        std::optional<tether_bench::temporary_pki> pki;
        if (o.tls) {
            pki.emplace();
            for (std::string& arg : pki->server_args())
                launch.args.push_back(std::move(arg));
            tls.emplace().ca_pem = pki->ca_pem();
        }
        server.emplace(std::move(launch));
        const std::uint16_t port = server->start(); // ephemeral port; throws when it cannot
        pki.reset();                                // the server has read its certificate and key
        g_server.store(server->pid());
        std::signal(SIGINT, kill_server_and_die);
        std::signal(SIGTERM, kill_server_and_die);
        std::signal(SIGPIPE, SIG_IGN); // the probe's TLS writes (OpenSSL) may hit a dead server
        ctx.server_pid = server->pid();
        probe.emplace(port, o.tls);
    } catch (const std::exception& e) {
        std::cerr << "tether_scale: " << e.what() << '\n';
        return exit_setup;
    }

    run_figures figures;
    try {
        if (o.baseline && o.links > 0) {
            const auto seconds = std::min(o.hold, std::chrono::seconds(20));
            std::cerr << "baseline: minimal epoll pinger, " << o.links << " links, "
                      << seconds.count() << " s\n";
            figures.baseline = run_raw_baseline(server->port(), o.links, seconds);
        }
        if (o.links > 0 && server->running())
            figures.idle = run_idle_phase(o, *server, tls, *probe);
        if (figures.baseline && server->running()) {
            std::cerr << "baseline again, after the pool\n";
            figures.baseline_after = run_raw_baseline(server->port(), o.links,
                                                      std::min(o.hold, std::chrono::seconds(20)));
        }
        if (o.load_links > 0 && server->running())
            figures.load = run_load_phase(o, *server, tls, *probe);
    } catch (const std::exception& e) {
        std::cerr << "tether_scale: " << e.what() << '\n';
        return exit_setup; // ~server_process kills the server
    }
    probe.reset();
    server->terminate(std::chrono::seconds(3));
    g_server.store(-1);
    ctx.load_average_end = load_average();

    print_summary(o, ctx, figures);
    if (!o.json_path.empty()) {
        try {
            write_json(o.json_path, o, ctx, figures);
        } catch (const std::exception& e) {
            std::cerr << "tether_scale: " << e.what() << '\n';
            return exit_setup;
        }
    }
    const auto& idle = figures.idle;
    const auto& load = figures.load;
    const bool passed = (o.links == 0 || idle.has_value()) && (!idle || idle->failures.empty()) &&
                        (o.load_links == 0 || load.has_value()) &&
                        (!load || load->failures.empty());
    std::printf("\nRESULT: %s\n",
                passed ? "all links kept alive, all checks passed" : "FAILED (see above)");
    return passed ? 0 : exit_failed;
}
