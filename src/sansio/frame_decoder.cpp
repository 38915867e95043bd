#include "sansio/frame_decoder.hpp"

#include <tether/error.hpp>

#include <algorithm>
#include <cstring>

namespace tether::wire {

frame_decoder::frame_decoder(std::uint32_t max_frame_size, std::size_t read_chunk)
    : max_frame_size_(max_frame_size), read_chunk_(std::max<std::size_t>(read_chunk, 16))
{
}

void frame_decoder::reserve_free(std::size_t free_bytes)
{
    if (capacity_ - end_ >= free_bytes)
        return;
    const std::size_t used = end_ - begin_;
    if (capacity_ - used >= free_bytes && begin_ > 0) {
        std::memmove(buf_.get(), buf_.get() + begin_, used);
    } else {
        // Default-initialised (not zeroed) storage: we only ever read what was committed.
        const std::size_t new_capacity = std::max(used + free_bytes, capacity_ * 2);
        auto bigger = std::make_unique_for_overwrite<char[]>(new_capacity);
        if (used > 0)
            std::memcpy(bigger.get(), buf_.get() + begin_, used);
        buf_ = std::move(bigger);
        capacity_ = new_capacity;
    }
    begin_ = 0;
    end_ = used;
}

std::span<char> frame_decoder::prepare(std::size_t min_free)
{
    if (begin_ == end_)
        begin_ = end_ = 0;
    std::size_t want = std::max(min_free, read_chunk_);
    // A large pending frame gets room in proportion to what has actually arrived (doubling),
    // never its claimed size up front: a peer that sends bare headers costs a read chunk, not
    // max_frame_size, while a real large frame is still read with few calls.
    if (!error_ && buffered() >= frame_header_size) {
        const std::uint32_t length = read_frame_length(buf_.get() + begin_);
        if (length != 0 && length <= max_frame_size_) {
            const std::size_t frame_end = frame_header_size + length;
            if (frame_end > buffered())
                want = std::max(want, std::min(frame_end - buffered(), buffered()));
        }
    }
    reserve_free(want);
    return {buf_.get() + end_, capacity_ - end_};
}

std::optional<std::string_view> frame_decoder::peek() const noexcept
{
    if (error_ || buffered() < frame_header_size)
        return std::nullopt;
    const std::uint32_t length = read_frame_length(buf_.get() + begin_);
    if (length == 0 || length > max_frame_size_ || buffered() - frame_header_size < length)
        return std::nullopt;
    return std::string_view(buf_.get() + begin_ + frame_header_size, length);
}

void frame_decoder::feed(std::string_view bytes)
{
    while (!bytes.empty()) {
        auto space = prepare(bytes.size());
        const std::size_t n = std::min(space.size(), bytes.size());
        std::memcpy(space.data(), bytes.data(), n);
        commit(n);
        bytes.remove_prefix(n);
    }
}

decode_status frame_decoder::next(std::string_view& payload, boost::system::error_code& ec)
{
    if (error_) {
        ec = error_;
        return decode_status::error;
    }
    if (buffered() < frame_header_size)
        return decode_status::need_more;
    const std::uint32_t length = read_frame_length(buf_.get() + begin_);
    if (length == 0 || length > max_frame_size_) {
        error_ = length == 0 ? make_error_code(errc::protocol_error)
                             : make_error_code(errc::frame_too_large);
        ec = error_;
        return decode_status::error;
    }
    if (buffered() < frame_header_size + length)
        return decode_status::need_more;
    payload = std::string_view(buf_.get() + begin_ + frame_header_size, length);
    begin_ += frame_header_size + length;
    return decode_status::frame;
}

void frame_decoder::release_if_empty() noexcept
{
    if (begin_ == end_) {
        buf_.reset();
        capacity_ = begin_ = end_ = 0;
    }
}

} // namespace tether::wire
