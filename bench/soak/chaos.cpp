#include "chaos.hpp"

#include "outcome.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <string_view>
#include <thread>
#include <utility>

namespace soak {

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using mode = tether::test::fault_proxy::mode;

constexpr auto term_grace = 3s; // SIGTERM, then SIGKILL (the server drains within 1 s)

struct weighted_fault {
    std::string_view name;
    int weight;
};

constexpr std::array<weighted_fault, 11> faults{{
    {"restart_term", 12},
    {"restart_kill", 8},
    {"suspend", 14},
    {"cut_rst", 12},
    {"cut_fin", 10},
    {"blackhole", 12},
    {"delay", 8},
    {"link_reset", 8},
    {"link_close", 6},
    {"link_hang", 4},
    {"link_goaway", 6},
}};

std::string with_ms(std::string_view name, std::chrono::milliseconds d)
{
    return std::string(name) + " " + std::to_string(d.count()) + " ms";
}

} // namespace

chaos::chaos(tether_bench::server_process& server, tether::test::fault_proxy& proxy,
             tether::pool pool, ledger& book, std::uint64_t seed, std::function<bool()> stopping)
    : server_(server), proxy_(proxy), pool_(std::move(pool)), book_(book), rng_(seed),
      stopping_(std::move(stopping))
{
}

std::chrono::milliseconds chaos::between(int min_ms, int max_ms)
{
    const auto span = static_cast<std::uint64_t>(max_ms - min_ms + 1);
    return std::chrono::milliseconds(min_ms + static_cast<int>(rng_() % span));
}

std::chrono::milliseconds chaos::next_pause()
{
    return between(1500, 4000);
}

void chaos::pause(std::chrono::milliseconds d)
{
    const auto until = clock::now() + d;
    while (!stopping_() && clock::now() < until)
        std::this_thread::sleep_for(std::min<clock::duration>(20ms, until - clock::now()));
}

std::string chaos::inject_one()
{
    int total = 0;
    for (const auto& f : faults)
        total += f.weight;
    int r = static_cast<int>(rng_() % static_cast<std::uint64_t>(total));
    std::string_view name = faults.back().name;
    for (const auto& f : faults) {
        if (r < f.weight) {
            name = f.name;
            break;
        }
        r -= f.weight;
    }
    ++counts_[std::string(name)];

    if (name == "restart_term" || name == "restart_kill") {
        const auto down = between(100, 1000);
        restart(name == "restart_kill", down);
        return with_ms(name, down) + " down";
    }
    if (name == "suspend") {
        const auto d = between(500, 3000);
        server_.suspend();
        pause(d);
        server_.resume();
        return with_ms(name, d);
    }
    if (name == "cut_rst" || name == "cut_fin") {
        proxy_.cut_all(name == "cut_rst");
        return std::string(name);
    }
    if (name == "blackhole") {
        const auto d = between(100, 1500);
        proxy_.set_mode(mode::blackhole);
        pause(d);
        proxy_.set_mode(mode::pass);
        return with_ms(name, d);
    }
    if (name == "delay") {
        const auto by = between(20, 300);
        const auto d = between(1000, 3000);
        proxy_.set_delay(by);
        pause(d);
        proxy_.set_delay(0ms);
        return with_ms(name, by) + " for " + std::to_string(d.count()) + " ms";
    }
    link_fault(name == "link_reset"   ? "reset"
               : name == "link_close" ? "close"
               : name == "link_hang"  ? "hang"
                                      : "goaway");
    return std::string(name);
}

void chaos::restart(bool kill, std::chrono::milliseconds down)
{
    if (kill)
        server_.kill();
    else
        server_.terminate(term_grace);
    pause(down);
    server_.start(server_.port());
}

void chaos::link_fault(const char* control)
{
    const json body = {{"chaos", control}, {"$test", {{control, true}}}};
    const auto t = book_.issue(op_kind::chaos_request, false);
    std::error_code ec;
    const json reply = pool_.request(body, ec);
    book_.complete(t, ec ? outcome_of(ec) : reply == body ? "ok" : wrong_reply);
}

void chaos::heal()
{
    proxy_.set_mode(mode::pass);
    proxy_.set_delay(0ms);
    if (server_.suspended())
        server_.resume();
    if (!server_.running())
        server_.start(server_.port());
}

} // namespace soak
