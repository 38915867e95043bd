// Links against tether as an outside project would and checks the basics work: error codes,
// the builder's validation, and a real pool that fails cleanly against a closed port.
#include <tether/tether.hpp>

#include <boost/asio/io_service.hpp> // a deprecated Asio name: tether must not forbid it

#include <chrono>
#include <cstdio>
#include <string>

int main()
{
    using namespace std::chrono_literals;
    boost::asio::io_service legacy; // existing application code keeps compiling
    legacy.poll();
    std::error_code ec = tether::errc::pool_closed;
    if (ec != tether::errc::pool_closed || ec.category().name() != std::string("tether")) {
        std::puts("tether consumer: error code round trip FAILED");
        return 1;
    }
    try {
        (void)tether::pool_builder{}.build();
        std::puts("tether consumer: build() accepted a config without endpoints");
        return 1;
    } catch (const tether::config_error& e) {
        std::printf("tether consumer: config_error as expected (%s)\n", e.what());
    }
    // Port 1 on loopback: nothing listens, so connects are refused and acquire fails fast.
    tether::pool pool = tether::pool_builder{}
                            .endpoint("127.0.0.1", 1)
                            .io_threads(1)
                            .acquire_timeout(3s)
                            .backoff(1s, 2.0, 5s, 0.1)
                            .build();
    std::error_code acquire_ec;
    tether::lease lease = pool.acquire(acquire_ec);
    if (lease.valid() || !acquire_ec) {
        std::puts("tether consumer: acquire against a closed port did not fail");
        return 1;
    }
    std::printf("tether consumer: linked tether %s; acquire failed cleanly: %s [%s]\n",
                TETHER_VERSION_STRING, acquire_ec.message().c_str(), pool.diagnostics().c_str());
    pool.shutdown(1s);

    // TLS links OpenSSL through the package: a missing trust file is named at build().
    tether::tls_options tls;
    tls.ca_file = "/nonexistent/ca.pem";
    try {
        (void)tether::pool_builder{}.endpoint("127.0.0.1", 1).tls(tls).build();
        std::puts("tether consumer: build() accepted a missing tls.ca_file");
        return 1;
    } catch (const tether::config_error& e) {
        if (e.setting() != std::string("tls.ca_file")) {
            std::printf("tether consumer: wrong setting named: %s\n", e.what());
            return 1;
        }
        std::printf("tether consumer: TLS config_error as expected (%s)\n", e.what());
    }
    return 0;
}
