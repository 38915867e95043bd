#include "sansio/message.hpp"

#include "sansio/envelope_reader.hpp"
#include "sansio/frame_decoder.hpp"
#include "sansio/json_append.hpp"
#include "sansio/json_sax_reader.hpp"
#include "sansio/json_scan.hpp"

#include <tether/error.hpp>

#include <charconv>
#include <limits>
#include <memory>

namespace tether::wire {
namespace {

// Each result is built in one piece (no default-constructed variant reassigned later), which
// also keeps g++ 12's -Wmaybe-uninitialized quiet about the optional inside `response`.
parse_result valid(message&& m)
{
    return {boost::system::error_code{}, std::string{}, std::move(m)};
}

parse_result invalid(std::string detail)
{
    return {make_error_code(errc::protocol_error), std::move(detail), unknown{}};
}

// An id per protocol.md: a JSON integer (no fraction, no exponent) in 0 .. 2^53-1 ("-0" is 0).
// nlohmann parses every non-negative integer literal as number_unsigned, negative ones as
// number_integer and anything with '.', 'e' or beyond 64 bits as number_float.
bool read_id(const std::optional<json>& value, std::uint64_t& id, std::string& why)
{
    if (!value) {
        why = "missing id";
        return false;
    }
    if (!value->is_number_unsigned()) {
        // "-0" is a JSON integer whose value is 0 (nlohmann reads it as a signed 0).
        if (value->is_number_integer() && value->get<std::int64_t>() == 0) {
            id = 0;
            return true;
        }
        why = value->is_number_integer() ? "id is negative"
              : value->is_number()       ? "id is not an integer"
                                         : "id is not a number";
        return false;
    }
    id = value->get<std::uint64_t>();
    if (id > max_id) {
        why = "id above 2^53-1";
        return false;
    }
    return true;
}

bool read_error_object(const json& e, error_object& out, std::string& why)
{
    if (!e.is_object()) {
        why = "error is not an object";
        return false;
    }
    const auto code = e.find("code");
    if (code == e.end() || !code->is_number_integer()) {
        why = "error.code missing or not an integer";
        return false;
    }
    if (code->is_number_unsigned() &&
        code->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
        why = "error.code out of range";
        return false;
    }
    const auto text = e.find("message");
    if (text == e.end() || !text->is_string()) {
        why = "error.message missing or not a string";
        return false;
    }
    out.code = code->get<std::int64_t>();
    out.message = text->get<std::string>();
    return true;
}

// nlohmann's output adapter that appends to whichever string it is pointed at.
class appending_adapter final : public nlohmann::detail::output_adapter_protocol<char> {
public:
    std::string* target = nullptr;
    void write_character(char c) override { target->push_back(c); }
    void write_characters(const char* s, std::size_t length) override { target->append(s, length); }
};

// Frame assembly straight into the caller's buffer: a header placeholder, the payload, then
// the real length. On failure the buffer is cut back to where it was.
class frame_writer {
public:
    frame_writer(std::string& out, std::uint32_t max_frame_size)
        : out_(out), start_(out.size()), max_(max_frame_size)
    {
        out_.append(frame_header_size, '\0');
    }
    std::string& out() { return out_; }
    void raw(std::string_view s) { out_.append(s); }
    void number(std::uint64_t v)
    {
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof digits, v);
        out_.append(digits, r.ptr);
    }
    void number(std::int64_t v)
    {
        char digits[24];
        auto r = std::to_chars(digits, digits + sizeof digits, v);
        out_.append(digits, r.ptr);
    }
    void value(const json& j)
    {
        // One serializer per thread, pointed at this frame's buffer: constructing nlohmann's
        // serializer costs two allocations, which would be paid on every request.
        thread_local const auto adapter = std::make_shared<appending_adapter>();
        thread_local nlohmann::detail::serializer<json> serializer(
            adapter, ' ', nlohmann::detail::error_handler_t::strict);
        adapter->target = &out_;
        const auto scalar = [](const json& v) { serializer.dump(v, false, false, 0); };
        append_json(out_, j, scalar);
    }
    boost::system::error_code finish()
    {
        const std::size_t length = out_.size() - start_ - frame_header_size;
        if (length > max_) {
            out_.resize(start_);
            return make_error_code(errc::frame_too_large);
        }
        write_frame_length(out_.data() + start_, static_cast<std::uint32_t>(length));
        return {};
    }
    void abandon() { out_.resize(start_); }

private:
    std::string& out_;
    std::size_t start_;
    std::uint32_t max_;
};

template <class Fill>
boost::system::error_code write_frame(std::string& out, std::uint32_t max_frame_size, Fill fill)
{
    frame_writer w(out, max_frame_size);
    try {
        fill(w);
    } catch (const nlohmann::json::type_error&) {
        // Only the strict UTF-8 check of the serializer throws here.
        w.abandon();
        return make_error_code(errc::invalid_argument);
    } catch (...) {
        w.abandon();
        throw;
    }
    return w.finish();
}

void fill_request(frame_writer& w, std::uint64_t id, const json& body)
{
    w.raw(R"({"type":"request","id":)");
    w.number(id);
    w.raw(R"(,"body":)");
    w.value(body);
    w.raw("}");
}

void fill_response(frame_writer& w, std::uint64_t id, const json& body)
{
    w.raw(R"({"type":"response","id":)");
    w.number(id);
    w.raw(R"(,"body":)");
    w.value(body);
    w.raw("}");
}

struct payload_filler {
    frame_writer& w;
    void operator()(const ping& m) { id_only("ping", m.id); }
    void operator()(const pong& m) { id_only("pong", m.id); }
    void operator()(const request& m) { fill_request(w, m.id, m.body); }
    void operator()(const response& m)
    {
        if (!m.error) {
            fill_response(w, m.id, m.body);
            return;
        }
        w.raw(R"({"type":"response","id":)");
        w.number(m.id);
        w.raw(R"(,"error":{"code":)");
        w.number(m.error->code);
        w.raw(R"(,"message":)");
        w.value(json(m.error->message));
        w.raw("}}");
    }
    void operator()(const notify& m)
    {
        w.raw(R"({"type":"notify","body":)");
        w.value(m.body);
        w.raw("}");
    }
    void operator()(const goaway& m)
    {
        w.raw(R"({"type":"goaway","reason":)");
        w.value(json(m.reason));
        w.raw("}");
    }
    void operator()(const unknown& m)
    {
        w.raw(R"({"type":)");
        w.value(json(m.type));
        w.raw("}");
    }
    void id_only(std::string_view type, std::uint64_t id)
    {
        w.raw(R"({"type":")");
        w.raw(type);
        w.raw(R"(","id":)");
        w.number(id);
        w.raw("}");
    }
};

} // namespace

std::size_t json_depth(std::string_view text, std::size_t limit)
{
    std::size_t depth = 0, deepest = 0;
    const char* p = text.data();
    const char* const e = p + text.size();
    while (p != e) {
        switch (*p++) {
        case '"':
            // Inside a string only '"' and '\\' matter: the runs between are skipped whole.
            for (;;) {
                p += run_before_quote_or_backslash(p, e);
                if (p == e)
                    return deepest;
                if (*p++ == '"')
                    break;
                if (p == e)
                    return deepest;
                ++p; // the escaped byte, whatever it is
            }
            break;
        case '{':
        case '[':
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > limit)
                    return deepest;
            }
            break;
        case '}':
        case ']':
            if (depth > 0)
                --depth;
            break;
        default:
            break;
        }
    }
    return deepest;
}

parse_result parse(std::string_view payload, const parse_options& options)
{
    // The reader (as nlohmann's lexer) takes a NUL byte for the end of input and would ignore
    // what follows; valid JSON text never holds a raw NUL, so refuse it outright.
    if (payload.find('\0') != std::string_view::npos)
        return invalid("payload contains a NUL byte");
    if (json_depth(payload, options.max_depth) > options.max_depth)
        return invalid("JSON nested deeper than " + std::to_string(options.max_depth) + " levels");
    // Events, not a tree: only the members used below are built (see envelope_reader). The
    // reader is this thread's, so its scratch buffers outlive the parse (json_sax_reader.hpp).
    thread_local json_sax_reader reader;
    envelope_reader j;
    if (!reader.parse(payload, j))
        return invalid("payload is not valid UTF-8 JSON");
    if (!j.is_object)
        return invalid("payload is not a JSON object");
    if (!j.type_is_string)
        return invalid("missing or non-string \"type\"");
    const std::string& type = j.type;
    const bool from_server = options.from == sender::server;
    std::string why;

    if (type == "ping" || type == "pong") {
        std::uint64_t id = 0;
        if (!read_id(j.id, id, why))
            return invalid(type + ": " + why);
        return valid(type == "ping" ? message{ping{id}} : message{pong{id}});
    } else if (type == "request" && !from_server) {
        request m;
        if (!read_id(j.id, m.id, why))
            return invalid("request: " + why);
        if (!j.body)
            return invalid("request: missing body");
        m.body = std::move(*j.body);
        return valid(std::move(m));
    } else if (type == "response" && from_server) {
        response m;
        if (!read_id(j.id, m.id, why))
            return invalid("response: " + why);
        const bool has_body = j.body.has_value(), has_error = j.error.has_value();
        if (has_body == has_error)
            return invalid("response: needs exactly one of body and error");
        if (has_error) {
            error_object e;
            if (!read_error_object(*j.error, e, why))
                return invalid("response: " + why);
            m.error = std::move(e);
        } else {
            m.body = std::move(*j.body);
        }
        return valid(std::move(m));
    } else if (type == "notify") {
        if (!j.body)
            return invalid("notify: missing body");
        return valid(notify{std::move(*j.body)});
    } else if (type == "goaway" && from_server) {
        goaway m;
        if (j.reason)
            m.reason = j.reason->is_string() ? j.reason->get<std::string>() : j.reason->dump();
        return valid(std::move(m));
    }
    // Unknown, or known but in the wrong direction: ignored by the receiver.
    return valid(unknown{type});
}

boost::system::error_code serialize(const message& msg, std::string& out,
                                    std::uint32_t max_frame_size)
{
    return write_frame(out, max_frame_size,
                       [&](frame_writer& w) { std::visit(payload_filler{w}, msg); });
}

boost::system::error_code serialize_request(std::uint64_t id, const json& body, std::string& out,
                                            std::uint32_t max_frame_size)
{
    return write_frame(out, max_frame_size, [&](frame_writer& w) { fill_request(w, id, body); });
}

boost::system::error_code serialize_response(std::uint64_t id, const json& body, std::string& out,
                                             std::uint32_t max_frame_size)
{
    return write_frame(out, max_frame_size, [&](frame_writer& w) { fill_response(w, id, body); });
}

std::string to_payload(const message& msg)
{
    std::string out;
    const auto ec = serialize(msg, out, std::numeric_limits<std::uint32_t>::max());
    if (ec)
        return {};
    return out.substr(frame_header_size);
}

std::string_view type_name(const message& msg)
{
    static constexpr std::string_view names[] = {"ping",   "pong",   "request", "response",
                                                 "notify", "goaway", "unknown"};
    if (const auto* u = std::get_if<unknown>(&msg))
        return u->type;
    return names[msg.index()];
}

} // namespace tether::wire
