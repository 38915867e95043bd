#pragma once

// Command-line reading shared by the bench programs: numbers written out whole, and options given
// as "--name value" or "--name=value". These only parse; each program keeps its own messages and
// exit status for what they reject.

#include <charconv>
#include <optional>
#include <string_view>
#include <system_error>

namespace tether_bench {

/// `text` as a T if all of it is one number (std::from_chars syntax: decimal, no '+', no
/// spaces); nothing if it is empty, has anything after the number, or is out of T's range.
template <class T> std::optional<T> parse_number(std::string_view text)
{
    if (text.empty())
        return std::nullopt;
    T value{};
    const char* const last = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), last, value);
    if (ec != std::errc{} || ptr != last)
        return std::nullopt;
    return value;
}

/// The same, and only if it lies in [min, max].
template <class T> std::optional<T> parse_number(std::string_view text, T min, T max)
{
    const std::optional<T> value = parse_number<T>(text);
    if (!value || *value < min || *value > max)
        return std::nullopt;
    return value;
}

/// One command-line argument read as an option.
struct cli_option {
    std::string_view name;                        ///< the argument, or its part before the '='
    std::optional<std::string_view> inline_value; ///< the part after the '=' of "--name=value"
};

/// Splits "--name=value" at its first '='; any other argument is all name.
inline cli_option split_option(std::string_view arg)
{
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos)
        return {arg.substr(0, eq), arg.substr(eq + 1)};
    return {arg, std::nullopt};
}

/// The value of `option`, found at argv[i]: its inline value if it has one, else the next
/// argument (and `i` moves on to it); nothing when there is no next argument.
inline std::optional<std::string_view> option_value(const cli_option& option, int argc, char** argv,
                                                    int& i)
{
    if (option.inline_value)
        return option.inline_value;
    if (i + 1 >= argc)
        return std::nullopt;
    return argv[++i];
}

} // namespace tether_bench
