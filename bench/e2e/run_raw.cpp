// The baseline's side of each workload: the hand-written Asio client (bench/raw_asio_client).

#include "raw_client.hpp"
#include "workloads.hpp"

#include <stdexcept>

using json = nlohmann::json;

namespace tether_bench {

run_result run_raw(const workload& w, const run_settings& s)
{
    raw_client client("127.0.0.1", s.port, w.links, s.io_threads);
    const json body = body_of_size(w.body_bytes);
    if (client.request(body) != body) // one check outside the timed part: the echo is right
        throw std::runtime_error("raw client: the echo differs from the request");

    run_result r;
    if (!w.pipelined) {
        // One caller per connection: each owns its own. More callers: they share a free list.
        const bool owned = w.callers <= w.links;
        r = closed_loop(w.callers, s.timing, [&](std::size_t caller) {
            if (owned)
                client.request(caller, body);
            else
                client.request(body);
        });
    } else {
        r = pipelined(
            w.depth, s.timing,
            [&](auto done) {
                client.async_request(0, body,
                                     [done](boost::system::error_code ec, json) { done(!ec); });
            },
            [&] { client.shutdown(); });
    }
    client.shutdown();
    return r;
}

} // namespace tether_bench
