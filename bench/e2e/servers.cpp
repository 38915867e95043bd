#include "servers.hpp"

#include <vector>

namespace tether_bench {

namespace {

const std::vector<std::string> server_args{"--drain-timeout", "1000"};

} // namespace

bench_servers::bench_servers(const std::string& path, int pin_cpu, bool tls)
    : plain_({path, server_args, pin_cpu})
{
    plain_.start();
    if (!tls)
        return;
    temporary_pki pki; // removed when this constructor returns: the server has read the files
    std::vector<std::string> args = server_args;
    for (std::string& arg : pki.server_args())
        args.push_back(std::move(arg));
    tls_.emplace(server_launch{path, std::move(args), pin_cpu});
    tls_->start(); // returns once the server prints LISTENING, after it loaded its certificate
    ca_pem_ = pki.ca_pem();
}

std::string bench_servers::describe() const
{
    std::string text = "pid " + std::to_string(plain_.pid()) + " port " + std::to_string(port());
    if (tls_)
        text += "; TLS: pid " + std::to_string(tls_->pid()) + " port " + std::to_string(tls_port());
    return text;
}

void bench_servers::terminate(std::chrono::milliseconds grace)
{
    plain_.terminate(grace);
    if (tls_)
        tls_->terminate(grace);
}

} // namespace tether_bench
