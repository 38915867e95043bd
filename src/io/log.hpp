#pragma once

// The library's one way to report something nobody asked for (an exception escaping a
// handler, an observer that threw): nothing else in tether writes to stderr. Today a warn or
// an error line goes to stderr as "tether: <text>\n" and debug and info are dropped; once the
// pool's logger of design §9 lands, this is where it gets wired in.

#include <functional>
#include <string_view>

namespace tether::detail {

enum class log_severity { debug, info, warn, error };

/// Reports `text` (one line, without the "tether: " prefix or the newline). Never throws.
void log_message(log_severity severity, std::string_view text) noexcept;

/// Receives, instead of stderr, each line log_message would have written there (the whole
/// line: "tether: <text>\n") with its severity. It must not call log_message itself.
using log_sink = std::function<void(log_severity, std::string_view)>;

/// Test seam: routes log_message's output to `sink`; an empty sink restores stderr.
void set_log_sink_for_testing(log_sink sink);

} // namespace tether::detail
