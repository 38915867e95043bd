// async_client: tether's asynchronous API two ways.
//   1. Callbacks: async_acquire, then several async_requests pipelined on one lease; their
//      completions arrive on the pool's io threads, in any order, matched by id.
//   2. C++20 coroutines: co_spawn on the caller's own io_context with use_awaitable; the
//      coroutines resume on that io_context, errors arrive as exceptions.
// Exits 0 when every reply matched its request, 1 otherwise.
//   async_client [--endpoint host:port]    default: an in-process echo server on 127.0.0.1

#include <tether/testing/echo_server.hpp>
#include <tether/testing/endpoint_arg.hpp>
#include <tether/tether.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace asio = boost::asio;

namespace {

// ---------------------------------------------------------------------------------------------
// 1. Callbacks
// ---------------------------------------------------------------------------------------------

// What the callbacks share with main(): owned by a shared_ptr, so that a late callback could
// never touch a dead stack frame even if main() gave up waiting.
struct callback_run {
    static constexpr int pipelined = 8;
    std::atomic<int> completed{0};
    std::atomic<int> failures{0};
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    tether::lease lease; // kept until the last reply, then released

    void finish()
    {
        std::lock_guard lock(m);
        done = true;
        cv.notify_all();
    }
};

bool callbacks_example(tether::pool& pool)
{
    auto run = std::make_shared<callback_run>();
    pool.async_acquire([run](boost::system::error_code ec, tether::lease lease) {
        // Runs on one of the pool's io threads: never block here.
        if (ec) {
            std::cout << "  async_acquire failed: " << ec.message() << '\n';
            run->failures.fetch_add(1);
            run->finish();
            return;
        }
        std::cout << "  acquired link " << lease.link_id() << "; sending " << run->pipelined
                  << " pipelined requests\n";
        run->lease = std::move(lease);
        for (int i = 0; i < callback_run::pipelined; ++i) {
            json body{{"op", "echo"}, {"seq", i}};
            run->lease.async_request(body, [run, body](boost::system::error_code rec, json reply) {
                if (rec) {
                    std::cout << "  request " << body["seq"] << " failed: " << rec.message()
                              << '\n';
                    run->failures.fetch_add(1);
                } else if (reply != body) {
                    std::cout << "  request " << body["seq"] << ": wrong reply " << reply.dump()
                              << '\n';
                    run->failures.fetch_add(1);
                } else {
                    std::cout << "  reply " << reply.dump() << '\n';
                }
                if (run->completed.fetch_add(1) + 1 == callback_run::pipelined) {
                    run->lease.release(); // the link goes back to the pool
                    run->finish();
                }
            });
        }
    });

    std::unique_lock lock(run->m);
    if (!run->cv.wait_for(lock, 15s, [&] { return run->done; })) {
        std::cout << "  timed out waiting for the callbacks\n";
        return false;
    }
    std::cout << "  " << run->completed.load() << " of " << callback_run::pipelined
              << " requests completed, " << run->failures.load() << " failed\n";
    return run->failures.load() == 0 && run->completed.load() == callback_run::pipelined;
}

// ---------------------------------------------------------------------------------------------
// 2. Coroutines
// ---------------------------------------------------------------------------------------------

// One worker: leases a link, sends `count` requests one after another, checks every echo.
asio::awaitable<int> worker(tether::pool pool, int id, int count)
{
    tether::lease lease = co_await pool.async_acquire(asio::use_awaitable);
    int ok = 0;
    for (int i = 0; i < count; ++i) {
        // g++ 12 rejects a braced initializer list inside a co_await expression: name the body.
        const json body{{"op", "echo"}, {"worker", id}, {"seq", i}};
        const json reply = co_await lease.async_request(body, asio::use_awaitable);
        if (reply == body)
            ++ok;
        else
            std::cout << "  worker " << id << ": wrong reply " << reply.dump() << '\n';
    }
    std::cout << "  worker " << id << " on link " << lease.link_id() << ": " << ok << '/' << count
              << " echoes matched\n";
    co_return ok;
}

// The same in one call: pool.async_request acquires, requests and releases.
asio::awaitable<bool> one_shot(tether::pool pool)
{
    const json body{{"op", "echo"}, {"data", "one-shot"}};
    const json reply = co_await pool.async_request(body, asio::use_awaitable);
    std::cout << "  pool.async_request: " << reply.dump() << '\n';
    co_return reply == body;
}

bool coroutines_example(tether::pool& pool)
{
    constexpr int workers = 3;
    constexpr int per_worker = 5;
    asio::io_context caller; // the caller's own event loop: the coroutines resume here
    int matched = 0;
    int failures = 0;
    for (int w = 0; w < workers; ++w)
        asio::co_spawn(caller, worker(pool, w, per_worker), [&](std::exception_ptr e, int ok) {
            // Runs on `caller`, like the coroutine itself: no locking needed.
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    std::cout << "  worker failed: " << ex.what() << '\n';
                }
                ++failures;
            }
            matched += ok;
        });
    asio::co_spawn(caller, one_shot(pool), [&](std::exception_ptr e, bool ok) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cout << "  one-shot request failed: " << ex.what() << '\n';
            }
            ++failures;
        } else if (!ok) {
            std::cout << "  one-shot request: wrong reply\n";
            ++failures;
        }
    });
    caller.run(); // returns once every coroutine has finished
    std::cout << "  " << matched << " of " << workers * per_worker << " echoes matched\n";
    return failures == 0 && matched == workers * per_worker;
}

} // namespace

int main(int argc, char** argv)
try {
    std::unique_ptr<tether::testing::echo_server> server;
    tether::endpoint ep;
    if (argc == 3 && std::string(argv[1]) == "--endpoint") {
        ep = tether::testing::parse_endpoint_arg(argv[2], "--endpoint");
    } else if (argc != 1) {
        std::cerr << "usage: " << argv[0] << " [--endpoint host:port]\n";
        return 2;
    } else {
        server = std::make_unique<tether::testing::echo_server>();
        server->start();
        ep = {"127.0.0.1", server->port()};
        std::cout << "started the in-process echo server on " << tether::to_string(ep) << '\n';
    }

    tether::pool pool = tether::pool_builder{}
                            .endpoint(ep.host, ep.port)
                            .min_connections(1)
                            .max_connections(4)
                            .io_threads(2)
                            .acquire_timeout(5s)
                            .connect_timeout(2s)
                            .request_timeout(5s)
                            .build();

    std::cout << "callbacks:\n";
    const bool callbacks_ok = callbacks_example(pool);
    std::cout << "coroutines:\n";
    const bool coroutines_ok = coroutines_example(pool);

    std::cout << "stats: " << pool.stats() << '\n';
    pool.shutdown(5s);
    const bool ok = callbacks_ok && coroutines_ok;
    std::cout << (ok ? "OK" : "FAILED") << '\n';
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "async_client: " << e.what() << '\n';
    return 1;
}
