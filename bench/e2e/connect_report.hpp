#pragma once

// The connect section's figures (connect_cost.hpp): medians over rounds per implementation and
// transport, TLS/plaintext and tether/raw ratios, as a table and as JSON.

#include "connect_cost.hpp"

#include <nlohmann/json.hpp>

#include <iosfwd>

namespace tether_bench {

void print_connect_table(std::ostream& out, const connect_runs& runs);
nlohmann::json to_json(const connect_runs& runs);

} // namespace tether_bench
