#pragma once

// The library's way to stderr. A pool's messages go through its own logger (io/pool_log.hpp),
// which ends here when the application set none; what happens with no pool at hand (an
// exception escaping a handler of the detached runner) goes through log_message. Nothing else
// in tether writes to stderr.

#include <tether/log.hpp>

#include <functional>
#include <string_view>

namespace tether::detail {

using log_severity = tether::log_level;

/// Reports `text` (one line, without the "tether: " prefix or the newline): a warn or an error
/// is written to stderr as "tether: <text>\n", debug and info are dropped. Never throws.
void log_message(log_severity severity, std::string_view text) noexcept;

/// Writes `line` and a newline to stderr in one write, whatever the severity. Never throws.
void write_log_line(log_severity severity, std::string_view line) noexcept;

/// Receives, instead of stderr, each line that would have been written there (the whole line,
/// newline included) with its severity. It must not log itself.
using log_sink = std::function<void(log_severity, std::string_view)>;

/// Test seam: routes the output of log_message and write_log_line to `sink`; an empty sink
/// restores stderr.
void set_log_sink_for_testing(log_sink sink);

} // namespace tether::detail
