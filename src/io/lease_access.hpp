#pragma once

#include <tether/lease.hpp>

namespace tether::detail {

/// The library's way to make and inspect leases (their constructor is private).
struct lease_access {
    static tether::lease make(std::shared_ptr<pool_anchor> anchor, std::shared_ptr<link> l) noexcept
    {
        return tether::lease(std::move(anchor), std::move(l));
    }
    /// Empties `lease` without dropping its hold on the link: the caller takes the hold over.
    static std::shared_ptr<link> take_link_and_hold(tether::lease& lease) noexcept
    {
        lease.anchor_.reset();
        return std::move(lease.link_);
    }
};

} // namespace tether::detail
