#include "server_probe.hpp"

#include "process_metrics.hpp"

#include <nlohmann/json.hpp>

namespace tether_scale {
namespace {

constexpr auto probe_period = std::chrono::milliseconds(100);
constexpr std::chrono::seconds probe_timeout{5};
constexpr auto slow = std::chrono::milliseconds(500);

std::string frame_of(const std::string& payload)
{
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string out(4, '\0');
    out[0] = static_cast<char>((n >> 24) & 0xff);
    out[1] = static_cast<char>((n >> 16) & 0xff);
    out[2] = static_cast<char>((n >> 8) & 0xff);
    out[3] = static_cast<char>(n & 0xff);
    return out + payload;
}

} // namespace

server_probe::server_probe(std::uint16_t port, bool tls) : link_(port, tls, probe_timeout)
{
    thread_ = std::thread([this] { run(); });
}

server_probe::~server_probe()
{
    stop_.store(true);
    link_.interrupt(); // wakes a blocked receive
    thread_.join();
}

void server_probe::run()
{
    std::uint64_t id = 0;
    bool broken = false;
    auto next = clock::now();
    while (!stop_.load()) {
        const auto sent = clock::now();
        const bool ok = !broken && ping_once(++id);
        const auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - sent);
        if (stop_.load())
            break;
        broken = broken || !ok;
        {
            std::lock_guard lock(mutex_);
            samples_.push_back({sent, ok ? rtt : std::chrono::microseconds(-1)});
        }
        cpu_us_.store(thread_usage().cpu.count());
        next += probe_period;
        std::this_thread::sleep_until(std::max(next, clock::now()));
    }
    cpu_us_.store(thread_usage().cpu.count());
}

bool server_probe::ping_once(std::uint64_t id)
{
    const std::string out = frame_of(nlohmann::json{{"type", "ping"}, {"id", id}}.dump());
    if (!link_.send_all(out))
        return false;
    for (;;) {
        while (inbox_.size() >= 4) {
            const auto* u = reinterpret_cast<const unsigned char*>(inbox_.data());
            const std::size_t n = (std::size_t{u[0]} << 24) | (std::size_t{u[1]} << 16) |
                                  (std::size_t{u[2]} << 8) | std::size_t{u[3]};
            if (inbox_.size() < 4 + n)
                break;
            const auto msg = nlohmann::json::parse(inbox_.substr(4, n), nullptr, false);
            inbox_.erase(0, 4 + n);
            if (msg.is_object() && msg.value("type", "") == "pong" &&
                msg.value("id", std::uint64_t{0}) == id)
                return true;
        }
        char buf[512];
        const std::size_t r = link_.receive(buf, sizeof buf);
        if (r == 0)
            return false; // closed, broken, or no pong within probe_timeout
        inbox_.append(buf, r);
    }
}

server_probe::window server_probe::between(clock::time_point from, clock::time_point to) const
{
    window w;
    std::lock_guard lock(mutex_);
    for (const auto& s : samples_) {
        if (s.sent < from || s.sent >= to)
            continue;
        ++w.samples;
        if (s.rtt.count() < 0) {
            ++w.failures;
            continue;
        }
        if (s.rtt >= slow)
            ++w.slow;
        w.max_rtt = std::max(w.max_rtt, s.rtt);
    }
    return w;
}

} // namespace tether_scale
