#pragma once

// A strict reader of the Prometheus text exposition format 0.0.4, for tests that check what
// tether renders: families with their help and type, samples with their labels (unescaped)
// and values (timestamps ignored). Empty lines and comments other than # HELP and # TYPE are
// skipped, as the format says; anything else it does not understand is an error with the line.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tether::test {

struct parsed_sample {
    std::string name; ///< as written: a histogram's carry _bucket, _sum or _count
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct parsed_family {
    std::string name;
    std::string help; ///< unescaped
    std::string type; ///< "counter", "gauge", "histogram", ...
    std::vector<parsed_sample> samples;
};

struct exposition {
    std::vector<parsed_family> families;
    std::vector<std::string> errors; ///< "line N: what"; empty when the text is well formed

    const parsed_family* family(std::string_view name) const;
    /// The value of the sample `name` (a family's or a histogram's _bucket/_sum/_count) whose
    /// labels include `labels`; nullopt when none does, and when several do.
    std::optional<double> value(std::string_view name,
                                const std::map<std::string, std::string>& labels = {}) const;
};

/// Reads `text`. A sample must follow its family's # HELP and # TYPE; families appear once.
exposition parse_exposition(std::string_view text);

} // namespace tether::test
