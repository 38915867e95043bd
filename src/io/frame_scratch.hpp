#pragma once

// The calling thread's buffer for serializing an outgoing frame before it is copied into a
// link's inbox: its capacity stays for the next frame, so a steady stream of requests from
// one thread serializes without allocating. Large buffers are given back after use.

#include <cstddef>
#include <string>

namespace tether::detail {

class frame_scratch {
public:
    frame_scratch() noexcept : buffer_(thread_buffer()) { buffer_.clear(); }
    ~frame_scratch()
    {
        if (buffer_.capacity() > keep_capacity)
            std::string().swap(buffer_);
    }
    frame_scratch(const frame_scratch&) = delete;
    frame_scratch& operator=(const frame_scratch&) = delete;

    std::string& buffer() noexcept { return buffer_; }

private:
    static constexpr std::size_t keep_capacity = 16 * 1024;

    static std::string& thread_buffer() noexcept
    {
        thread_local std::string buffer;
        return buffer;
    }

    std::string& buffer_;
};

} // namespace tether::detail
