// Micro-benchmarks of the sans-io layer, each with its heap allocations per operation
// (counter "allocs/op", from the counting operator new in common/alloc_counter.cpp):
//
//   BM_FrameEncodeRequest   a request with a 64 B / 4 KiB body serialized into a reused buffer
//   BM_FrameDecode          a 64 B / 4 KiB frame fed to the decoder and taken out again
//   BM_ParseResponse        a response payload validated and decoded (the JSON value itself
//                           must allocate: that is the "beyond the JSON values" part)
//   BM_RequestTable         one insert + one take of a pending request, table kept warm

#include "alloc_counter.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"
#include "sansio/request_table.hpp"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

using json = nlohmann::json;
using tether_bench::alloc_scope;

json body_of_size(std::size_t bytes)
{
    const std::size_t overhead = json{{"data", ""}}.dump().size();
    return json{{"data", std::string(bytes > overhead ? bytes - overhead : 0, 'x')}};
}

void report_allocs(benchmark::State& state, const alloc_scope& scope)
{
    state.counters["allocs/op"] = scope.per_op(static_cast<std::uint64_t>(state.iterations()));
}

void BM_FrameEncodeRequest(benchmark::State& state)
{
    const json body = body_of_size(static_cast<std::size_t>(state.range(0)));
    std::string out;
    std::uint64_t id = 1;
    out.reserve(8192);
    const alloc_scope scope;
    for (auto _ : state) {
        out.clear();
        const auto ec = tether::wire::serialize_request(id++, body, out, 1u << 20);
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(out.data());
    }
    report_allocs(state, scope);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_FrameEncodeRequest)->Arg(64)->Arg(4096);

void BM_FrameDecode(benchmark::State& state)
{
    const json body = body_of_size(static_cast<std::size_t>(state.range(0)));
    std::string frame;
    (void)tether::wire::serialize_response(7, body, frame, 1u << 20);
    tether::wire::frame_decoder decoder(1u << 20);
    std::string_view payload;
    boost::system::error_code ec;
    const alloc_scope scope;
    for (auto _ : state) {
        decoder.feed(frame);
        const auto status = decoder.next(payload, ec);
        benchmark::DoNotOptimize(status);
        benchmark::DoNotOptimize(payload.data());
    }
    report_allocs(state, scope);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(frame.size()));
}
BENCHMARK(BM_FrameDecode)->Arg(64)->Arg(4096);

void BM_ParseResponse(benchmark::State& state)
{
    const json body = body_of_size(static_cast<std::size_t>(state.range(0)));
    const std::string payload = json{{"type", "response"}, {"id", 12345}, {"body", body}}.dump();
    const alloc_scope scope;
    for (auto _ : state) {
        auto parsed = tether::wire::parse(payload, {tether::wire::sender::server, 64});
        benchmark::DoNotOptimize(parsed.msg);
    }
    report_allocs(state, scope);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(payload.size()));
}
BENCHMARK(BM_ParseResponse)->Arg(64)->Arg(4096);

void BM_RequestTable(benchmark::State& state)
{
    // A move-only stand-in for the stored completion handler.
    struct pending {
        std::uint64_t cookie;
    };
    tether::sansio::request_table<pending> table;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
    std::uint64_t id = 1;
    // Warm: a few entries stay outstanding, like a pipelined link.
    for (; id <= 16; ++id)
        table.insert(id, pending{id}, deadline);
    const alloc_scope scope;
    for (auto _ : state) {
        table.insert(id, pending{id}, deadline);
        auto taken = table.take(id - 16);
        benchmark::DoNotOptimize(taken);
        ++id;
    }
    report_allocs(state, scope);
}
BENCHMARK(BM_RequestTable);

} // namespace
