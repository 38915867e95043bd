#include "demo_tls.hpp"

#include <tether/testing/certificates.hpp>

namespace demo {

tether::tls_options client_options(const tls_args& args)
{
    tether::tls_options o;
    o.ca_file = args.ca_file;
    o.cert_file = args.cert_file;
    o.key_file = args.key_file;
    o.server_name = args.server_name;
    return o;
}

std::string use_own_certificates(tether::testing::echo_server_options& server,
                                 tether::tls_options& client)
{
    const tether::testing::test_ca ca("tether demo CA");
    tether::testing::certificate_spec spec;
    spec.common_name = "localhost";
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1"};
    const auto issued = ca.issue(spec);
    tether::testing::echo_server_tls tls;
    tls.cert_pem = issued.cert_pem;
    tls.key_pem = issued.key_pem;
    server.tls = std::move(tls);
    client.ca_file.clear();
    client.ca_pem = ca.cert_pem();
    return "TLS with certificates made just now: a demo CA, and a certificate for localhost and "
           "127.0.0.1 it issued; the pool trusts that CA and verifies the name";
}

} // namespace demo
