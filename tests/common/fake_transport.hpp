#pragma once

// A scriptable transport for the link driver's tests (the transport seam of
// src/io/transport.hpp): no sockets. The test holds each connection's fake_wire and plays the
// peer: completes or refuses the connect, delivers bytes in any slicing, ends the stream,
// resets it, stalls or fails writes, limits how much a direct send takes. Completions are
// posted to the link's strand, as a real transport's are.

#include "io/transport.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/message.hpp"

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tether::test {

class fake_transport;

struct fake_wire {
    // ---- script (set before the link gets there, or call the functions later) ----------------
    /// The connect's result when it is asked for; nullopt: it hangs until complete_connect().
    std::optional<boost::system::error_code> connect_result = boost::system::error_code{};
    /// Bytes a direct send (write_now) takes at most per call: partial writes.
    std::size_t write_now_limit = std::numeric_limits<std::size_t>::max();
    /// Writes wait for release_writes() instead of completing.
    bool stall_writes = false;
    /// The next write (direct or queued) fails with this.
    boost::system::error_code write_error;

    // ---- what the link did -------------------------------------------------------------------
    std::string written; ///< every byte the link wrote, in order
    bool connect_asked = false;
    bool closed = false;
    std::chrono::milliseconds close_grace{-1}; ///< what the link gave close() (-1: not closed)

    // ---- the peer's actions ------------------------------------------------------------------
    void complete_connect(boost::system::error_code ec = {});
    /// Bytes from the peer; they complete a pending read (several reads if the buffer is small).
    void deliver(std::string_view bytes);
    void end_of_stream();
    void reset();
    void release_writes();
    /// Frames the link wrote (length prefix removed), taken from `written`.
    std::vector<std::string> take_frames();

    fake_transport* transport = nullptr;
};

/// `m` as one frame, as a server would send it.
std::string encode_frame(const wire::message& m);

/// The factory to put in a link_context: every new link gets the next wire of `wires` (or a
/// fresh one), appended to `made`.
detail::transport_factory
fake_transport_factory(std::shared_ptr<std::deque<std::shared_ptr<fake_wire>>> wires,
                       std::shared_ptr<std::vector<std::shared_ptr<fake_wire>>> made);

} // namespace tether::test
