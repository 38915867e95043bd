#pragma once

// A fast path for the most frequent frames of an idle pool: ping and pong in the exact form
// protocol.md shows and every tether peer writes, `{"type":"pong","id":7}` (or with `id`
// first). With thousands of links pinged every second, a full JSON parse and a DOM per pong
// are most of the parsing work; these bytes need neither. Anything else, including the same
// message with spaces, extra members or escapes, returns nothing and takes the full parser,
// so the fast path only ever agrees with it.

#include "sansio/message.hpp"

#include <optional>
#include <string_view>

namespace tether::wire {

/// A ping or pong in canonical form, else nothing (the caller parses it in full).
std::optional<message> parse_canonical_control(std::string_view payload) noexcept;

} // namespace tether::wire
