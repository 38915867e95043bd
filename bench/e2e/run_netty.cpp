#include "run_netty.hpp"

#include "child_spawn.hpp" // bench/common

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#ifndef TETHER_E2E_JAVA
#define TETHER_E2E_JAVA "java"
#endif
#ifndef TETHER_E2E_NETTY_JAR
#define TETHER_E2E_NETTY_JAR ""
#endif
#ifndef TETHER_E2E_NETTY_SKIPPED // why CMake made no jar
#define TETHER_E2E_NETTY_SKIPPED "this build has no Netty peer"
#endif

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace tether_bench {

namespace {

// Beyond the warm-up and the measured seconds: starting the JVM and the first connection, and
// the peer's drain of requests in flight (15 s at most) after the stop.
constexpr auto startup_allowance = 60s;
constexpr auto drain_allowance = 30s;
constexpr auto exit_allowance = 10s;

std::chrono::milliseconds seconds(double s)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(s));
}

std::vector<std::string> command(const workload& w, const run_settings& s, const netty_peer& peer)
{
    std::vector<std::string> args{peer.java,
                                  "-jar",
                                  peer.jar,
                                  "--host",
                                  "127.0.0.1",
                                  "--port",
                                  std::to_string(s.port),
                                  "--bytes",
                                  std::to_string(w.body_bytes),
                                  "--seconds",
                                  std::to_string(s.timing.seconds),
                                  "--warmup",
                                  std::to_string(netty_warmup_seconds(peer, s.timing))};
    const std::vector<std::string> shape =
        w.pipelined ? std::vector<std::string>{"--depth", std::to_string(w.depth)}
                    : std::vector<std::string>{"--callers", std::to_string(w.callers), "--links",
                                               std::to_string(w.links)};
    args.insert(args.end(), shape.begin(), shape.end());
    return args;
}

// The running peer: its stdout read line by line; killed and reaped unless it ended first.
class peer_process {
public:
    explicit peer_process(const std::vector<std::string>& args)
    {
        std::string why;
        child_ = spawn_with_stdout_pipe(args, -1, why); // -1: our affinity, the bench CPUs
        if (child_.pid < 0)
            throw std::runtime_error("cannot start the Netty peer: " + why);
    }
    ~peer_process()
    {
        if (child_.pid > 0) {
            ::kill(child_.pid, SIGKILL);
            ::waitpid(child_.pid, nullptr, 0);
        }
        ::close(child_.stdout_fd);
    }
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;

    /// The next line, which must be `want` (with an empty `want`: any line).
    std::string expect(const std::string& want, std::chrono::milliseconds limit)
    {
        const std::string line = read_line(child_.stdout_fd, limit);
        if (line.empty() || (!want.empty() && line != want))
            throw std::runtime_error("the Netty peer printed " +
                                     (line.empty() ? "nothing" : "'" + line + "'") + " where " +
                                     (want.empty() ? "its result" : want) + " was due (it " +
                                     wait(line.empty() ? exit_allowance : 1s) + ")");
        return line;
    }

    /// How it ended, waiting up to `limit` (then killing it).
    std::string wait(std::chrono::milliseconds limit)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int status = 0;
        while (::waitpid(child_.pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(child_.pid, SIGKILL);
                ::waitpid(child_.pid, &status, 0);
                child_.pid = -1;
                return "was still running: killed";
            }
            std::this_thread::sleep_for(5ms);
        }
        child_.pid = -1;
        return exit_description(status);
    }

private:
    spawned_child child_;
};

run_result from_json(const std::string& line)
{
    const json j = json::parse(line);
    run_result r;
    r.requests = j.at("requests").get<std::uint64_t>();
    r.errors = j.at("errors").get<std::uint64_t>();
    r.seconds = j.at("seconds").get<double>();
    r.rps = j.at("rps").get<double>();
    r.p50_us = j.at("p50_us").get<double>();
    r.p99_us = j.at("p99_us").get<double>();
    r.p999_us = j.at("p999_us").get<double>();
    r.cpu_us_per_req = j.at("cpu_us_per_req").get<double>();
    return r;
}

} // namespace

netty_peer find_netty_peer(const std::string& jar, bool disabled)
{
    netty_peer peer;
    peer.java = TETHER_E2E_JAVA;
    peer.jar = jar.empty() ? TETHER_E2E_NETTY_JAR : jar;
    if (disabled)
        peer.skipped = "--no-netty";
    else if (peer.jar.empty())
        peer.skipped = TETHER_E2E_NETTY_SKIPPED;
    else if (!std::filesystem::exists(peer.jar))
        peer.skipped = peer.jar + " does not exist (build the tether_netty_peer target)";
    return peer;
}

double netty_warmup_seconds(const netty_peer& peer, const run_timing& timing)
{
    return std::max(timing.warmup_seconds, peer.min_warmup_seconds);
}

std::string netty_skip_reason(const workload& w, const netty_peer& peer)
{
    if (w.tls)
        return "not run over TLS (the Netty peer speaks plaintext only)";
    return peer.skipped;
}

run_result run_netty(const workload& w, const run_settings& s, const netty_peer& peer)
{
    peer_process child(command(w, s, peer));
    child.expect("MEASURING", seconds(netty_warmup_seconds(peer, s.timing)) + startup_allowance);
    const double server0 = process_cpu_us(s.server_pid);
    child.expect("STOPPED", seconds(s.timing.seconds) + drain_allowance);
    const double server1 = process_cpu_us(s.server_pid);
    const std::string result = child.expect("", exit_allowance);
    const std::string ended = child.wait(exit_allowance);
    if (ended != exit_description(0))
        throw std::runtime_error("the Netty peer " + ended);
    run_result r;
    try {
        r = from_json(result);
    } catch (const json::exception& e) {
        throw std::runtime_error("the Netty peer's result '" + result + "': " + e.what());
    }
    r.server_cpu_us_per_req = per_request(server1 - server0, r.requests);
    return r;
}

} // namespace tether_bench
