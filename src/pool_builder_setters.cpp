// The setters of pool_builder: each stores its value; nothing is checked until build().

#include <tether/pool_builder.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace tether {

pool_builder& pool_builder::name(std::string pool_name)
{
    config_.name = std::move(pool_name);
    return *this;
}

pool_builder& pool_builder::endpoint(std::string host, std::uint16_t port)
{
    config_.endpoints.push_back(tether::endpoint{std::move(host), port});
    return *this;
}

pool_builder& pool_builder::min_connections(std::size_t n)
{
    config_.min_connections = n;
    return *this;
}

pool_builder& pool_builder::max_connections(std::size_t n)
{
    config_.max_connections = n;
    return *this;
}

pool_builder& pool_builder::io_threads(unsigned n)
{
    config_.io_threads = n;
    io_threads_set_ = true;
    return *this;
}

pool_builder& pool_builder::executor(boost::asio::any_io_executor ex)
{
    config_.executor = std::move(ex);
    return *this;
}

pool_builder& pool_builder::acquire_timeout(std::chrono::milliseconds d)
{
    config_.acquire_timeout = d;
    return *this;
}

pool_builder& pool_builder::max_waiters(std::size_t n)
{
    config_.max_waiters = n;
    return *this;
}

pool_builder& pool_builder::connect_timeout(std::chrono::milliseconds d)
{
    config_.connect_timeout = d;
    return *this;
}

pool_builder& pool_builder::request_timeout(std::chrono::milliseconds d)
{
    config_.request_timeout = d;
    return *this;
}

pool_builder& pool_builder::ping_interval(std::chrono::milliseconds d)
{
    config_.ping_interval = d;
    return *this;
}

pool_builder& pool_builder::ping_timeout(std::chrono::milliseconds d)
{
    config_.ping_timeout = d;
    return *this;
}

pool_builder& pool_builder::backoff(std::chrono::milliseconds initial, double multiplier,
                                    std::chrono::milliseconds max, double jitter)
{
    config_.backoff = backoff_policy{initial, multiplier, max, jitter};
    return *this;
}

pool_builder& pool_builder::tcp_keepalive(std::chrono::seconds idle, std::chrono::seconds interval,
                                          int count)
{
    config_.tcp_keepalive = tcp_keepalive_policy{idle, interval, count};
    return *this;
}

pool_builder& pool_builder::tcp_user_timeout(std::chrono::milliseconds d)
{
    config_.tcp_user_timeout = d;
    return *this;
}

pool_builder& pool_builder::dead_peer_budget(std::chrono::milliseconds budget)
{
    using std::chrono::seconds;
    config_.ping_timeout = budget / 3;
    config_.ping_interval = budget - config_.ping_timeout;
    config_.tcp_user_timeout = budget;
    // Keep-alive only backs the pings up (a pool whose io threads are starved, say): whole
    // seconds within what the kernel takes (1 .. 32767).
    const auto whole_seconds = [](std::chrono::milliseconds d) {
        return std::clamp(std::chrono::duration_cast<seconds>(d), seconds(1), seconds(32767));
    };
    config_.tcp_keepalive =
        tcp_keepalive_policy{whole_seconds(budget / 2), whole_seconds(budget / 6), 3};
    return *this;
}

pool_builder& pool_builder::max_frame_size(std::uint32_t bytes)
{
    config_.max_frame_size = bytes;
    return *this;
}

pool_builder& pool_builder::max_json_depth(std::size_t levels)
{
    config_.max_json_depth = levels;
    return *this;
}

pool_builder& pool_builder::drain_timeout(std::chrono::milliseconds d)
{
    config_.drain_timeout = d;
    return *this;
}

pool_builder& pool_builder::max_concurrent_connects(std::size_t n)
{
    config_.max_concurrent_connects = n;
    return *this;
}

pool_builder& pool_builder::max_lifetime(std::chrono::milliseconds d)
{
    config_.max_lifetime = d;
    return *this;
}

pool_builder& pool_builder::idle_timeout(std::chrono::milliseconds d)
{
    config_.idle_timeout = d;
    return *this;
}

pool_builder& pool_builder::max_outstanding_per_link(std::size_t n)
{
    config_.max_outstanding_per_link = n;
    return *this;
}

pool_builder& pool_builder::max_queued_notifies(std::size_t n)
{
    config_.max_queued_notifies = n;
    return *this;
}

pool_builder& pool_builder::lease_warn_threshold(std::chrono::milliseconds d)
{
    config_.lease_warn_threshold = d;
    return *this;
}

pool_builder& pool_builder::on_notify(notify_handler handler)
{
    config_.on_notify = std::move(handler);
    return *this;
}

pool_builder& pool_builder::observer(std::shared_ptr<pool_observer> obs)
{
    config_.observer = std::move(obs);
    return *this;
}

pool_builder& pool_builder::logger(log_level min, log_function fn)
{
    config_.log_min = min;
    config_.logger = std::move(fn);
    return *this;
}

pool_builder& pool_builder::resolver(resolve_function resolve)
{
    config_.resolver = std::move(resolve);
    return *this;
}

pool_builder& pool_builder::init_request(nlohmann::json body)
{
    config_.init_request = [body = std::move(body)](const tether::endpoint&) { return body; };
    return *this;
}

pool_builder& pool_builder::init_request(init_request_function make_body)
{
    config_.init_request = std::move(make_body);
    return *this;
}

pool_builder& pool_builder::fail_fast(bool on)
{
    config_.fail_fast = on;
    return *this;
}

pool_builder& pool_builder::tls(tls_options options)
{
    config_.tls = std::move(options);
    return *this;
}

} // namespace tether
