#include "test_pki.hpp"

#include <tether/testing/certificates.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace tether_bench {

temporary_pki::temporary_pki()
{
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tether-bench-pki-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("cannot make a directory like " + pattern + ": " +
                                 std::strerror(errno));
    dir_ = pattern;
    try {
        ca_pem_ = tether::testing::write_test_pki(dir_).cert_pem();
    } catch (...) {
        remove();
        throw;
    }
}

temporary_pki::~temporary_pki()
{
    remove();
}

std::vector<std::string> temporary_pki::server_args() const
{
    return {"--tls-cert", dir_ + "/server.pem", "--tls-key", dir_ + "/server.key"};
}

void temporary_pki::remove() noexcept
{
    if (dir_.empty())
        return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
}

} // namespace tether_bench
