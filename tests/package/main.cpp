// Links against tether as an outside project would and checks the basics work.
#include <tether/tether.hpp>

#include <cstdio>

int main()
{
    std::error_code ec = tether::errc::pool_closed;
    if (ec != tether::errc::pool_closed || ec.category().name() != std::string("tether")) {
        std::puts("tether consumer: error code round trip FAILED");
        return 1;
    }
    std::printf("tether consumer: linked tether %s (%s)\n", TETHER_VERSION_STRING,
                ec.message().c_str());
    return 0;
}
