#include "options.hpp"

#include "cli_number.hpp" // bench/common

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>

namespace tether_scale {
namespace {

#ifdef TETHER_SCALE_ECHO_SERVER
constexpr const char* built_server = TETHER_SCALE_ECHO_SERVER;
#else
constexpr const char* built_server = "";
#endif

constexpr std::string_view usage_text = R"(usage: tether_scale [options]

Phase 1: --links idle links to echo_server (ping every second) held --seconds; reports time to
open, client RSS per link and the client CPU of health checking. Phase 2: --load-links links
under closed-loop lease requests (64-byte bodies) from --load-threads callers.

options:
  --links N             idle links of phase 1; 0 skips it (default 10000)
  --seconds S           hold time of phase 1 (default 60)
  --load-links N        links of phase 2; 0 skips it (default 1000)
  --load-seconds S      request load duration of phase 2 (default 10)
  --load-threads K      caller threads of phase 2 (default 16)
  --quick               smoke test: 1000 links, 5 s hold, 2 s load (explicit options win)
  --io-threads N        pool io threads (default: the pool's, the CPUs this process may use)
  --ping-interval MS    pool ping_interval (default 1000; the CPU target is for 1000)
  --ping-timeout MS     pool ping_timeout (default 1000)
  --connects N          pool max_concurrent_connects (default 256)
  --server PATH         tether-echo-server binary (default: the one built with this program)
  --server-threads N    tether-echo-server --threads (default 1)
  --pin-server          pin the server to the last CPU this process may run on
  --tls                 the server speaks TLS on test certificates made for the run, the pools
                        verify it (RSS per idle TLS link: tether_scale --links 1000 --tls)
  --baseline            run a minimal epoll pinger over as many links (up to 20 s) before
                        and after the pool: the floor of CPU per ping on this machine (both
                        runs together, so drift during the run cancels), to judge the pool's by
  --json FILE           also write the figures as JSON
  --help                this text
)";

[[noreturn]] void usage_error(const std::string& message)
{
    std::cerr << "tether_scale: " << message << "\ntry 'tether_scale --help'\n";
    std::exit(2);
}

template <class T> T number(std::string_view option, std::string_view text, T min, T max)
{
    const std::optional<T> value = tether_bench::parse_number<T>(text, min, max);
    if (!value)
        usage_error("invalid value '" + std::string(text) + "' for " + std::string(option) +
                    " (expected an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                    ")");
    return *value;
}

} // namespace

options parse_options(int argc, char** argv)
{
    options o;
    o.server_path = built_server;
    bool quick = false;
    std::optional<std::size_t> links, load_links;
    std::optional<long> hold, load_time;

    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            std::exit(0);
        }
        const tether_bench::cli_option option = tether_bench::split_option(arg);
        const std::string_view name = option.name;
        const auto value = [&]() -> std::string_view {
            const auto v = tether_bench::option_value(option, argc, argv, i);
            if (!v)
                usage_error("option " + std::string(name) + " needs a value");
            return *v;
        };
        if (name == "--quick") {
            quick = true;
        } else if (name == "--baseline") {
            o.baseline = true;
        } else if (name == "--pin-server") {
            o.pin_server = true;
        } else if (name == "--tls") {
            o.tls = true;
        } else if (name == "--links") {
            links = number<std::size_t>(name, value(), 0, 1'000'000);
        } else if (name == "--seconds") {
            hold = number<long>(name, value(), 1, 86'400);
        } else if (name == "--load-links") {
            load_links = number<std::size_t>(name, value(), 0, 1'000'000);
        } else if (name == "--load-seconds") {
            load_time = number<long>(name, value(), 1, 86'400);
        } else if (name == "--load-threads") {
            o.load_threads = number<unsigned>(name, value(), 1, 1024);
        } else if (name == "--io-threads") {
            o.io_threads = number<unsigned>(name, value(), 1, 256);
        } else if (name == "--ping-interval") {
            o.ping_interval = std::chrono::milliseconds(number<long>(name, value(), 1, 3'600'000));
        } else if (name == "--ping-timeout") {
            o.ping_timeout = std::chrono::milliseconds(number<long>(name, value(), 1, 3'600'000));
        } else if (name == "--connects") {
            o.max_concurrent_connects = number<std::size_t>(name, value(), 1, 1'000'000);
        } else if (name == "--server") {
            o.server_path = std::string(value());
        } else if (name == "--server-threads") {
            o.server_threads = number<int>(name, value(), 1, 1024);
        } else if (name == "--json") {
            o.json_path = std::string(value());
        } else {
            usage_error("unknown option '" + std::string(arg) + "'");
        }
    }
    if (quick) {
        o.links = 1'000;
        o.hold = std::chrono::seconds(5);
        o.load_time = std::chrono::seconds(2);
    }
    if (links)
        o.links = *links;
    if (load_links)
        o.load_links = *load_links;
    if (hold)
        o.hold = std::chrono::seconds(*hold);
    if (load_time)
        o.load_time = std::chrono::seconds(*load_time);
    if (o.server_path.empty())
        usage_error("no tether-echo-server was built with this program: pass --server PATH");
    if (o.links == 0 && o.load_links == 0)
        usage_error("--links 0 and --load-links 0: nothing to do");
    if (o.tls && o.baseline)
        usage_error("--baseline pings in plaintext: not with --tls");
    return o;
}

} // namespace tether_scale
