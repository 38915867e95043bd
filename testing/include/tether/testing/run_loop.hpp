#pragma once

// Threads running an io_context, for the reference server and the tools around it: the one
// place that decides what happens when a handler throws.

#include <boost/asio/io_context.hpp>

#include <string>
#include <string_view>
#include <thread>

namespace tether::testing {

/// Runs `io` on the calling thread until it runs out of work or is stopped. An exception that
/// escapes a handler is reported on stderr as "<who>: handler threw: <what>" and `io` runs on:
/// one failing handler must not take a server thread, and with it the process, down.
void run_io_loop(boost::asio::io_context& io, std::string_view who);

/// A new thread doing run_io_loop(io, who).
std::thread start_io_thread(boost::asio::io_context& io, std::string who);

} // namespace tether::testing
