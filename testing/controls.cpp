#include "controls.hpp"

#include <limits>

namespace tether::testing::detail {
namespace {

using json = wire::json;

constexpr std::uint64_t max_sleep_ms = 3'600'000;
constexpr std::uint64_t max_notifies = 100'000;

} // namespace

std::string read_controls(const json& body, reply_plan& plan)
{
    if (!body.is_object())
        return {};
    const auto t = body.find("$test");
    if (t == body.end())
        return {};
    if (!t->is_object())
        return "\"$test\" must be an object";
    for (const auto& item : t->items()) {
        const std::string& key = item.key();
        const json& value = item.value();
        if (key == "sleep_ms") {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max_sleep_ms)
                return "sleep_ms must be an integer in 0.." + std::to_string(max_sleep_ms);
            plan.sleep =
                std::chrono::milliseconds(static_cast<std::int64_t>(value.get<std::uint64_t>()));
        } else if (key == "notify") {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max_notifies)
                return "notify must be an integer in 0.." + std::to_string(max_notifies);
            plan.notifies = value.get<std::uint64_t>();
        } else if (key == "error") {
            if (!value.is_object())
                return "error must be an object {\"code\": int, \"message\": string}";
            const auto code = value.find("code");
            const auto text = value.find("message");
            if (code == value.end() || !code->is_number_integer() ||
                (code->is_number_unsigned() &&
                 code->get<std::uint64_t>() >
                     static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
                return "error.code must be a 64-bit integer";
            if (text == value.end() || !text->is_string())
                return "error.message must be a string";
            plan.error = wire::error_object{code->get<std::int64_t>(), text->get<std::string>()};
        } else if (key == "close" || key == "reset" || key == "hang" || key == "no_reply" ||
                   key == "goaway" || key == "truncate") {
            if (!value.is_boolean())
                return key + " must be a boolean";
            const bool on = value.get<bool>();
            (key == "close"      ? plan.close
             : key == "reset"    ? plan.reset
             : key == "hang"     ? plan.hang
             : key == "goaway"   ? plan.goaway
             : key == "truncate" ? plan.truncate
                                 : plan.no_reply) = on;
        } else {
            return "unknown control \"" + key + "\"";
        }
    }
    return {};
}

} // namespace tether::testing::detail
