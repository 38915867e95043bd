// Micro-benchmarks of the pool against the reference server (a child process, so that the
// allocation counts "allocs/op" are the client's alone) on loopback.
//
//   BM_AcquireRelease      acquire + release of an idle link (the pool's fast path), 1 and 2
//   threads BM_ClosedLoopRequest   one lease, one blocking 64-byte request per iteration (round
//   trip) BM_PipelinedRequests   one lease, 64 async_requests in flight per iteration
//
// Timings are wall-clock (UseRealTime): the caller mostly waits on the io threads and the
// server, so its own CPU time would overstate the rates. Run time per benchmark follows
// --benchmark_min_time (0.5 s by default), e.g. `tether_bench --benchmark_min_time=0.2`.

#include "alloc_counter.hpp"
#include "server_process.hpp"

#include <tether/tether.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// The server and the pool, built once and shared by every benchmark and thread; torn down
// explicitly by main() before static destruction.
struct environment {
    tether_bench::server_process server{{TETHER_ECHO_SERVER_PATH, {"--threads", "2"}, -1}};
    tether::pool pool;

    environment()
    {
        server.start();
        pool = tether::pool_builder{}
                   .endpoint("127.0.0.1", server.port())
                   .min_connections(2)
                   .max_connections(4)
                   .io_threads(2)
                   .acquire_timeout(5s)
                   .connect_timeout(2s)
                   .request_timeout(5s)
                   .build();
        if (!pool.wait_ready(5s))
            throw std::runtime_error("pool not ready: " + pool.diagnostics());
    }

    void teardown()
    {
        pool.shutdown(2s);
        pool = tether::pool{};
        server.terminate(std::chrono::seconds(2));
    }
};

std::unique_ptr<environment>& env_slot()
{
    static std::unique_ptr<environment> env;
    return env;
}

// The shared environment, built on first use; nullptr (and the benchmark skipped) if the
// server or the pool could not be started.
environment* env(benchmark::State& state)
{
    static std::once_flag once;
    static std::string failure;
    std::call_once(once, [] {
        try {
            env_slot() = std::make_unique<environment>();
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    if (!env_slot())
        state.SkipWithError(("set-up failed: " + failure).c_str());
    return env_slot().get();
}

// {"data":"xxx..."} serialized to exactly `bytes` bytes.
json body_of_size(std::size_t bytes)
{
    const std::size_t overhead = json{{"data", ""}}.dump().size();
    return json{{"data", std::string(bytes > overhead ? bytes - overhead : 0, 'x')}};
}

void BM_AcquireRelease(benchmark::State& state)
{
    environment* e = env(state);
    if (e == nullptr)
        return;
    tether::pool& pool = e->pool;
    std::error_code ec;
    const tether_bench::alloc_scope allocs;
    for (auto _ : state) {
        tether::lease lease = pool.acquire(ec);
        if (ec) {
            state.SkipWithError(("acquire: " + ec.message()).c_str());
            break;
        }
        lease.release();
    }
    state.counters["allocs/op"] = allocs.per_op(static_cast<std::uint64_t>(state.iterations()));
    state.counters["acquires/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AcquireRelease)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_ClosedLoopRequest(benchmark::State& state)
{
    environment* e = env(state);
    if (e == nullptr)
        return;
    tether::pool& pool = e->pool;
    const json body = body_of_size(64);
    std::error_code ec;
    tether::lease lease = pool.acquire(ec);
    if (ec) {
        state.SkipWithError(("acquire: " + ec.message()).c_str());
        return;
    }
    const tether_bench::alloc_scope allocs;
    for (auto _ : state) {
        json reply = lease.request(body, ec);
        if (ec) {
            state.SkipWithError(("request: " + ec.message()).c_str());
            break;
        }
        benchmark::DoNotOptimize(reply);
    }
    state.counters["allocs/op"] = allocs.per_op(static_cast<std::uint64_t>(state.iterations()));
    lease.release();
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
    state.counters["requests/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ClosedLoopRequest)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Completion count of one iteration's batch; lives across iterations, outlives every handler.
struct batch_sync {
    std::mutex m;
    std::condition_variable cv;
    std::size_t remaining = 0;
    std::atomic<std::uint64_t> errors{0};

    void one_done(bool ok)
    {
        if (!ok)
            errors.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(m); // notify under the lock: the waiter cannot return before
        if (--remaining == 0)
            cv.notify_one();
    }
};

void BM_PipelinedRequests(benchmark::State& state)
{
    constexpr std::size_t in_flight = 64;
    environment* e = env(state);
    if (e == nullptr)
        return;
    tether::pool& pool = e->pool;
    const json body = body_of_size(64);
    std::error_code ec;
    tether::lease lease = pool.acquire(ec);
    if (ec) {
        state.SkipWithError(("acquire: " + ec.message()).c_str());
        return;
    }
    batch_sync sync;
    const tether_bench::alloc_scope allocs;
    for (auto _ : state) {
        {
            std::lock_guard lock(sync.m);
            sync.remaining = in_flight;
        }
        for (std::size_t i = 0; i < in_flight; ++i)
            lease.async_request(
                body, [&sync](boost::system::error_code rec, json) { sync.one_done(!rec); });
        std::unique_lock lock(sync.m);
        sync.cv.wait(lock, [&] { return sync.remaining == 0; }); // request_timeout bounds this
    }
    lease.release();
    if (const auto errors = sync.errors.load(); errors != 0)
        state.SkipWithError((std::to_string(errors) + " requests failed").c_str());
    const auto items = static_cast<std::int64_t>(in_flight) * state.iterations();
    state.counters["allocs/op"] = allocs.per_op(static_cast<std::uint64_t>(items));
    state.SetItemsProcessed(items);
    state.SetBytesProcessed(items * 64);
    state.counters["requests/s"] =
        benchmark::Counter(static_cast<double>(items), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PipelinedRequests)->UseRealTime()->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (auto& e = env_slot()) {
        e->teardown();
        e.reset();
    }
    return 0;
}
