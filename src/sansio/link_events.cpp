#include "sansio/link_events.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace tether::sansio {
namespace {

// Cuts `s` to at most `most` bytes without splitting a UTF-8 sequence, marking the cut.
void assign_capped(std::string& to, std::string_view s, std::size_t most)
{
    if (s.size() <= most) {
        to.assign(s);
        return;
    }
    constexpr std::string_view mark = "...";
    std::size_t keep = most - mark.size();
    while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80)
        --keep; // s[keep] continues a sequence: cut before the sequence starts
    to.assign(s.substr(0, keep));
    to.append(mark);
}

std::string milliseconds_text(std::chrono::microseconds d)
{
    char buf[32];
    if (d < std::chrono::milliseconds(10))
        std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(d.count()) / 1000.0);
    else
        std::snprintf(buf, sizeof buf, "%" PRId64 " ms",
                      static_cast<std::int64_t>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
    return buf;
}

std::string with_detail(std::string what, const std::string& detail)
{
    if (!detail.empty())
        what.append(": ").append(detail);
    return what;
}

std::string what_happened(const link_event& e)
{
    switch (e.kind) {
    case link_event_kind::connected:
        return "connected";
    case link_event_kind::proven:
        return "proven, ping RTT " + milliseconds_text(e.value);
    case link_event_kind::connect_failed:
        return with_detail("connect failed", e.detail);
    case link_event_kind::ping_timeout:
        return with_detail("found dead", e.detail);
    case link_event_kind::goaway:
        return with_detail("goaway", e.detail);
    case link_event_kind::closed:
        return with_detail(e.failure ? "lost" : "closed", e.detail);
    case link_event_kind::backoff:
        return "backing off " + milliseconds_text(e.value) + " after " +
               std::to_string(e.failures) + (e.failures == 1 ? " failure" : " failures");
    case link_event_kind::recovered:
        return "recovered after " + std::to_string(e.failures) +
               (e.failures == 1 ? " failure" : " failures");
    case link_event_kind::ejected:
        return with_detail("ejected for " + milliseconds_text(e.value), e.detail);
    case link_event_kind::readmitted:
        return "readmitted";
    }
    return "unknown event";
}

} // namespace

void link_event_ring::push(const link_event_note& note, pool_time at,
                           std::chrono::system_clock::time_point wall)
{
    link_event& e = events_[head_];
    e.kind = note.kind;
    e.at = at;
    e.wall = wall;
    e.link_id = note.link_id;
    e.value = note.value;
    e.failures = note.failures;
    e.failure = note.failure;
    assign_capped(e.detail, note.detail, max_detail); // reuses the slot's capacity
    head_ = (head_ + 1) % capacity;
    if (size_ < capacity)
        ++size_;
}

const link_event* link_event_ring::most_telling() const noexcept
{
    for (std::size_t i = 0; i < size_; ++i)
        if (newest(i).failure)
            return &newest(i);
    return nullptr;
}

std::string describe(const link_event& e)
{
    if (e.link_id == 0)
        return what_happened(e);
    return "link " + std::to_string(e.link_id) + ": " + what_happened(e);
}

std::string relative_time(pool_time at, pool_time now)
{
    // An event recorded by a link just after the caller read the clock reads as now.
    const auto ms = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(now - at).count());
    char buf[40];
    std::snprintf(buf, sizeof buf, "-%" PRId64 ".%03" PRId64 " s", ms / 1000, ms % 1000);
    return buf;
}

std::string wall_time(std::chrono::system_clock::time_point t)
{
    const auto since_epoch = t.time_since_epoch();
    const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
    const std::time_t tt = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count()));
    return buf;
}

} // namespace tether::sansio
