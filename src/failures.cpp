// The exceptions of failed operations, made in one place for the blocking calls (which throw
// them) and for with_diagnostics (which hands them to the completion): both say the same.

#include "io/pool_impl.hpp"

#include <tether/error.hpp>
#include <tether/with_diagnostics.hpp>

namespace tether::detail {
namespace {

// Why acquires fail right now, in one line (what pool::acquire's what() says).
std::string failure_report_of(const std::shared_ptr<pool_anchor>& anchor)
{
    return anchor && anchor->impl ? " [" + anchor->impl->failure_report() + "]" : std::string();
}

} // namespace

std::exception_ptr acquire_exception(const std::shared_ptr<pool_anchor>& anchor,
                                     const boost::system::error_code& ec)
{
    // what() appends ": " + the code's message
    return std::make_exception_ptr(error(ec, "tether: acquire failed" + failure_report_of(anchor)));
}

std::exception_ptr request_exception(const std::shared_ptr<pool_anchor>& anchor,
                                     const boost::system::error_code& ec,
                                     const nlohmann::json& reply)
{
    if (ec == errc::server_error) {
        const bool has_error = reply.is_object();
        return std::make_exception_ptr(
            server_error(has_error ? reply.value("code", std::int64_t{0}) : 0,
                         has_error ? reply.value("message", std::string()) : std::string()));
    }
    // A pool::request whose acquire failed explains itself, as pool::acquire does.
    const bool acquire_failed = ec == errc::acquire_timeout || ec == errc::no_endpoint_available;
    return std::make_exception_ptr(
        error(ec, "tether: request failed" +
                      (acquire_failed ? failure_report_of(anchor) : std::string())));
}

} // namespace tether::detail
