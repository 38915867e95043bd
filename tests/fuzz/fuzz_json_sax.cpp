// Differential libFuzzer target: wire::json_sax_reader against nlohmann::json::sax_parse.
//
// The whole input is one JSON text. Both drivers report to a recorder that writes down every
// event with its value (floats by bits and text, strings bytewise); the verdicts and the event
// logs must be identical. Then both run again with the handler refusing one event (chosen from
// the input's size), and must stop at the same point. One reader is kept across inputs, so its
// reused buffers are exercised too. A difference is a __builtin_trap().

#include "sansio/json_sax_reader.hpp"
#include "sax_recorder.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

tether::wire::json_sax_reader reader;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace tether::test;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    const sax_outcome theirs = nlohmann_sax(text);
    const sax_outcome ours = our_sax(reader, text);
    FUZZ_CHECK(ours == theirs);

    if (theirs.events > 0) {
        const std::size_t refuse_at = size % theirs.events;
        const sax_outcome theirs_refused = nlohmann_sax(text, refuse_at);
        const sax_outcome ours_refused = our_sax(reader, text, refuse_at);
        FUZZ_CHECK(!ours_refused.ok);
        FUZZ_CHECK(ours_refused == theirs_refused);
    }
    return 0;
}
