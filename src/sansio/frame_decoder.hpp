#pragma once

// Incremental decoder of protocol v1 frames: a 4-byte big-endian length, then that many
// payload bytes. Sans-io: the caller reads from wherever it likes into prepare() and commits
// what arrived; next() yields complete payloads. A bad length is rejected from the header
// alone, before any buffer of the claimed size exists.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace tether::wire {

inline constexpr std::size_t frame_header_size = 4;
inline constexpr std::uint32_t default_max_frame_size = 4u << 20;

enum class decode_status {
    frame,     ///< a complete payload is available
    need_more, ///< read more bytes and commit them
    error,     ///< the stream is broken for good (zero length or length over the limit)
};

class frame_decoder {
public:
    /// `read_chunk` is how much free space prepare() offers when no large frame is pending.
    explicit frame_decoder(std::uint32_t max_frame_size = default_max_frame_size,
                           std::size_t read_chunk = 8 * 1024);

    /// Free space to read into; at least `min_free` bytes (or more when a frame whose header
    /// is known needs more). Invalidates payloads returned earlier.
    std::span<char> prepare(std::size_t min_free = 0);

    /// Marks `n` bytes of the span from prepare() as received.
    void commit(std::size_t n) noexcept { end_ += n; }

    /// Copies `bytes` in (tests and fuzzers; a socket reads into prepare() instead).
    void feed(std::string_view bytes);

    /// Next complete payload. On `frame`, `payload` views the decoder's buffer and stays valid
    /// until the next prepare()/feed(). On `error`, `ec` is errc::protocol_error (length 0) or
    /// errc::frame_too_large, and every later call returns the same error.
    decode_status next(std::string_view& payload, boost::system::error_code& ec);

    /// The next complete payload without taking it (next() then returns the same one); empty
    /// while none is complete, or when the stream is broken (next() says how).
    std::optional<std::string_view> peek() const noexcept;

    /// Bytes received but not yet returned as payloads (a partial frame at EOF = truncation).
    std::size_t buffered() const noexcept { return end_ - begin_; }

    /// Bytes of buffer currently allocated (for memory accounting and tests).
    std::size_t capacity() const noexcept { return capacity_; }

    /// Frees the buffer when it holds nothing; an idle connection then costs no read buffer.
    void release_if_empty() noexcept;

    std::uint32_t max_frame_size() const noexcept { return max_frame_size_; }

private:
    void reserve_free(std::size_t free_bytes);

    std::unique_ptr<char[]> buf_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0; // first unconsumed byte
    std::size_t end_ = 0;   // one past the last received byte
    std::uint32_t max_frame_size_;
    std::size_t read_chunk_;
    boost::system::error_code error_;
};

/// Reads a big-endian 32-bit length from 4 bytes.
inline std::uint32_t read_frame_length(const char* p) noexcept
{
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) |
           std::uint32_t{u[3]};
}

/// Writes a big-endian 32-bit length into 4 bytes.
inline void write_frame_length(char* p, std::uint32_t length) noexcept
{
    p[0] = static_cast<char>((length >> 24) & 0xff);
    p[1] = static_cast<char>((length >> 16) & 0xff);
    p[2] = static_cast<char>((length >> 8) & 0xff);
    p[3] = static_cast<char>(length & 0xff);
}

} // namespace tether::wire
