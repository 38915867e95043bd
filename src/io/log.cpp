#include "io/log.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace tether::detail {

namespace {

constexpr std::string_view prefix = "tether: ";

struct sink_slot {
    std::mutex mutex;
    log_sink sink;
};

// Never destroyed: a detached thread may still log while the process exits.
sink_slot& slot()
{
    static auto* instance = new sink_slot;
    return *instance;
}

bool written(log_severity severity) noexcept
{
    return severity == log_severity::warn || severity == log_severity::error;
}

std::string line_of(std::string_view text)
{
    std::string line;
    line.reserve(prefix.size() + text.size() + 1);
    line.append(prefix).append(text).push_back('\n');
    return line;
}

} // namespace

void log_message(log_severity severity, std::string_view text) noexcept
{
    if (!written(severity))
        return;
    try {
        const std::string line = line_of(text);
        {
            sink_slot& s = slot();
            std::lock_guard lock(s.mutex);
            if (s.sink) {
                s.sink(severity, line);
                return;
            }
        }
        // One write of the whole line, so that concurrent lines do not interleave.
        std::fwrite(line.data(), 1, line.size(), stderr);
    } catch (...) { // no memory for the line (or a test sink threw): the same bytes, in pieces
        std::fwrite(prefix.data(), 1, prefix.size(), stderr);
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fputc('\n', stderr);
    }
}

void set_log_sink_for_testing(log_sink sink)
{
    sink_slot& s = slot();
    std::lock_guard lock(s.mutex);
    s.sink = std::move(sink);
}

} // namespace tether::detail
