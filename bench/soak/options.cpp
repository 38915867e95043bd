#include "options.hpp"

#include "cli_number.hpp" // bench/common

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string_view>

namespace soak {

namespace {

constexpr int exit_usage = 2;
constexpr double max_minutes = 7 * 24 * 60.0;

constexpr std::string_view usage_text = R"(usage: tether_soak MINUTES [options]

Runs MINUTES (fractional allowed, e.g. 0.5) of mixed load through a tether pool against the
reference echo_server, started as a child process behind an in-process fault proxy, while the
server is restarted, suspended (SIGSTOP/SIGCONT) and its links cut every few seconds. Prints a
line every 5 s and a verdict; exits 0 only if every operation completed exactly once, nothing
hung and memory, descriptors and threads stayed within the printed bounds.

options:
  --seed N        seed of every random choice (default: random; printed either way)
  --callers N     caller threads issuing load, 1..64 (default 8)
  --server PATH   the tether-echo-server program (default: the one built with this tool)
  --verbose       print every fault as it is injected
  --help          this text

exit status: 0 pass, 1 a check failed, 2 bad command line, 3 the environment failed
(e.g. the server could not be started)
)";

[[noreturn]] void usage_error(const std::string& message)
{
    std::cerr << "tether_soak: " << message << "\ntry 'tether_soak --help'\n";
    std::exit(exit_usage);
}

template <class T> T parse_integer(std::string_view option, std::string_view text, T min, T max)
{
    const std::optional<T> value = tether_bench::parse_number<T>(text, min, max);
    if (!value)
        usage_error("invalid value '" + std::string(text) + "' for " + std::string(option));
    return *value;
}

double parse_minutes(std::string_view text)
{
    const std::string s(text);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v <= 0 || v > max_minutes)
        usage_error("MINUTES must be a number above 0 and at most " +
                    std::to_string(static_cast<int>(max_minutes)) + ", not '" + s + "'");
    return v;
}

} // namespace

options parse_options(int argc, char** argv)
{
    options o;
    o.server = TETHER_SOAK_ECHO_SERVER;
    std::optional<std::uint64_t> seed;
    std::optional<double> minutes;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string_view { // no "--name=value" here
            const auto v = tether_bench::option_value({arg, std::nullopt}, argc, argv, i);
            if (!v)
                usage_error("option " + std::string(arg) + " needs a value");
            return *v;
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            std::exit(0);
        } else if (arg == "--seed") {
            seed = parse_integer<std::uint64_t>(arg, value(), 0, UINT64_MAX);
        } else if (arg == "--callers") {
            o.callers = parse_integer<unsigned>(arg, value(), 1, 64);
        } else if (arg == "--server") {
            o.server = std::string(value());
        } else if (arg == "--verbose") {
            o.verbose = true;
        } else if (arg.starts_with("-")) {
            usage_error("unknown option '" + std::string(arg) + "'");
        } else if (minutes) {
            usage_error("unexpected argument '" + std::string(arg) + "'");
        } else {
            minutes = parse_minutes(arg);
        }
    }
    if (!minutes)
        usage_error("MINUTES is required");
    o.duration =
        std::chrono::milliseconds(static_cast<long long>(std::llround(*minutes * 60'000.0)));
    if (o.duration.count() < 1000)
        usage_error("MINUTES must amount to at least one second");
    o.seed = seed ? *seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    return o;
}

} // namespace soak
