#include "load.hpp"

#include "outcome.hpp"

#include <tether/error.hpp>
#include <tether/lease.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>

namespace soak {

namespace {

namespace asio = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::int64_t soak_error_code = 4242; // asked of the server by error bodies
constexpr auto batch_wait_limit = 20s; // then a caller moves on; the ledger still tracks the ops
constexpr std::string_view unavailable = "no_endpoint_available"; // fails fast: back off a little

/// A request body and what its reply must be.
struct request_plan {
    json body;
    bool timed = false;       ///< a plain echo: its latency counts when sent on a lease
    bool wants_error = false; ///< the server must answer with soak_error_code
};

/// The outcome of a request: "ok" only for the very body sent back (or the error asked for).
template <class Code> std::string judge(const request_plan& plan, const Code& ec, const json& reply)
{
    if (ec == tether::errc::server_error)
        return plan.wants_error && reply.is_object() &&
                       reply.value("code", std::int64_t{0}) == soak_error_code
                   ? "server_error"
                   : wrong_reply;
    if (ec)
        return outcome_of(ec);
    return !plan.wants_error && reply == plan.body ? "ok" : wrong_reply;
}

/// The asynchronous operations of one caller still pending.
class batch {
public:
    void add()
    {
        std::lock_guard lock(mutex_);
        ++pending_;
    }
    void done()
    {
        std::lock_guard lock(mutex_);
        --pending_;
        cv_.notify_all();
    }
    /// Records an outcome: "no_endpoint_available" makes the caller back off.
    void note(std::string_view outcome)
    {
        if (outcome == unavailable)
            unavailable_.store(true);
    }
    bool saw_unavailable() const { return unavailable_.load(); }

    /// True once none is pending; false when `until` passes first.
    bool wait_until(clock::time_point until)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_until(lock, until, [&] { return pending_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int pending_ = 0;
    std::atomic<bool> unavailable_{false};
};

/// A cancellation to emit at a deadline (a short per-operation timeout).
struct deadline_cancel {
    clock::time_point at;
    std::shared_ptr<asio::cancellation_signal> signal;
};

class caller {
public:
    caller(tether::pool& pool, ledger& book, std::uint64_t seed, unsigned index,
           const std::atomic<bool>& stop)
        : pool_(pool), book_(book), rng_(seed), index_(index), stop_(stop)
    {
    }

    void run()
    {
        while (!stop_.load()) {
            const int r = pick(100);
            if (r < 20)
                blocking_lease();
            else if (r < 40)
                blocking_one_shot();
            else if (r < 65)
                pipelined_lease();
            else if (r < 85)
                async_one_shots();
            else
                cancelled_acquire();
            std::this_thread::sleep_for(std::chrono::microseconds(pick(1000)));
            if (unavailable_) { // every endpoint backs off: so does an application
                std::this_thread::sleep_for(std::chrono::milliseconds(5 + pick(16)));
                unavailable_ = false;
            }
        }
    }

private:
    int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }

    request_plan next_request()
    {
        request_plan p;
        p.body = {{"caller", index_}, {"seq", seq_++}};
        const int r = pick(100);
        if (r < 90) {
            p.body["pad"] =
                std::string(static_cast<std::size_t>(pick(513)), static_cast<char>('a' + pick(26)));
            p.timed = true;
        } else if (r < 94) {
            const int ms = r < 93 ? 10 + pick(400) : 900 + pick(400); // 1 s request timeout
            p.body["$test"] = {{"sleep_ms", ms}};
        } else if (r < 97) {
            p.body["$test"] = {{"error", {{"code", soak_error_code}, {"message", "soak"}}}};
            p.wants_error = true;
        } else if (r < 99) {
            p.body["$test"] = {{"notify", 1 + pick(3)}};
        } else {
            p.body["$test"] = {{"goaway", true}};
        }
        return p;
    }

    tether::lease acquire()
    {
        const auto t = book_.issue(op_kind::acquire, false);
        std::error_code ec;
        tether::lease l = pool_.acquire(ec);
        finish(t, ec ? outcome_of(ec) : l ? "ok" : wrong_reply);
        return l;
    }

    void blocking_lease()
    {
        tether::lease l = acquire();
        if (!l)
            return;
        const int n = 1 + pick(3);
        for (int i = 0; i < n; ++i) {
            const request_plan plan = next_request();
            const auto t = book_.issue(op_kind::lease_request, plan.timed);
            std::error_code ec;
            const json reply = l.request(plan.body, ec);
            finish(t, judge(plan, ec, reply));
        }
        const int end = pick(10);
        if (end == 0)
            l.discard();
        else if (end < 5)
            l.release();
        // else the destructor gives it back
    }

    void blocking_one_shot()
    {
        const request_plan plan = next_request();
        const auto t = book_.issue(op_kind::pool_request, false);
        std::error_code ec;
        const json reply = pool_.request(plan.body, ec);
        finish(t, judge(plan, ec, reply));
    }

    /// Issues one asynchronous request through `initiate(body, handler)`; one in `cancel_one_in`
    /// gets a deadline at which it is cancelled.
    template <class Initiate>
    void issue_request(op_kind kind, const std::shared_ptr<batch>& pending,
                       std::vector<deadline_cancel>& cancels, int cancel_one_in, Initiate initiate)
    {
        request_plan plan = next_request();
        const auto t = book_.issue(kind, plan.timed && kind == op_kind::lease_async_request);
        pending->add();
        const json body = plan.body;
        auto on_done = [&book = book_, pending, t,
                        plan = std::move(plan)](boost::system::error_code ec, json reply) {
            const std::string outcome = judge(plan, ec, reply);
            book.complete(t, outcome);
            pending->note(outcome);
            pending->done();
        };
        if (pick(cancel_one_in) == 0) {
            auto signal = std::make_shared<asio::cancellation_signal>();
            cancels.push_back({clock::now() + std::chrono::milliseconds(20 + pick(281)), signal});
            // The handler keeps the signal alive as long as the operation may look at it.
            initiate(body, asio::bind_cancellation_slot(
                               signal->slot(), [on_done = std::move(on_done),
                                                signal](boost::system::error_code ec, json reply) {
                                   on_done(ec, std::move(reply));
                               }));
        } else {
            initiate(body, std::move(on_done));
        }
    }

    /// Waits for `pending`, emitting each cancellation when its deadline comes.
    void wait_emitting(batch& pending, std::vector<deadline_cancel>& cancels)
    {
        std::sort(cancels.begin(), cancels.end(),
                  [](const deadline_cancel& a, const deadline_cancel& b) { return a.at < b.at; });
        const auto limit = clock::now() + batch_wait_limit;
        std::size_t next = 0;
        for (;;) {
            const auto until = next < cancels.size() ? std::min(cancels[next].at, limit) : limit;
            if (pending.wait_until(until) || clock::now() >= limit)
                break;
            for (; next < cancels.size() && cancels[next].at <= clock::now(); ++next)
                cancels[next].signal->emit(asio::cancellation_type::terminal);
        }
        if (pending.saw_unavailable())
            unavailable_ = true;
    }

    void pipelined_lease()
    {
        tether::lease l = acquire();
        if (!l)
            return;
        auto pending = std::make_shared<batch>();
        std::vector<deadline_cancel> cancels;
        const int n = 2 + pick(7);
        for (int i = 0; i < n; ++i)
            issue_request(op_kind::lease_async_request, pending, cancels, 5,
                          [&l](const json& body, auto&& handler) {
                              l.async_request(body, std::forward<decltype(handler)>(handler));
                          });
        switch (pick(3)) {
        case 0:
            l.release();
            break; // early: the requests still complete
        case 1: {
            tether::lease moved = std::move(l);
            break;
        } // dropped while in flight
        default:
            break; // held until they complete
        }
        wait_emitting(*pending, cancels);
    }

    void async_one_shots()
    {
        auto pending = std::make_shared<batch>();
        std::vector<deadline_cancel> cancels;
        const int n = 1 + pick(4);
        for (int i = 0; i < n; ++i)
            issue_request(op_kind::pool_async_request, pending, cancels, 6,
                          [this](const json& body, auto&& handler) {
                              pool_.async_request(body, std::forward<decltype(handler)>(handler));
                          });
        wait_emitting(*pending, cancels);
    }

    void cancelled_acquire()
    {
        auto pending = std::make_shared<batch>();
        auto signal = std::make_shared<asio::cancellation_signal>();
        const auto t = book_.issue(op_kind::async_acquire, false);
        pending->add();
        pool_.async_acquire(asio::bind_cancellation_slot(
            signal->slot(),
            [&book = book_, pending, t, signal](boost::system::error_code ec, tether::lease l) {
                const std::string outcome = ec ? outcome_of(ec) : l ? "ok" : wrong_reply;
                book.complete(t, outcome);
                pending->note(outcome);
                pending->done(); // `l` goes back to the pool here, on an io thread
            }));
        std::this_thread::sleep_for(std::chrono::microseconds(pick(3000)));
        std::vector<deadline_cancel> cancels;
        if (pick(2) == 0)
            cancels.push_back({clock::now(), signal});
        wait_emitting(*pending, cancels);
    }

    /// Records the completion of a blocking operation.
    void finish(const ledger::ticket& t, const std::string& outcome)
    {
        book_.complete(t, outcome);
        if (outcome == unavailable)
            unavailable_ = true;
    }

    tether::pool& pool_;
    ledger& book_;
    std::mt19937_64 rng_;
    unsigned index_;
    const std::atomic<bool>& stop_;
    std::uint64_t seq_ = 0;
    bool unavailable_ = false; ///< the last step met no_endpoint_available
};

} // namespace

load::load(tether::pool pool, ledger& book, std::uint64_t seed, unsigned callers)
    : pool_(std::move(pool)), book_(book), running_(callers)
{
    for (unsigned i = 0; i < callers; ++i)
        threads_.emplace_back([this, seed, i] { run_caller(i, seed + 1 + i); });
}

load::~load()
{
    request_stop();
    if (!join(std::chrono::milliseconds(30'000)))
        for (auto& t : threads_)
            if (t.joinable())
                t.detach(); // stuck: the soak reports the hang and exits without waiting
}

bool load::join(std::chrono::milliseconds limit)
{
    {
        std::unique_lock lock(mutex_);
        if (!finished_cv_.wait_for(lock, limit, [&] { return running_ == 0; }))
            return false;
    }
    for (auto& t : threads_)
        if (t.joinable())
            t.join();
    return true;
}

void load::run_caller(unsigned index, std::uint64_t seed)
{
    try {
        caller(pool_, book_, seed, index, stop_).run();
    } catch (const std::exception& e) {
        caller_errors_.fetch_add(1);
        std::cerr << "tether_soak: caller " << index << " stopped by an exception: " << e.what()
                  << '\n';
    }
    std::lock_guard lock(mutex_);
    --running_;
    finished_cv_.notify_all();
}

} // namespace soak
