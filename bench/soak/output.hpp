#pragma once

// One line to stdout at a time, from any thread.

#include <cstdio>
#include <mutex>
#include <string_view>

namespace soak {

inline void say(std::string_view line)
{
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

} // namespace soak
