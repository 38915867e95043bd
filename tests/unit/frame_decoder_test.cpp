// Unit tests of the sans-io frame decoder (protocol.md "Framing").

#include "sansio/frame_decoder.hpp"

#include <tether/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using tether::wire::decode_status;
using tether::wire::frame_decoder;
using tether::wire::frame_header_size;

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * 1024;

/// The 4-byte big-endian header for `length`.
std::string header(std::uint32_t length)
{
    std::string h(frame_header_size, '\0');
    tether::wire::write_frame_length(h.data(), length);
    return h;
}

/// A complete frame (header + payload).
std::string frame(std::string_view payload)
{
    return header(static_cast<std::uint32_t>(payload.size())) + std::string(payload);
}

/// A payload of `size` bytes covering every byte value (0x00 and 0xff included), distinct per
/// `seed` so that frames cannot be confused with each other.
std::string make_payload(std::size_t size, unsigned seed)
{
    std::string p(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        p[i] = static_cast<char>(static_cast<unsigned char>((i * 31u + seed * 97u + 7u) & 0xffu));
    return p;
}

struct stream {
    std::vector<std::string> payloads;
    std::string bytes;
    std::vector<std::size_t> frame_ends; ///< offset one past each frame in `bytes`
};

stream make_stream(const std::vector<std::size_t>& sizes)
{
    stream s;
    unsigned seed = 1;
    for (const std::size_t size : sizes) {
        s.payloads.push_back(make_payload(size, seed++));
        s.bytes += frame(s.payloads.back());
        s.frame_ends.push_back(s.bytes.size());
    }
    return s;
}

/// How many frames lie entirely inside the first `prefix` bytes of `s`.
std::size_t frames_within(const stream& s, std::size_t prefix)
{
    return static_cast<std::size_t>(std::count_if(s.frame_ends.begin(), s.frame_ends.end(),
                                                  [&](std::size_t end) { return end <= prefix; }));
}

/// Pops every complete payload into `out` (copied: the views die at the next feed). Returns the
/// status that ended the loop (need_more unless the stream broke); `ec` receives any error.
decode_status drain(frame_decoder& d, std::vector<std::string>& out, boost::system::error_code& ec)
{
    for (;;) {
        std::string_view payload;
        const decode_status st = d.next(payload, ec);
        if (st != decode_status::frame)
            return st;
        out.emplace_back(payload);
    }
}

decode_status drain(frame_decoder& d, std::vector<std::string>& out)
{
    boost::system::error_code ec;
    const decode_status st = drain(d, out, ec);
    EXPECT_FALSE(ec) << ec.message();
    return st;
}

// ---------------------------------------------------------------------------------------------
// Header helpers

TEST(FrameLength, WritesBigEndian)
{
    char b[4] = {};
    tether::wire::write_frame_length(b, 0x01020304u);
    EXPECT_EQ(b[0], 0x01);
    EXPECT_EQ(b[1], 0x02);
    EXPECT_EQ(b[2], 0x03);
    EXPECT_EQ(b[3], 0x04);
    EXPECT_EQ(tether::wire::read_frame_length(b), 0x01020304u);
}

TEST(FrameLength, RoundTripsExtremes)
{
    for (const std::uint32_t v : {0u, 1u, 0x7fu, 0x80u, 0xffu, 0x100u, 0x80000000u, 0xfffffffeu,
                                  0xffffffffu, tether::wire::default_max_frame_size}) {
        char b[4] = {};
        tether::wire::write_frame_length(b, v);
        EXPECT_EQ(tether::wire::read_frame_length(b), v) << v;
    }
    const std::string h = header(0xffffffffu);
    EXPECT_EQ(h, std::string(4, '\xff'));
}

// ---------------------------------------------------------------------------------------------
// Basics

TEST(FrameDecoder, FreshDecoderNeedsMoreAndHoldsNothing)
{
    frame_decoder d;
    EXPECT_EQ(d.max_frame_size(), tether::wire::default_max_frame_size);
    EXPECT_EQ(d.buffered(), 0u);
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::need_more);
    EXPECT_FALSE(ec);
}

TEST(FrameDecoder, SingleFrame)
{
    frame_decoder d;
    d.feed(frame("hello"));
    std::string_view p;
    boost::system::error_code ec;
    ASSERT_EQ(d.next(p, ec), decode_status::frame);
    EXPECT_EQ(p, "hello");
    EXPECT_FALSE(ec);
    EXPECT_EQ(d.buffered(), 0u);
    EXPECT_EQ(d.next(p, ec), decode_status::need_more);
}

TEST(FrameDecoder, PayloadIsBinarySafe)
{
    const std::string payload = make_payload(600, 3); // every byte value, NULs included
    frame_decoder d;
    d.feed(frame(payload));
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], payload);
}

TEST(FrameDecoder, SeveralFramesCoalescedInOneFeed)
{
    const stream s = make_stream({1, 5, 300, 1, 20000, 2});
    frame_decoder d;
    d.feed(s.bytes);
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, s.payloads);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, CoalescedFramesFollowedByPartialFrame)
{
    const stream s = make_stream({3, 4, 50});
    frame_decoder d;
    d.feed(s.bytes.substr(0, s.frame_ends[1] + 10)); // two frames, then header + 6 bytes
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], s.payloads[0]);
    EXPECT_EQ(got[1], s.payloads[1]);
    EXPECT_EQ(d.buffered(), 10u);
    d.feed(s.bytes.substr(s.frame_ends[1] + 10));
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, s.payloads);
    EXPECT_EQ(d.buffered(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Every split

// Several frames of different sizes, with a small read chunk (16, the minimum) so that some
// payloads are larger than what prepare() offers by default.
const std::vector<std::size_t> split_sizes = {1, 5, 40, 1, 100, 17, 16, 2};

TEST(FrameDecoderSplits, EveryTwoChunkSplitSmallReadChunk)
{
    const stream s = make_stream(split_sizes);
    for (std::size_t cut = 0; cut <= s.bytes.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        frame_decoder d(tether::wire::default_max_frame_size, 16);
        std::vector<std::string> got;
        d.feed(std::string_view(s.bytes).substr(0, cut));
        ASSERT_EQ(drain(d, got), decode_status::need_more);
        // Every frame wholly received is delivered at once, none is invented.
        ASSERT_EQ(got.size(), frames_within(s, cut));
        EXPECT_EQ(d.buffered(), cut - (got.empty() ? 0 : s.frame_ends[got.size() - 1]));
        d.feed(std::string_view(s.bytes).substr(cut));
        ASSERT_EQ(drain(d, got), decode_status::need_more);
        ASSERT_EQ(got, s.payloads);
        EXPECT_EQ(d.buffered(), 0u);
    }
}

TEST(FrameDecoderSplits, EveryTwoChunkSplitPayloadLargerThanDefaultReadChunk)
{
    // Default read chunk (8 KiB); the middle payload is larger than it.
    const stream s = make_stream({1, 9000, 3});
    for (std::size_t cut = 0; cut <= s.bytes.size(); ++cut) {
        frame_decoder d;
        std::vector<std::string> got;
        d.feed(std::string_view(s.bytes).substr(0, cut));
        ASSERT_EQ(drain(d, got), decode_status::need_more) << "cut at " << cut;
        ASSERT_EQ(got.size(), frames_within(s, cut)) << "cut at " << cut;
        d.feed(std::string_view(s.bytes).substr(cut));
        ASSERT_EQ(drain(d, got), decode_status::need_more) << "cut at " << cut;
        ASSERT_EQ(got, s.payloads) << "cut at " << cut;
        ASSERT_EQ(d.buffered(), 0u) << "cut at " << cut;
    }
}

TEST(FrameDecoderSplits, EveryThreeChunkSplit)
{
    const stream s = make_stream({1, 20, 3, 17});
    const std::string_view bytes = s.bytes;
    std::size_t combinations = 0;
    for (std::size_t a = 0; a <= bytes.size(); ++a) {
        for (std::size_t b = a; b <= bytes.size(); ++b) {
            SCOPED_TRACE("cuts at " + std::to_string(a) + " and " + std::to_string(b));
            frame_decoder d(tether::wire::default_max_frame_size, 16);
            std::vector<std::string> got;
            d.feed(bytes.substr(0, a));
            ASSERT_EQ(drain(d, got), decode_status::need_more);
            ASSERT_EQ(got.size(), frames_within(s, a));
            d.feed(bytes.substr(a, b - a));
            ASSERT_EQ(drain(d, got), decode_status::need_more);
            ASSERT_EQ(got.size(), frames_within(s, b));
            d.feed(bytes.substr(b));
            ASSERT_EQ(drain(d, got), decode_status::need_more);
            ASSERT_EQ(got, s.payloads);
            ASSERT_EQ(d.buffered(), 0u);
            ++combinations;
        }
    }
    const std::size_t n = bytes.size() + 1;
    EXPECT_EQ(combinations, n * (n + 1) / 2);
}

TEST(FrameDecoderSplits, OneByteAtATime)
{
    for (const std::size_t read_chunk : {std::size_t{16}, std::size_t{8 * kib}}) {
        SCOPED_TRACE("read_chunk " + std::to_string(read_chunk));
        const stream s = make_stream({1, 5, 40, 1, 100, 9000, 2, 17});
        frame_decoder d(tether::wire::default_max_frame_size, read_chunk);
        std::vector<std::string> got;
        for (std::size_t i = 0; i < s.bytes.size(); ++i) {
            d.feed(std::string_view(s.bytes).substr(i, 1));
            ASSERT_EQ(drain(d, got), decode_status::need_more) << "byte " << i;
            ASSERT_EQ(got.size(), frames_within(s, i + 1)) << "byte " << i;
        }
        EXPECT_EQ(got, s.payloads);
        EXPECT_EQ(d.buffered(), 0u);
    }
}

TEST(FrameDecoderSplits, EmptyFeedChangesNothing)
{
    frame_decoder d;
    d.feed({});
    EXPECT_EQ(d.buffered(), 0u);
    d.feed(frame("ab").substr(0, 3));
    d.feed({});
    EXPECT_EQ(d.buffered(), 3u);
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_TRUE(got.empty());
    d.feed(frame("ab").substr(3));
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, std::vector<std::string>{"ab"});
}

// ---------------------------------------------------------------------------------------------
// Bad lengths

TEST(FrameDecoderErrors, ZeroLengthIsProtocolError)
{
    frame_decoder d;
    d.feed(header(0));
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::error);
    EXPECT_EQ(ec, tether::errc::protocol_error);
}

TEST(FrameDecoderErrors, ZeroLengthErrorIsSticky)
{
    frame_decoder d;
    d.feed(header(0));
    std::string_view p;
    boost::system::error_code ec;
    ASSERT_EQ(d.next(p, ec), decode_status::error);
    for (int i = 0; i < 3; ++i) {
        boost::system::error_code again;
        EXPECT_EQ(d.next(p, again), decode_status::error);
        EXPECT_EQ(again, tether::errc::protocol_error);
    }
    // A valid frame arriving afterwards does not revive the stream.
    d.feed(frame("valid"));
    boost::system::error_code later;
    EXPECT_EQ(d.next(p, later), decode_status::error);
    EXPECT_EQ(later, tether::errc::protocol_error);
}

TEST(FrameDecoderErrors, ValidFramesBeforeZeroLengthAreStillDelivered)
{
    frame_decoder d;
    d.feed(frame("one") + frame("two") + header(0) + frame("three"));
    std::vector<std::string> got;
    boost::system::error_code ec;
    EXPECT_EQ(drain(d, got, ec), decode_status::error);
    EXPECT_EQ(ec, tether::errc::protocol_error);
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
}

TEST(FrameDecoderErrors, LengthEqualToMaxIsAccepted)
{
    constexpr std::uint32_t max = 100;
    frame_decoder d(max);
    EXPECT_EQ(d.max_frame_size(), max);
    const std::string payload = make_payload(max, 9);
    d.feed(frame(payload));
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], payload);
}

TEST(FrameDecoderErrors, LengthOneOverMaxIsFrameTooLarge)
{
    constexpr std::uint32_t max = 100;
    frame_decoder d(max);
    d.feed(frame(make_payload(max + 1, 9)));
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::error);
    EXPECT_EQ(ec, tether::errc::frame_too_large);
    // Sticky as well.
    boost::system::error_code again;
    EXPECT_EQ(d.next(p, again), decode_status::error);
    EXPECT_EQ(again, tether::errc::frame_too_large);
}

TEST(FrameDecoderErrors, DefaultMaxBoundary)
{
    const std::uint32_t max = tether::wire::default_max_frame_size;
    ASSERT_EQ(max, 4u * mib);
    {
        frame_decoder d;
        const std::string payload = make_payload(max, 5);
        d.feed(frame(payload));
        std::string_view p;
        boost::system::error_code ec;
        ASSERT_EQ(d.next(p, ec), decode_status::frame) << ec.message();
        EXPECT_EQ(p.size(), max);
        EXPECT_TRUE(p == payload);
    }
    {
        frame_decoder d;
        d.feed(header(max + 1)); // header alone suffices to refuse
        std::string_view p;
        boost::system::error_code ec;
        EXPECT_EQ(d.next(p, ec), decode_status::error);
        EXPECT_EQ(ec, tether::errc::frame_too_large);
    }
}

TEST(FrameDecoderErrors, MaxUint32LengthIsFrameTooLarge)
{
    frame_decoder d;
    d.feed(header(std::numeric_limits<std::uint32_t>::max()));
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::error);
    EXPECT_EQ(ec, tether::errc::frame_too_large);
}

TEST(FrameDecoderErrors, TooLargeIsRefusedFromTheHeaderAloneByteByByte)
{
    frame_decoder d(1000);
    const std::string h = header(1001);
    std::string_view p;
    boost::system::error_code ec;
    for (std::size_t i = 0; i + 1 < h.size(); ++i) {
        d.feed(h.substr(i, 1));
        EXPECT_EQ(d.next(p, ec), decode_status::need_more);
        EXPECT_FALSE(ec);
    }
    d.feed(h.substr(h.size() - 1));
    EXPECT_EQ(d.next(p, ec), decode_status::error);
    EXPECT_EQ(ec, tether::errc::frame_too_large);
}

// The receiver closes the connection without allocating the claimed length.
TEST(FrameDecoderErrors, NoAllocationOfClaimedSizeWhenHeaderFed)
{
    for (const std::uint32_t claimed : {std::numeric_limits<std::uint32_t>::max(),
                                        tether::wire::default_max_frame_size + 1u, 0x80000000u}) {
        SCOPED_TRACE("claimed " + std::to_string(claimed));
        frame_decoder d;
        d.feed(header(claimed));
        EXPECT_LT(d.capacity(), 64 * kib);
        std::string_view p;
        boost::system::error_code ec;
        EXPECT_EQ(d.next(p, ec), decode_status::error);
        EXPECT_EQ(ec, tether::errc::frame_too_large);
        EXPECT_LT(d.capacity(), 64 * kib);
        // The socket path keeps asking for room after the error: still no growth to the claim.
        for (int i = 0; i < 4; ++i) {
            const auto space = d.prepare();
            EXPECT_LT(space.size(), 64 * kib);
            EXPECT_LT(d.capacity(), 64 * kib);
        }
    }
}

TEST(FrameDecoderErrors, PrepareAfterTooLargeHeaderBeforeNextDoesNotGrow)
{
    // Socket path: the header is read into prepare()'s span and committed, and prepare() runs
    // again (next() not called yet). It must not size the buffer for the claimed length.
    for (const std::uint32_t claimed :
         {std::numeric_limits<std::uint32_t>::max(), tether::wire::default_max_frame_size + 1u}) {
        SCOPED_TRACE("claimed " + std::to_string(claimed));
        frame_decoder d;
        auto space = d.prepare();
        ASSERT_GE(space.size(), frame_header_size);
        tether::wire::write_frame_length(space.data(), claimed);
        d.commit(frame_header_size);
        for (int i = 0; i < 4; ++i) {
            space = d.prepare();
            EXPECT_LT(space.size(), 64 * kib);
            EXPECT_LT(d.capacity(), 64 * kib);
            std::memset(space.data(), 'x', std::min<std::size_t>(space.size(), 100));
            d.commit(std::min<std::size_t>(space.size(), 100));
        }
        std::string_view p;
        boost::system::error_code ec;
        EXPECT_EQ(d.next(p, ec), decode_status::error);
        EXPECT_EQ(ec, tether::errc::frame_too_large);
        EXPECT_LT(d.capacity(), 64 * kib);
    }
}

TEST(FrameDecoderErrors, PrepareAfterZeroLengthHeaderDoesNotGrow)
{
    frame_decoder d;
    d.feed(header(0));
    const auto space = d.prepare();
    EXPECT_LT(space.size(), 64 * kib);
    EXPECT_LT(d.capacity(), 64 * kib);
}

// ---------------------------------------------------------------------------------------------
// Truncation

TEST(FrameDecoderTruncation, HeaderAndPartialPayloadNeedsMore)
{
    frame_decoder d;
    d.feed(frame("0123456789").substr(0, frame_header_size + 6));
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::need_more);
    EXPECT_FALSE(ec);
    EXPECT_EQ(d.buffered(), frame_header_size + 6);
    EXPECT_GT(d.buffered(), 0u); // at EOF this is a truncated stream
}

TEST(FrameDecoderTruncation, PartialHeaderNeedsMore)
{
    frame_decoder d;
    d.feed(frame("0123456789").substr(0, 2));
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::need_more);
    EXPECT_EQ(d.buffered(), 2u);
}

TEST(FrameDecoderTruncation, HeaderOnlyNeedsMore)
{
    frame_decoder d;
    d.feed(header(10));
    std::string_view p;
    boost::system::error_code ec;
    EXPECT_EQ(d.next(p, ec), decode_status::need_more);
    EXPECT_FALSE(ec);
    EXPECT_EQ(d.buffered(), frame_header_size);
}

TEST(FrameDecoderTruncation, CompleteFramesThenTruncatedOne)
{
    const stream s = make_stream({4, 8, 30});
    frame_decoder d;
    d.feed(s.bytes.substr(0, s.bytes.size() - 1));
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, (std::vector<std::string>{s.payloads[0], s.payloads[1]}));
    EXPECT_EQ(d.buffered(), frame_header_size + 30 - 1);
}

// ---------------------------------------------------------------------------------------------
// prepare() / commit(): the socket path

TEST(FrameDecoderPrepare, OffersAtLeastMinFreeAndTheReadChunk)
{
    frame_decoder d(tether::wire::default_max_frame_size, 1000);
    EXPECT_GE(d.prepare().size(), 1000u);
    EXPECT_GE(d.prepare(5000).size(), 5000u);
    d.feed("abc");
    EXPECT_GE(d.prepare(70000).size(), 70000u);
    EXPECT_EQ(d.buffered(), 3u);
}

TEST(FrameDecoderPrepare, ReadChunkHasAFloor)
{
    frame_decoder d(tether::wire::default_max_frame_size, 0);
    EXPECT_GE(d.prepare().size(), 1u);
}

TEST(FrameDecoderPrepare, GrowsWithWhatArrivedNotWithTheClaimedLength)
{
    const std::uint32_t length = 1 * mib;
    frame_decoder d; // read chunk 8 KiB
    d.feed(header(length) + "abc");
    // A bare header (valid length) costs a read chunk, not the claimed megabyte.
    const auto space = d.prepare();
    EXPECT_GE(space.size(), std::size_t{8 * 1024});
    EXPECT_LT(d.capacity(), std::size_t{64 * 1024});
    // As data really arrives, the room offered doubles, capped by what the frame still needs.
    d.commit(space.size());
    const std::size_t have = d.buffered();
    const auto more = d.prepare();
    EXPECT_GE(more.size(), have);
    EXPECT_LE(d.capacity(), 4 * have + 64 * 1024);
}

TEST(FrameDecoderPrepare, CommittedBytesArePreservedAcrossPrepare)
{
    const stream s = make_stream({10, 5000, 20000, 3});
    frame_decoder d(tether::wire::default_max_frame_size, 16);
    std::vector<std::string> got;
    std::size_t pos = 0;
    // Commit 7 bytes at a time while prepare() keeps moving and regrowing the buffer.
    while (pos < s.bytes.size()) {
        const auto space = d.prepare(pos % 3 == 0 ? 3000 : 0);
        const std::size_t n = std::min({std::size_t{7}, space.size(), s.bytes.size() - pos});
        std::memcpy(space.data(), s.bytes.data() + pos, n);
        d.commit(n);
        pos += n;
        ASSERT_EQ(drain(d, got), decode_status::need_more);
    }
    EXPECT_EQ(got, s.payloads);
}

TEST(FrameDecoderPrepare, SocketLikeRandomChunks)
{
    std::mt19937 rng(20240607u); // fixed seed: reproducible
    std::uniform_int_distribution<std::size_t> payload_size(1, 20000);
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 200; ++i)
        sizes.push_back(i % 10 == 0 ? 1 : payload_size(rng));
    const stream s = make_stream(sizes);

    std::uniform_int_distribution<std::size_t> chunk(1, 12000);
    std::uniform_int_distribution<std::size_t> min_free(0, 30000);
    frame_decoder d;
    std::vector<std::string> got;
    std::size_t pos = 0, reads = 0;
    while (pos < s.bytes.size()) {
        const std::size_t want_free = reads % 4 == 0 ? min_free(rng) : 0;
        const auto space = d.prepare(want_free);
        ASSERT_GE(space.size(), want_free);
        ASSERT_GE(space.size(), 1u);
        // A socket read returns anything from 1 byte to the span's size.
        const std::size_t n = std::min({chunk(rng), space.size(), s.bytes.size() - pos});
        std::memcpy(space.data(), s.bytes.data() + pos, n);
        d.commit(n);
        pos += n;
        ++reads;
        ASSERT_EQ(drain(d, got), decode_status::need_more);
        ASSERT_EQ(got.size(), frames_within(s, pos));
    }
    EXPECT_EQ(got, s.payloads);
    EXPECT_EQ(d.buffered(), 0u);
    EXPECT_GT(reads, 100u);
    // The buffer never holds much more than one frame plus a read chunk.
    EXPECT_LE(d.capacity(), 256 * kib);
}

TEST(FrameDecoderPrepare, SocketLikeRandomChunksSmallReadChunk)
{
    std::mt19937 rng(7u);
    std::uniform_int_distribution<std::size_t> payload_size(1, 300);
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 300; ++i)
        sizes.push_back(payload_size(rng));
    const stream s = make_stream(sizes);

    std::uniform_int_distribution<std::size_t> chunk(1, 64);
    frame_decoder d(tether::wire::default_max_frame_size, 16);
    std::vector<std::string> got;
    std::size_t pos = 0;
    while (pos < s.bytes.size()) {
        const auto space = d.prepare();
        ASSERT_GE(space.size(), 16u);
        const std::size_t n = std::min({chunk(rng), space.size(), s.bytes.size() - pos});
        std::memcpy(space.data(), s.bytes.data() + pos, n);
        d.commit(n);
        pos += n;
        ASSERT_EQ(drain(d, got), decode_status::need_more);
    }
    EXPECT_EQ(got, s.payloads);
    EXPECT_EQ(d.buffered(), 0u);
}

// ---------------------------------------------------------------------------------------------
// release_if_empty()

TEST(FrameDecoderRelease, FreshDecoderOwnsNoBuffer)
{
    frame_decoder d;
    EXPECT_EQ(d.capacity(), 0u);
    d.release_if_empty();
    EXPECT_EQ(d.capacity(), 0u);
}

TEST(FrameDecoderRelease, KeepsBufferWhileBytesArePending)
{
    frame_decoder d;
    d.feed(frame("complete"));
    const std::size_t cap = d.capacity();
    ASSERT_GT(cap, 0u);
    d.release_if_empty(); // a whole frame not yet taken
    EXPECT_EQ(d.capacity(), cap);
    EXPECT_EQ(d.buffered(), frame_header_size + 8);
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, std::vector<std::string>{"complete"});

    d.feed(frame("partial").substr(0, 6)); // a partial frame
    d.release_if_empty();
    EXPECT_GT(d.capacity(), 0u);
    EXPECT_EQ(d.buffered(), 6u);
    d.feed(frame("partial").substr(6));
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, (std::vector<std::string>{"complete", "partial"}));
}

TEST(FrameDecoderRelease, FreesBufferWhenEmptyAndStillWorksAfterwards)
{
    frame_decoder d;
    d.feed(frame("one") + frame("two"));
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    ASSERT_EQ(d.buffered(), 0u);
    ASSERT_GT(d.capacity(), 0u);
    d.release_if_empty();
    EXPECT_EQ(d.capacity(), 0u);
    EXPECT_EQ(d.buffered(), 0u);

    // Works again after the release, through both feed() and prepare()/commit().
    d.feed(frame("three"));
    EXPECT_GT(d.capacity(), 0u);
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    d.release_if_empty();
    EXPECT_EQ(d.capacity(), 0u);
    const std::string f = frame("four");
    auto space = d.prepare();
    ASSERT_GE(space.size(), f.size());
    std::memcpy(space.data(), f.data(), f.size());
    d.commit(f.size());
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three", "four"}));
}

TEST(FrameDecoderRelease, FreesLargeBufferAfterLargeFrame)
{
    frame_decoder d;
    d.feed(frame(make_payload(2 * mib, 4)));
    std::vector<std::string> got;
    EXPECT_EQ(drain(d, got), decode_status::need_more);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_GE(d.capacity(), 2 * mib);
    d.release_if_empty();
    EXPECT_EQ(d.capacity(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Big frame

TEST(FrameDecoderBig, OneMebibyteFrameFromThousandBytePieces)
{
    const std::string payload = make_payload(1 * mib, 11);
    const std::string bytes = frame(payload) + frame("tail");
    const std::size_t first_frame_end = frame_header_size + payload.size();
    frame_decoder d;
    std::vector<std::string> got;
    std::size_t pieces = 0;
    for (std::size_t pos = 0; pos < bytes.size(); pos += 1000) {
        d.feed(std::string_view(bytes).substr(pos, 1000));
        ++pieces;
        const std::size_t end = std::min(pos + 1000, bytes.size());
        ASSERT_EQ(drain(d, got), decode_status::need_more);
        ASSERT_EQ(got.size(), (end >= first_frame_end ? 1u : 0u) + (end == bytes.size() ? 1u : 0u))
            << "after piece " << pieces;
    }
    EXPECT_EQ(pieces, (bytes.size() + 999) / 1000);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(got[0] == payload);
    EXPECT_EQ(got[1], "tail");
    EXPECT_EQ(d.buffered(), 0u);
    // Sized for the frame, not regrown without bound.
    EXPECT_GE(d.capacity(), first_frame_end);
    EXPECT_LE(d.capacity(), 2 * first_frame_end + 16 * kib);
}

TEST(FrameDecoderBig, OneMebibyteFrameReadThroughPrepareCommit)
{
    const std::string payload = make_payload(1 * mib, 12);
    const std::string bytes = frame(payload);
    frame_decoder d;
    std::vector<std::string> got;
    std::size_t pos = 0, reads = 0;
    while (pos < bytes.size()) {
        const auto space = d.prepare();
        const std::size_t n = std::min(space.size(), bytes.size() - pos);
        std::memcpy(space.data(), bytes.data() + pos, n);
        d.commit(n);
        pos += n;
        ++reads;
        ASSERT_EQ(drain(d, got), decode_status::need_more);
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0] == payload);
    // The room offered doubles with what arrived: a megabyte takes a logarithmic number of
    // reads (8 KiB chunk → about 8 doublings), not one per chunk.
    EXPECT_LE(reads, 12u);
}

} // namespace
