#include <tether/testing/run_loop.hpp>

#include <exception>
#include <iostream>
#include <utility>

namespace tether::testing {

void run_io_loop(boost::asio::io_context& io, std::string_view who)
{
    for (;;) {
        try {
            io.run();
            return;
        } catch (const std::exception& e) {
            // run() may be called again after a handler threw: the rest of the work is intact.
            std::cerr << who << ": handler threw: " << e.what() << '\n';
        }
    }
}

std::thread start_io_thread(boost::asio::io_context& io, std::string who)
{
    return std::thread([&io, who = std::move(who)] { run_io_loop(io, who); });
}

} // namespace tether::testing
