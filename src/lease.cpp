#include "io/frame_scratch.hpp"
#include "io/link.hpp"
#include "io/pool_impl.hpp"
#include "io/sync_wait.hpp"
#include "sansio/message.hpp"

#include <tether/lease.hpp>

namespace tether {

lease& lease::operator=(lease&& other) noexcept
{
    if (this != &other) {
        release();
        anchor_ = std::move(other.anchor_);
        link_ = std::move(other.link_);
    }
    return *this;
}

lease::~lease()
{
    release();
}

void lease::release() noexcept
{
    if (link_) {
        detail::link* l = link_.get();
        l->hold_release(std::move(link_), &anchor_); // the pool may keep anchor_ for reuse
    }
    anchor_.reset(); // may be the last reference: then the pool shuts down
}

void lease::discard() noexcept
{
    if (link_)
        link_->mark_discard();
    release();
}

std::uint64_t lease::link_id() const noexcept
{
    return link_ ? link_->id() : 0;
}

nlohmann::json lease::request(const nlohmann::json& body, std::error_code& ec)
{
    ec.clear();
    if (!link_ || !anchor_) {
        ec = errc::invalid_lease;
        return nullptr;
    }
    ec = detail::blocking_call_refusal(anchor_);
    if (ec)
        return nullptr;
    detail::sync_wait<nlohmann::json> wait;
    detail::start_request(anchor_, link_, body, wait.handler(),
                          detail::completion_mode::inline_for_blocking_caller);
    return wait.get(ec);
}

nlohmann::json lease::request(const nlohmann::json& body)
{
    std::error_code ec;
    nlohmann::json reply = request(body, ec);
    detail::throw_if_request_failed(ec, reply);
    return reply;
}

void lease::notify(const nlohmann::json& body, std::error_code& ec)
{
    ec.clear();
    if (!link_ || !anchor_) {
        ec = errc::invalid_lease;
        return;
    }
    const auto& impl = *anchor_->impl;
    if (impl.closed()) {
        ec = errc::pool_closed;
        return;
    }
    if (!link_->accepting()) {
        ec = link_->refusal();
        return;
    }
    detail::frame_scratch frame;
    if (const auto sec =
            wire::serialize(wire::notify{body}, frame.buffer(), impl.config().max_frame_size)) {
        ec = sec;
        return;
    }
    link_->submit_notify(frame.buffer());
}

void lease::notify(const nlohmann::json& body)
{
    std::error_code ec;
    notify(body, ec);
    if (ec)
        throw error(ec, "tether: notify failed"); // what() appends ": " + ec.message()
}

} // namespace tether
