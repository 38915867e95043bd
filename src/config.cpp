// The configuration layer: endpoint formatting, validation of a pool_config (design.md §2
// "Invalid configuration") and its JSON / stream rendering.

#include <tether/config.hpp>
#include <tether/error.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>

namespace tether {

std::string to_string(const endpoint& e)
{
    std::string out;
    // An IPv6 literal needs brackets so that its colons are not read as the port separator.
    const bool bracket = e.host.find(':') != std::string::npos && !e.host.starts_with('[');
    out.reserve(e.host.size() + 8);
    if (bracket) {
        out += '[';
    }
    out += e.host;
    if (bracket) {
        out += ']';
    }
    out += ':';
    out += std::to_string(e.port);
    return out;
}

namespace {

using std::chrono::milliseconds;

/// "Never infinite": the cap of every duration but the recycling ones.
constexpr milliseconds max_duration = std::chrono::hours(24);
/// max_lifetime and idle_timeout may be long, but not unbounded.
constexpr milliseconds max_recycle_duration = std::chrono::hours(24 * 30);

constexpr long long max_keepalive_seconds = 32767;
constexpr int max_keepalive_count = 127;
constexpr std::uint32_t min_frame_size = 64;
constexpr std::size_t min_json_depth = 2;
constexpr std::size_t max_json_depth_limit = 10000;

[[noreturn]] void fail(const char* setting, const std::string& rule)
{
    throw config_error(setting, rule);
}

std::string ms_text(milliseconds d)
{
    return std::to_string(d.count()) + " ms";
}

std::string number_text(double v)
{
    std::ostringstream os;
    os << v;
    return os.str();
}

void check_duration(const char* setting, milliseconds d, milliseconds cap, const char* cap_text)
{
    if (d <= milliseconds::zero()) {
        fail(setting, "must be > 0 (nothing is switched off by zero), got " + ms_text(d));
    }
    if (d > cap) {
        fail(setting,
             std::string("must be at most ") + cap_text + " (never infinite), got " + ms_text(d));
    }
}

void check_duration(const char* setting, milliseconds d)
{
    check_duration(setting, d, max_duration, "24 h");
}

void check_count(const char* setting, std::size_t n)
{
    if (n < 1) {
        fail(setting, "must be >= 1, got 0");
    }
}

void check_keepalive_seconds(const char* setting, std::chrono::seconds s)
{
    if (s.count() < 1 || s.count() > max_keepalive_seconds) {
        fail(setting, "must be whole seconds in 1..32767, got " + std::to_string(s.count()) + " s");
    }
}

bool host_has_bad_character(const std::string& host)
{
    for (const char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) { // control characters (NUL included) and spaces
            return true;
        }
    }
    return false;
}

// What the pool is called and where its messages go.
void validate_naming_and_logging(const pool_config& config)
{
    const bool control = std::any_of(config.name.begin(), config.name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (config.name.empty() || config.name.size() > 64 || control) {
        fail("name", "must be 1..64 characters, none of them a control character");
    }
    if (config.log_min < log_level::debug || config.log_min > log_level::error) {
        fail("logger", "the minimum level is not a tether::log_level, got " +
                           std::to_string(static_cast<int>(config.log_min)));
    }
}

// Servers.
void validate_endpoints(const pool_config& config)
{
    if (config.endpoints.empty()) {
        fail("endpoint", "at least one endpoint is required");
    }
    for (std::size_t i = 0; i < config.endpoints.size(); ++i) {
        const endpoint& ep = config.endpoints[i];
        const std::string which = "endpoint #" + std::to_string(i + 1);
        if (ep.host.empty()) {
            fail("endpoint", "host must not be empty (" + which + ")");
        }
        if (host_has_bad_character(ep.host)) {
            fail("endpoint", "host must not contain spaces or control characters (" + which + ")");
        }
        if (ep.port == 0) {
            fail("endpoint", "port must not be 0 (" + which + ", host " + ep.host + ")");
        }
    }
}

// Sizes and threads.
void validate_sizes(const pool_config& config)
{
    if (config.max_connections < 1) {
        fail("max_connections", "must be >= 1, got 0");
    }
    if (config.min_connections > config.max_connections) {
        fail("min_connections", "must be <= max_connections (" +
                                    std::to_string(config.max_connections) + "), got " +
                                    std::to_string(config.min_connections));
    }
    if (config.io_threads < 1) {
        fail("io_threads", "must be >= 1, got 0");
    }
    if (config.executor) {
        if (!*config.executor)
            fail("executor", "must not be an empty executor");
        if (config.io_threads != default_io_threads())
            fail("io_threads", "must be left unset with executor(): the pool runs on the "
                               "application's executor and starts no threads");
    }
}

// Timeouts: every one > 0 and bounded.
void validate_timeouts(const pool_config& config)
{
    check_duration("acquire_timeout", config.acquire_timeout);
    check_duration("connect_timeout", config.connect_timeout);
    check_duration("request_timeout", config.request_timeout);
    check_duration("ping_interval", config.ping_interval);
    check_duration("ping_timeout", config.ping_timeout);
}

// Backoff.
void validate_backoff(const pool_config& config)
{
    check_duration("backoff.initial", config.backoff.initial);
    check_duration("backoff.max", config.backoff.max);
    if (config.backoff.initial > config.backoff.max) {
        fail("backoff.initial", "must be <= backoff.max (" + ms_text(config.backoff.max) +
                                    "), got " + ms_text(config.backoff.initial));
    }
    if (!std::isfinite(config.backoff.multiplier) || !(config.backoff.multiplier >= 1.0)) {
        fail("backoff.multiplier",
             "must be finite and >= 1, got " + number_text(config.backoff.multiplier));
    }
    if (!(config.backoff.jitter >= 0.0 && config.backoff.jitter < 1.0)) {
        fail("backoff.jitter", "must be in [0, 1), got " + number_text(config.backoff.jitter));
    }
}

// TCP level.
void validate_tcp(const pool_config& config)
{
    check_keepalive_seconds("tcp_keepalive.idle", config.tcp_keepalive.idle);
    check_keepalive_seconds("tcp_keepalive.interval", config.tcp_keepalive.interval);
    if (config.tcp_keepalive.count < 1 || config.tcp_keepalive.count > max_keepalive_count) {
        fail("tcp_keepalive.count",
             "must be in 1..127, got " + std::to_string(config.tcp_keepalive.count));
    }
    if (config.tcp_user_timeout) {
        check_duration("tcp_user_timeout", *config.tcp_user_timeout);
    }
}

// Protocol limits.
void validate_protocol_limits(const pool_config& config)
{
    if (config.max_frame_size < min_frame_size) {
        fail("max_frame_size",
             "must be in 64..2^32-1 bytes, got " + std::to_string(config.max_frame_size));
    }
    if (config.max_json_depth < min_json_depth || config.max_json_depth > max_json_depth_limit) {
        fail("max_json_depth", "must be in 2..10000, got " + std::to_string(config.max_json_depth));
    }
}

// Lifecycle.
void validate_lifecycle(const pool_config& config)
{
    check_duration("drain_timeout", config.drain_timeout);
    check_count("max_concurrent_connects", config.max_concurrent_connects);
    check_duration("max_lifetime", config.max_lifetime, max_recycle_duration, "30 days");
    check_duration("idle_timeout", config.idle_timeout, max_recycle_duration, "30 days");
    check_count("max_outstanding_per_link", config.max_outstanding_per_link);
    check_count("max_queued_notifies", config.max_queued_notifies);
    check_duration("lease_warn_threshold", config.lease_warn_threshold);
    // max_waiters may be 0: no waiting at all (acquire fails fast with too_many_waiters).
}

} // namespace

// TLS rules that need no file: what the OpenSSL context checks (files, PEM, key match) is
// checked when the pool builds it (io/tls_context.cpp).
void validate_tls(const tls_options& tls)
{
    if (!tls.ca_file.empty() && !tls.ca_pem.empty()) {
        fail("tls.ca_pem", "set ca_file or ca_pem, not both");
    }
    if (!tls.cert_file.empty() && !tls.cert_pem.empty()) {
        fail("tls.cert_pem", "set cert_file or cert_pem, not both");
    }
    if (!tls.key_file.empty() && !tls.key_pem.empty()) {
        fail("tls.key_pem", "set key_file or key_pem, not both");
    }
    const bool has_cert = !tls.cert_file.empty() || !tls.cert_pem.empty();
    const bool has_key = !tls.key_file.empty() || !tls.key_pem.empty();
    if (has_cert && !has_key) {
        fail("tls.key_file", "a client certificate needs its private key (key_file or key_pem)");
    }
    if (has_key && !has_cert) {
        fail("tls.cert_file", "a private key needs its certificate (cert_file or cert_pem)");
    }
    if (host_has_bad_character(tls.server_name)) {
        fail("tls.server_name", "must not contain spaces or control characters");
    }
    for (const std::string& protocol : tls.alpn) {
        if (protocol.empty() || protocol.size() > 255) {
            fail("tls.alpn", "every protocol name must be 1..255 bytes, got " +
                                 std::to_string(protocol.size()));
        }
    }
}

void validate(const pool_config& config)
{
    validate_naming_and_logging(config);
    validate_endpoints(config);
    validate_sizes(config);
    validate_timeouts(config);
    validate_backoff(config);
    validate_tcp(config);
    validate_protocol_limits(config);
    validate_lifecycle(config);
    if (config.tls) {
        validate_tls(*config.tls);
    }
}

nlohmann::json to_json(const pool_config& config)
{
    nlohmann::json endpoints = nlohmann::json::array();
    for (const endpoint& ep : config.endpoints) {
        endpoints.push_back(to_string(ep));
    }
    return {
        {"name", config.name},
        {"endpoints", std::move(endpoints)},
        {"min_connections", config.min_connections},
        {"max_connections", config.max_connections},
        {"io_threads", config.executor ? 0u : config.io_threads},
        {"executor", config.executor ? "application's" : "own io threads"},
        {"acquire_timeout_ms", config.acquire_timeout.count()},
        {"max_waiters", config.max_waiters},
        {"connect_timeout_ms", config.connect_timeout.count()},
        {"request_timeout_ms", config.request_timeout.count()},
        {"ping_interval_ms", config.ping_interval.count()},
        {"ping_timeout_ms", config.ping_timeout.count()},
        {"backoff",
         {
             {"initial_ms", config.backoff.initial.count()},
             {"multiplier", config.backoff.multiplier},
             {"max_ms", config.backoff.max.count()},
             {"jitter", config.backoff.jitter},
         }},
        {"tcp_keepalive",
         {
             {"idle_s", config.tcp_keepalive.idle.count()},
             {"interval_s", config.tcp_keepalive.interval.count()},
             {"count", config.tcp_keepalive.count},
         }},
        {"tcp_user_timeout_ms", config.effective_tcp_user_timeout().count()},
        {"max_frame_size", config.max_frame_size},
        {"max_json_depth", config.max_json_depth},
        {"drain_timeout_ms", config.drain_timeout.count()},
        {"max_concurrent_connects", config.max_concurrent_connects},
        {"max_lifetime_ms", config.max_lifetime.count()},
        {"idle_timeout_ms", config.idle_timeout.count()},
        {"max_outstanding_per_link", config.max_outstanding_per_link},
        {"max_queued_notifies", config.max_queued_notifies},
        {"lease_warn_threshold_ms", config.lease_warn_threshold.count()},
        {"fail_fast", config.fail_fast},
        {"dead_peer_detection_ms", config.dead_peer_detection_bound().count()},
        {"has_on_notify", static_cast<bool>(config.on_notify)},
        {"has_observer", config.observer != nullptr},
        {"has_resolver", static_cast<bool>(config.resolver)},
        {"has_init_request", static_cast<bool>(config.init_request)},
        {"log_level", to_string(config.log_min)},
        {"has_logger", static_cast<bool>(config.logger)},
        {"tls", config.tls ? to_json(*config.tls) : nlohmann::json("off")},
    };
}

nlohmann::json to_json(const tls_options& tls)
{
    const auto source = [](const std::string& file, const std::string& pem,
                           const char* neither) -> std::string {
        if (!file.empty()) {
            return "file " + file;
        }
        return pem.empty() ? neither : "PEM text";
    };
    return {
        {"verify", to_string(tls.verify)},
        {"server_name", tls.server_name.empty() ? "(the endpoint's host)" : tls.server_name},
        {"trust", source(tls.ca_file, tls.ca_pem, "system trust store")},
        {"client_certificate", source(tls.cert_file, tls.cert_pem, "none")},
        {"min_version", to_string(tls.min_version)},
        {"alpn", tls.alpn},
    };
}

const char* to_string(tls_verify v) noexcept
{
    switch (v) {
    case tls_verify::full:
        return "full";
    case tls_verify::chain_only:
        return "chain_only";
    case tls_verify::none:
        return "none";
    }
    return "unknown";
}

const char* to_string(log_level level) noexcept
{
    switch (level) {
    case log_level::debug:
        return "debug";
    case log_level::info:
        return "info";
    case log_level::warn:
        return "warn";
    case log_level::error:
        return "error";
    }
    return "unknown";
}

const char* to_string(tls_version v) noexcept
{
    return v == tls_version::v1_3 ? "1.3" : "1.2";
}

std::ostream& operator<<(std::ostream& os, const pool_config& config)
{
    // Host names are not checked for UTF-8: replace bad bytes rather than throw while printing.
    return os << to_json(config).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace tether
