#pragma once

// The pool's logger (design.md §9): what the library has to say, by level, to a function of
// the application's or, by default, to stderr.

#include <functional>
#include <string_view>

namespace tether {

/// How much a message matters, least first.
enum class log_level {
    debug, ///< one link's life: each connect and close of a healthy link
    info,  ///< the pool's life: goaway, backoff started, an endpoint recovered
    warn,  ///< something went wrong and the pool copes: a failed connect, a dead link, a
           ///< lease held too long, dropped notifies, a shutdown that cut work off
    error, ///< application code misbehaved: a handler or observer threw
};

/// "debug", "info", "warn" or "error".
const char* to_string(log_level level) noexcept;

/// Receives each message of a pool at or above its minimum level: one line of text, starting
/// with the pool's name and ": " (the pool's default name is "tether"), no newline. Called
/// from the pool's io threads and from threads calling into the pool, possibly several at
/// once, never under a pool lock; it must not block for long. An exception it throws is
/// swallowed.
using log_function = std::function<void(log_level level, std::string_view message)>;

} // namespace tether
