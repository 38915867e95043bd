#pragma once

#include <tether/lease.hpp>

namespace tether::detail {

/// The library's way to make and inspect leases (their constructor is private).
struct lease_access {
    static tether::lease make(std::shared_ptr<pool_anchor> anchor, std::shared_ptr<link> l) noexcept
    {
        return tether::lease(std::move(anchor), std::move(l));
    }
};

} // namespace tether::detail
