#include "exposition_parser.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace tether::test {
namespace {

bool is_name_char(char c, bool first)
{
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    return alpha || (!first && c >= '0' && c <= '9');
}

// A metric or label name at the start of `s` (consumed); empty when there is none.
std::string take_name(std::string_view& s)
{
    std::size_t n = 0;
    while (n < s.size() && is_name_char(s[n], n == 0))
        ++n;
    std::string name(s.substr(0, n));
    s.remove_prefix(n);
    return name;
}

// Undoes the escapes of help texts (\\, \n) and label values (also \").
std::optional<std::string> unescape(std::string_view s, bool quoted)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i == s.size())
            return std::nullopt;
        if (s[i] == '\\')
            out += '\\';
        else if (s[i] == 'n')
            out += '\n';
        else if (s[i] == '"' && quoted)
            out += '"';
        else
            return std::nullopt;
    }
    return out;
}

std::optional<double> parse_value(std::string_view s)
{
    if (s == "+Inf")
        return std::numeric_limits<double>::infinity();
    if (s == "-Inf")
        return -std::numeric_limits<double>::infinity();
    if (s == "NaN" || s == "Nan") // (prometheus-cpp writes the latter)
        return std::numeric_limits<double>::quiet_NaN();
    double v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}

// `{a="x",b="y"}` at the start of `s` (consumed), or nothing at all.
std::optional<std::map<std::string, std::string>> take_labels(std::string_view& s)
{
    std::map<std::string, std::string> labels;
    if (s.empty() || s.front() != '{')
        return labels;
    s.remove_prefix(1);
    while (!s.empty() && s.front() != '}') {
        const std::string name = take_name(s);
        if (name.empty() || s.size() < 2 || s[0] != '=' || s[1] != '"')
            return std::nullopt;
        s.remove_prefix(2);
        std::size_t end = 0; // the closing quote: the first one not escaped
        while (end < s.size() && s[end] != '"')
            end += s[end] == '\\' ? 2u : 1u;
        if (end >= s.size())
            return std::nullopt;
        auto value = unescape(s.substr(0, end), true);
        if (!value || !labels.emplace(name, std::move(*value)).second)
            return std::nullopt; // a bad escape, or a label given twice
        s.remove_prefix(end + 1);
        if (!s.empty() && s.front() == ',')
            s.remove_prefix(1);
    }
    if (s.empty())
        return std::nullopt;
    s.remove_prefix(1);
    return labels;
}

// Whether a sample named `name` belongs to `f`: its own name, or a histogram's or summary's
// series.
bool belongs_to(const parsed_family& f, std::string_view name)
{
    const bool histogram = f.type == "histogram";
    if (name == f.name)
        return !histogram;
    if ((!histogram && f.type != "summary") || name.substr(0, f.name.size()) != f.name)
        return false;
    const auto suffix = name.substr(f.name.size());
    return (histogram && suffix == "_bucket") || suffix == "_sum" || suffix == "_count";
}

} // namespace

const parsed_family* exposition::family(std::string_view name) const
{
    for (const auto& f : families)
        if (f.name == name)
            return &f;
    return nullptr;
}

std::optional<double> exposition::value(std::string_view name,
                                        const std::map<std::string, std::string>& labels) const
{
    std::optional<double> found;
    for (const auto& f : families)
        for (const auto& s : f.samples) {
            if (s.name != name)
                continue;
            bool match = true;
            for (const auto& [k, v] : labels) {
                const auto it = s.labels.find(k);
                match = match && it != s.labels.end() && it->second == v;
            }
            if (!match)
                continue;
            if (found)
                return std::nullopt; // ambiguous
            found = s.value;
        }
    return found;
}

exposition parse_exposition(std::string_view text)
{
    exposition e;
    std::size_t line_no = 0;
    std::string pending_help_name, pending_help;
    const auto fail = [&](const std::string& what) {
        e.errors.push_back("line " + std::to_string(line_no) + ": " + what);
    };
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) {
            fail("no newline at the end");
            break;
        }
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.substr(0, 7) == "# HELP ") {
            line.remove_prefix(7);
            pending_help_name = take_name(line);
            auto help = line.empty() ? std::optional<std::string>("")
                                     : (line.front() == ' ' ? unescape(line.substr(1), false)
                                                            : std::nullopt);
            if (pending_help_name.empty() || !help)
                fail("bad # HELP");
            pending_help = help.value_or("");
            continue;
        }
        if (line.substr(0, 7) == "# TYPE ") {
            line.remove_prefix(7);
            parsed_family f;
            f.name = take_name(line);
            if (f.name.empty() || line.empty() || line.front() != ' ')
                fail("bad # TYPE");
            f.type = std::string(line.substr(line.empty() ? 0 : 1));
            if (f.name != pending_help_name)
                fail("# TYPE " + f.name + " without its # HELP just before");
            if (e.family(f.name))
                fail("family " + f.name + " appears twice");
            f.help = pending_help;
            e.families.push_back(std::move(f));
            continue;
        }
        if (line.empty() || line.front() == '#')
            continue; // the format ignores empty lines and other comments

        parsed_sample s;
        s.name = take_name(line);
        auto labels = take_labels(line);
        if (s.name.empty() || !labels || line.empty() || line.front() != ' ') {
            fail("bad sample line");
            continue;
        }
        s.labels = std::move(*labels);
        line.remove_prefix(1);
        line = line.substr(0, line.find(' ')); // an optional timestamp follows
        const auto v = parse_value(line);
        if (!v) {
            fail("bad value in " + s.name);
            continue;
        }
        s.value = *v;
        if (e.families.empty() || !belongs_to(e.families.back(), s.name)) {
            fail("sample " + s.name + " outside its family");
            continue;
        }
        e.families.back().samples.push_back(std::move(s));
    }
    return e;
}

} // namespace tether::test
