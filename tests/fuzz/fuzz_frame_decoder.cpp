// libFuzzer target for wire::frame_decoder.
//
// Input layout: 4 configuration bytes, then the byte stream to decode.
//   [0] max_frame_size: 0..127 -> 64 + b (64..191, for "just above the limit" cases),
//       128..255 -> 64 << ((b - 128) % 15) (64 B .. 1 MiB)
//   [1] read_chunk: 16 << (b % 11) (16 B .. 16 KiB)
//   [2..3] seed of the chunking pattern (chunk sizes, feed() vs prepare()/commit(),
//       prepare's min_free, release_if_empty() calls)
//
// The stream is decoded three ways and all must agree: a trivial reference model walking the
// headers, a decoder fed everything at once, and a decoder fed in chunks. Invariants are
// checked with __builtin_trap():
//   - payloads are 1..max_frame_size bytes and are the bytes the model expects;
//   - buffered() is exactly bytes received minus bytes handed out;
//   - capacity() stays proportional to what actually arrived (never the claimed length);
//   - once `error`, always `error` with the same code, and the code is the one the model
//     predicts (protocol_error for length 0, frame_too_large over the limit).

#include "sansio/frame_decoder.hpp"

#include <tether/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using tether::wire::decode_status;
using tether::wire::frame_decoder;
using tether::wire::frame_header_size;

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

enum class outcome { need_more, too_small, too_large };

struct expectation {
    std::vector<std::string_view> payloads; // views into the input
    outcome end = outcome::need_more;
};

// The protocol's framing, as plainly as it can be written.
expectation model(std::string_view stream, std::uint32_t max_frame_size)
{
    expectation e;
    while (stream.size() >= frame_header_size) {
        const std::uint32_t length = tether::wire::read_frame_length(stream.data());
        if (length == 0) {
            e.end = outcome::too_small;
            return e;
        }
        if (length > max_frame_size) {
            e.end = outcome::too_large;
            return e;
        }
        if (stream.size() - frame_header_size < length)
            break;
        e.payloads.push_back(stream.substr(frame_header_size, length));
        stream.remove_prefix(frame_header_size + length);
    }
    return e;
}

// xorshift32: a reproducible chunking pattern from two input bytes.
struct rng {
    std::uint32_t state;
    std::uint32_t next()
    {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : next() % n; }
};

struct decoder_run {
    frame_decoder dec;
    std::size_t read_chunk;
    std::size_t received = 0;    // bytes committed so far
    std::size_t handed_out = 0;  // header + payload bytes of the frames returned
    std::size_t largest_ask = 0; // largest min_free passed to prepare() (feed() passes its size)
    std::vector<std::string> payloads;
    boost::system::error_code error;

    decoder_run(std::uint32_t max_frame_size, std::size_t chunk)
        : dec(max_frame_size, chunk), read_chunk(std::max<std::size_t>(chunk, 16))
    {
    }

    // Growth is by doubling from what is buffered plus what was asked for, so capacity stays
    // below 2 * (buffered + max(ask, read_chunk, buffered)); `received` bounds `buffered`.
    void check_capacity() const
    {
        const std::size_t ask = std::max(largest_ask, read_chunk);
        const std::size_t bound = 2 * received + 2 * std::max(ask, received) + frame_header_size;
        FUZZ_CHECK(dec.capacity() <= bound);
    }

    void drain()
    {
        for (;;) {
            std::string_view payload;
            boost::system::error_code ec;
            const auto status = dec.next(payload, ec);
            if (status == decode_status::need_more) {
                FUZZ_CHECK(!error);
                FUZZ_CHECK(!ec);
                break;
            }
            if (status == decode_status::error) {
                FUZZ_CHECK(ec);
                FUZZ_CHECK(ec == tether::errc::protocol_error ||
                           ec == tether::errc::frame_too_large);
                if (error)
                    FUZZ_CHECK(ec == error);
                error = ec;
                // Sticky: asking again changes nothing.
                std::string_view again;
                boost::system::error_code ec2;
                FUZZ_CHECK(dec.next(again, ec2) == decode_status::error);
                FUZZ_CHECK(ec2 == error);
                break;
            }
            FUZZ_CHECK(status == decode_status::frame);
            FUZZ_CHECK(!error);
            FUZZ_CHECK(!payload.empty());
            FUZZ_CHECK(payload.size() <= dec.max_frame_size());
            payloads.emplace_back(payload);
            handed_out += frame_header_size + payload.size();
        }
        FUZZ_CHECK(dec.buffered() == received - handed_out);
    }

    void feed(std::string_view bytes)
    {
        largest_ask = std::max(largest_ask, bytes.size());
        dec.feed(bytes);
        received += bytes.size();
        check_capacity();
    }

    // Reads `bytes` the way a socket would: prepare(min_free), copy what fits, commit.
    void read(std::string_view bytes, std::size_t min_free, rng& r)
    {
        while (!bytes.empty()) {
            largest_ask = std::max(largest_ask, min_free);
            auto space = dec.prepare(min_free);
            check_capacity();
            FUZZ_CHECK(space.size() >= std::max(min_free, std::size_t{1}));
            // A short read: sometimes less than what is available.
            std::size_t n = std::min(space.size(), bytes.size());
            if (n > 1 && r.below(4) == 0)
                n = 1 + r.below(n);
            std::memcpy(space.data(), bytes.data(), n);
            dec.commit(n);
            received += n;
            bytes.remove_prefix(n);
            // Anything committed must be decodable right away (payload views are invalidated
            // by the next prepare()).
            drain();
        }
    }
};

bool same_outcome(const boost::system::error_code& ec, outcome end)
{
    switch (end) {
    case outcome::need_more:
        return !ec;
    case outcome::too_small:
        return ec == tether::errc::protocol_error;
    case outcome::too_large:
        return ec == tether::errc::frame_too_large;
    }
    return false;
}

void check_against(const decoder_run& run, const expectation& e)
{
    FUZZ_CHECK(run.payloads.size() == e.payloads.size());
    for (std::size_t i = 0; i < e.payloads.size(); ++i)
        FUZZ_CHECK(run.payloads[i] == e.payloads[i]);
    FUZZ_CHECK(same_outcome(run.error, e.end));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 4)
        return 0;
    const std::uint32_t max_frame_size =
        data[0] < 128 ? 64u + data[0] : 64u << ((data[0] - 128u) % 15u);
    const std::size_t read_chunk = std::size_t{16} << (data[1] % 11u);
    const std::uint32_t seed = (std::uint32_t{data[2]} << 8 | data[3]) * 2654435761u | 1u;
    const std::string_view stream(reinterpret_cast<const char*>(data + 4), size - 4);

    const expectation expected = model(stream, max_frame_size);

    // 1. Everything in one feed().
    {
        decoder_run whole(max_frame_size, read_chunk);
        if (!stream.empty())
            whole.feed(stream);
        whole.drain();
        check_against(whole, expected);
    }

    // 2. Chunks of varying sizes, through feed() and prepare()/commit(), drained after each.
    {
        decoder_run chunked(max_frame_size, read_chunk);
        rng r{seed};
        std::string_view rest = stream;
        while (!rest.empty()) {
            std::size_t chunk = 0;
            switch (r.below(4)) {
            case 0:
                chunk = 1 + r.below(4);
                break; // a byte or a few
            case 1:
                chunk = 1 + r.below(64);
                break; // small reads
            case 2:
                chunk = 1 + r.below(read_chunk * 2);
                break; // around the read chunk
            default:
                chunk = 1 + r.below(rest.size());
                break; // anything left
            }
            chunk = std::min(chunk, rest.size());
            const auto piece = rest.substr(0, chunk);
            rest.remove_prefix(chunk);
            switch (r.below(3)) {
            case 0:
                chunked.feed(piece);
                chunked.drain();
                break;
            case 1:
                chunked.read(piece, 0, r);
                break;
            default:
                chunked.read(piece, r.below(2 * read_chunk + 1), r);
                break;
            }
            if (r.below(8) == 0) {
                chunked.dec.release_if_empty();
                if (chunked.dec.buffered() == 0)
                    FUZZ_CHECK(chunked.dec.capacity() == 0);
            }
        }
        chunked.drain();
        check_against(chunked, expected);
    }
    return 0;
}
