// quickstart: lease a pooled connection, send one request, print the reply and the pool's stats.
//   quickstart [--endpoint host:port]    default: an in-process echo server on 127.0.0.1
#include <tether/testing/echo_server.hpp>
#include <tether/tether.hpp>

#include <exception>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

static void run(const std::string& host, std::uint16_t port)
{
    // [quickstart]
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
    // [/quickstart]
}

int main(int argc, char** argv)
try {
    std::unique_ptr<tether::testing::echo_server> server; // only without --endpoint
    std::string host = "127.0.0.1";
    unsigned long port = 0;
    if (argc == 3 && std::string(argv[1]) == "--endpoint") {
        const std::string ep = argv[2];                   // host:port
        host = ep.substr(0, ep.rfind(':'));
        port = std::stoul(ep.substr(ep.rfind(':') + 1));  // throws on a missing port
        if (port > 65535) throw std::out_of_range("port " + std::to_string(port));
    } else {
        server = std::make_unique<tether::testing::echo_server>();
        server->start();
        port = server->port();
        std::cout << "started the in-process echo server on 127.0.0.1:" << port << '\n';
    }
    run(host, static_cast<std::uint16_t>(port));
    return 0;
} catch (const std::exception& e) {
    std::cerr << "quickstart: " << e.what() << '\n';
    return 1;
}
