#pragma once

// Runs Prometheus' promtool (Debian package `prometheus`, installed by scripts/install-deps.sh)
// on what tether renders, for tests that must fail on any complaint.

#include <string>
#include <string_view>

namespace tether::test {

struct promtool_result {
    int exit_code = -1;
    std::string output; ///< stdout and stderr together
};

/// promtool is on PATH.
bool promtool_available();

/// `promtool check metrics` with `text` on its stdin (lint included: exit code 3 on a lint
/// problem, 1 on a parse error).
promtool_result promtool_check_metrics(std::string_view text);

/// `promtool check rules` on a rules file holding `yaml`.
promtool_result promtool_check_rules(std::string_view yaml);

/// `promtool check config` on a Prometheus configuration file holding `yaml`.
promtool_result promtool_check_config(std::string_view yaml);

} // namespace tether::test
