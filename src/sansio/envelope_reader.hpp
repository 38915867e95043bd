#pragma once

// Reads a protocol message's top-level object straight from SAX events (nlohmann's interface,
// driven by json_sax_reader): only the members the protocol looks at become JSON values (id,
// body, error, reason; "type" as a plain string), so the envelope object itself, its map
// nodes, its other members and its destruction cost nothing. Duplicate members behave as in a
// parsed object: the last one wins.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace tether::wire {

class envelope_reader {
public:
    using json = nlohmann::json;

    // The result, once the SAX driver (json_sax_reader, or json::sax_parse) returned true.
    bool is_object = false;      ///< the payload is a JSON object
    bool type_is_string = false; ///< it has a "type" member and it is a string
    std::string type;            ///< that string
    std::optional<json> id, body, error, reason;

    // nlohmann's SAX interface.
    bool null() { return dom_ ? dom_->null() : scalar(nullptr); }
    bool boolean(bool v) { return dom_ ? dom_->boolean(v) : scalar(v); }
    bool number_integer(json::number_integer_t v)
    {
        return dom_ ? dom_->number_integer(v) : scalar(v);
    }
    bool number_unsigned(json::number_unsigned_t v)
    {
        return dom_ ? dom_->number_unsigned(v) : scalar(v);
    }
    bool number_float(json::number_float_t v, const json::string_t& s)
    {
        return dom_ ? dom_->number_float(v, s) : scalar(v);
    }
    bool string(json::string_t& v)
    {
        if (dom_)
            return dom_->string(v);
        if (depth_ == 1 && is_object && member_ == member::type) {
            type_is_string = true;
            type.assign(v); // copied: the lexer keeps its buffer for the next token
            return true;
        }
        return scalar(v);
    }
    bool binary(json::binary_t& v) { return dom_ ? dom_->binary(v) : scalar(v); }
    bool start_object(std::size_t n) { return open(true, n); }
    bool start_array(std::size_t n) { return open(false, n); }
    bool end_object() { return close(true); }
    bool end_array() { return close(false); }
    bool key(json::string_t& k)
    {
        if (dom_)
            return dom_->key(k);
        if (depth_ == 1 && is_object)
            member_ = k == "type"     ? member::type
                      : k == "id"     ? member::id
                      : k == "body"   ? member::body
                      : k == "error"  ? member::error
                      : k == "reason" ? member::reason
                                      : member::other;
        return true;
    }
    template <class Exception> bool parse_error(std::size_t, const std::string&, const Exception&)
    {
        return false;
    }

private:
    enum class member { other, type, id, body, error, reason };

    // The value of the current top-level member, emptied for it (the last duplicate wins); null
    // for members that are not kept. A non-string "type" is noted here.
    std::optional<json>* target()
    {
        switch (member_) {
        case member::type:
            type_is_string = false;
            return nullptr;
        case member::id:
            return &id;
        case member::body:
            return &body;
        case member::error:
            return &error;
        case member::reason:
            return &reason;
        case member::other:
            return nullptr;
        }
        return nullptr;
    }

    template <class T> bool scalar(T&& v)
    {
        if (depth_ == 1 && is_object)
            if (auto* t = target())
                t->emplace(std::forward<T>(v));
        return true;
    }

    bool open(bool object, std::size_t n)
    {
        if (depth_ == 0) {
            is_object = object;
        } else if (depth_ == 1 && is_object) {
            if (auto* t = target()) {
                // A kept member's container: built by nlohmann's own DOM builder.
                t->emplace();
                dom_.emplace(**t, /*allow_exceptions=*/false);
                dom_depth_ = depth_ + 1;
            }
        }
        ++depth_;
        if (dom_)
            return object ? dom_->start_object(n) : dom_->start_array(n);
        return true;
    }

    bool close(bool object)
    {
        bool ok = true;
        if (dom_) {
            ok = object ? dom_->end_object() : dom_->end_array();
            if (depth_ == dom_depth_)
                dom_.reset();
        }
        --depth_;
        return ok;
    }

    std::size_t depth_ = 0; // containers open, the top level included
    member member_ = member::other;
    std::optional<nlohmann::detail::json_sax_dom_parser<json>> dom_;
    std::size_t dom_depth_ = 0; // depth_ of the container dom_ builds
};

} // namespace tether::wire
