// The baseline's side of each workload and of the connect section: the hand-written Asio client
// (bench/raw_asio_client).

#include "connect_cost.hpp"
#include "raw_client.hpp"
#include "workloads.hpp"

#include <memory>
#include <optional>
#include <stdexcept>

using json = nlohmann::json;

namespace tether_bench {

namespace {

// `links` connections, over TLS verifying the test CA's certificate for 127.0.0.1.
std::unique_ptr<raw_client> make_client(std::size_t links, bool tls, const run_settings& s)
{
    std::optional<raw_tls> tls_settings;
    if (tls)
        tls_settings = raw_tls{s.ca_pem};
    return std::make_unique<raw_client>("127.0.0.1", tls ? s.tls_port : s.port, links, s.io_threads,
                                        std::move(tls_settings));
}

} // namespace

run_result run_raw(const workload& w, const run_settings& s)
{
    const std::unique_ptr<raw_client> made = make_client(w.links, w.tls, s);
    raw_client& client = *made;
    const json body = body_of_size(w.body_bytes);
    if (client.request(body) != body) // one check outside the timed part: the echo is right
        throw std::runtime_error("raw client: the echo differs from the request");

    run_result r;
    if (!w.pipelined) {
        // One caller per connection: each owns its own. More callers: they share a free list.
        const bool owned = w.callers <= w.links;
        r = closed_loop(w.callers, s.timing, s.server_pid_of(w), [&](std::size_t caller) {
            if (owned)
                client.request(caller, body);
            else
                client.request(body);
        });
    } else {
        r = pipelined(
            w.depth, s.timing, s.server_pid_of(w),
            [&](auto done) {
                client.async_request(0, body,
                                     [done](boost::system::error_code ec, json) { done(!ec); });
            },
            [&] { client.shutdown(); });
    }
    client.shutdown();
    return r;
}

connect_result connect_raw(std::size_t links, bool tls, const run_settings& s)
{
    return time_connects(
        links, [&] { return make_client(links, tls, s); },
        [](std::unique_ptr<raw_client>& client) { client->shutdown(); });
}

} // namespace tether_bench
