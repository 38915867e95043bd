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

void write_pieces(std::string_view a, std::string_view b) noexcept
{
    std::fwrite(a.data(), 1, a.size(), stderr);
    std::fwrite(b.data(), 1, b.size(), stderr);
    std::fputc('\n', stderr);
}

// `head` + `text` + newline as one line, to the test sink or in one write to stderr, so that
// concurrent lines do not interleave.
void write_line(log_severity severity, std::string_view head, std::string_view text) noexcept
{
    try {
        std::string line;
        line.reserve(head.size() + text.size() + 1);
        line.append(head).append(text).push_back('\n');
        {
            sink_slot& s = slot();
            std::lock_guard lock(s.mutex);
            if (s.sink) {
                s.sink(severity, line);
                return;
            }
        }
        std::fwrite(line.data(), 1, line.size(), stderr);
    } catch (...) { // no memory for the line (or a test sink threw): the same bytes, in pieces
        write_pieces(head, text);
    }
}

} // namespace

void log_message(log_severity severity, std::string_view text) noexcept
{
    if (written(severity))
        write_line(severity, prefix, text);
}

void write_log_line(log_severity severity, std::string_view line) noexcept
{
    write_line(severity, {}, line);
}

void set_log_sink_for_testing(log_sink sink)
{
    sink_slot& s = slot();
    std::lock_guard lock(s.mutex);
    s.sink = std::move(sink);
}

} // namespace tether::detail
