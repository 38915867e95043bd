#pragma once

// The few declarations the public templates need: type-erased entry points compiled into the
// library, so headers stay light and the implementation lives in src/.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <source_location>

namespace tether {
class lease;
}

namespace tether::detail {

class pool_impl;
class link;

/// Shared by every handle and lease of one pool; when the last one goes, the pool shuts down.
struct pool_anchor;

/// Lets the library construct leases (their constructor is private).
struct lease_access;

using acquire_handler =
    boost::asio::any_completion_handler<void(boost::system::error_code, tether::lease)>;
using request_handler =
    boost::asio::any_completion_handler<void(boost::system::error_code, nlohmann::json)>;

void async_acquire_erased(const std::shared_ptr<pool_anchor>& anchor, acquire_handler handler,
                          const std::source_location& site);
void async_request_erased(const std::shared_ptr<pool_anchor>& anchor,
                          const std::shared_ptr<link>& link, const nlohmann::json& body,
                          request_handler handler);
void async_pool_request_erased(const std::shared_ptr<pool_anchor>& anchor,
                               const nlohmann::json& body, request_handler handler,
                               const std::source_location& site);

} // namespace tether::detail
