#include "io/pool_log.hpp"

#include "io/log.hpp"

#include <chrono>
#include <cstdio>

namespace tether::detail {
namespace {

const char* name_of(log_kind kind) noexcept
{
    switch (kind) {
    case log_kind::link_connected:
        return "link connected";
    case log_kind::link_closed:
        return "link closed";
    case log_kind::link_lost:
        return "link lost";
    case log_kind::goaway:
        return "goaway";
    case log_kind::backoff:
        return "backoff";
    case log_kind::recovered:
        return "recovered";
    case log_kind::connect_failed:
        return "connect failure";
    case log_kind::dead_link:
        return "dead link";
    case log_kind::lease_held_too_long:
        return "long lease";
    case log_kind::notify_dropped:
        return "dropped notify";
    case log_kind::drain_overrun:
        return "drain overrun";
    case log_kind::exception:
        return "exception";
    }
    return "other";
}

// "10 s", "0.8 s".
std::string seconds_text(sansio::pool_duration d)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    char buf[32];
    if (ms % 1000 == 0)
        std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(ms / 1000));
    else
        std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

} // namespace

log_level level_of(log_kind kind) noexcept
{
    switch (kind) {
    case log_kind::link_connected:
    case log_kind::link_closed:
        return log_level::debug;
    case log_kind::link_lost:
    case log_kind::goaway:
    case log_kind::backoff:
    case log_kind::recovered:
        return log_level::info;
    case log_kind::connect_failed:
    case log_kind::dead_link:
    case log_kind::lease_held_too_long:
    case log_kind::notify_dropped:
    case log_kind::drain_overrun:
        return log_level::warn;
    case log_kind::exception:
        return log_level::error;
    }
    return log_level::error;
}

pool_log::pool_log(const pool_config& config, clock_service& clock,
                   sansio::log_rate_limiter::limits limits)
    : config_(config), min_(config.log_min), clock_(clock), limiter_(limits)
{
}

// Debug messages are what the application asked for, one per link event: not limited.
bool pool_log::admit(log_kind kind, std::size_t endpoint)
{
    if (level_of(kind) == log_level::debug)
        return true;
    sansio::log_rate_limiter::verdict v;
    {
        std::lock_guard lock(mutex_);
        v = limiter_.admit({static_cast<unsigned>(kind), endpoint}, clock_.now());
        suppressing_.store(limiter_.has_suppressed(), std::memory_order_relaxed);
    }
    if (v.before.count > 0)
        tell_suppressed(v.before);
    return v.write;
}

void pool_log::report_throw(const char* what_threw, const char* what) noexcept
{
    write(log_kind::exception, no_endpoint, [&] {
        std::string text = what_threw;
        if (what)
            text.append(": ").append(what);
        return text;
    });
}

void pool_log::flush_suppressed(bool all) noexcept
{
    if (!suppressing_.load(std::memory_order_relaxed))
        return;
    try {
        std::vector<sansio::log_rate_limiter::suppressed> told;
        {
            std::lock_guard lock(mutex_);
            limiter_.take_suppressed(clock_.now(), all, told);
            suppressing_.store(limiter_.has_suppressed(), std::memory_order_relaxed);
        }
        for (const auto& s : told)
            tell_suppressed(s);
    } catch (...) { // no memory: told another time
    }
}

// "127.0.0.1:7000: 37 more connect failure messages suppressed in the last 10 s".
void pool_log::tell_suppressed(const sansio::log_rate_limiter::suppressed& s) noexcept
{
    const auto kind = static_cast<log_kind>(s.key.kind);
    try {
        std::string text;
        if (s.key.endpoint < config_.endpoints.size())
            text = to_string(config_.endpoints[s.key.endpoint]) + ": ";
        text += std::to_string(s.count) + " more " + name_of(kind) +
                (s.count == 1 ? " message" : " messages") + " suppressed in the last " +
                seconds_text(s.span);
        deliver(level_of(kind), text);
    } catch (...) {
    }
}

void pool_log::deliver(log_level level, std::string_view text) noexcept
{
    try {
        std::string message;
        message.reserve(config_.name.size() + 2 + text.size());
        message.append(config_.name).append(": ").append(text);
        if (config_.logger)
            config_.logger(level, message);
        else
            write_log_line(level, message);
    } catch (...) { // the application's logger threw, or no memory: nothing to tell it with
    }
}

} // namespace tether::detail
