// quickstart: lease a pooled connection, send one request, print the reply and the pool's stats.
//   quickstart [--endpoint host:port]    default: an in-process echo server on 127.0.0.1
#include <tether/testing/echo_server.hpp>
#include <tether/testing/endpoint_arg.hpp>
#include <tether/tether.hpp>

#include <exception>
#include <iostream>
#include <memory>
#include <string>

static void run(const std::string& host, std::uint16_t port)
{
    // [quickstart] (shown in the README as written: not reformatted)
    // clang-format off
    using namespace std::chrono_literals;
    tether::pool pool = tether::pool_builder{}
        .endpoint(host, port)
        .max_connections(4)
        .acquire_timeout(2s)
        .request_timeout(5s)
        .build();                                   // tether::config_error on a bad setting

    tether::lease lease = pool.acquire();           // tether::error on failure
    nlohmann::json reply = lease.request({{"op", "echo"}, {"data", "hi"}});
    std::cout << "reply: " << reply.dump() << '\n';
    lease.notify({{"event", "hello"}});             // one-way: no reply
    lease.release();                                // the link goes back to the pool

    std::cout << "stats: " << pool.stats() << '\n';
    pool.shutdown(5s);
    // clang-format on
    // [/quickstart]
}

int main(int argc, char** argv)
try {
    std::unique_ptr<tether::testing::echo_server> server; // only without --endpoint
    tether::endpoint ep;
    if (argc == 3 && std::string(argv[1]) == "--endpoint") {
        ep = tether::testing::parse_endpoint_arg(argv[2], "--endpoint");
    } else {
        server = std::make_unique<tether::testing::echo_server>();
        server->start();
        ep = {"127.0.0.1", server->port()};
        std::cout << "started the in-process echo server on " << tether::to_string(ep) << '\n';
    }
    run(ep.host, ep.port);
    return 0;
} catch (const std::exception& e) {
    std::cerr << "quickstart: " << e.what() << '\n';
    return 1;
}
