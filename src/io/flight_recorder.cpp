#include "io/flight_recorder.hpp"

namespace tether::detail {

void flight_recorder::record(std::size_t endpoint, const sansio::link_event_note& note,
                             clock_time at) noexcept
{
    if (endpoint >= rings_.size())
        return;
    const auto wall = std::chrono::system_clock::now();
    std::lock_guard lock(mutex_);
    try {
        rings_[endpoint].push(note, at, wall);
    } catch (...) { // no memory for the detail: the event without it
        sansio::link_event_note bare = note;
        bare.detail = {};
        rings_[endpoint].push(bare, at, wall);
    }
}

void flight_recorder::write_recent(std::size_t endpoint, clock_time now, std::string_view indent,
                                   std::ostream& os) const
{
    if (endpoint >= rings_.size())
        return;
    std::lock_guard lock(mutex_);
    const auto& ring = rings_[endpoint];
    for (std::size_t i = 0; i < ring.size(); ++i) {
        const auto& e = ring.newest(i);
        os << '\n'
           << indent << sansio::relative_time(e.at, now) << "  " << sansio::wall_time(e.wall)
           << "  " << sansio::describe(e);
    }
}

std::string flight_recorder::most_telling(std::size_t endpoint, clock_time now) const
{
    if (endpoint >= rings_.size())
        return {};
    std::lock_guard lock(mutex_);
    const auto* e = rings_[endpoint].most_telling();
    if (!e)
        return {};
    std::string age = sansio::relative_time(e->at, now); // "-1.234 s"
    if (!age.empty() && age.front() == '-')
        age.erase(0, 1);
    return age + " ago: " + sansio::describe(*e);
}

} // namespace tether::detail
