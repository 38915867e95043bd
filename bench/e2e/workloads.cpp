#include "workloads.hpp"

namespace tether_bench {

namespace {

std::string size_name(std::size_t bytes)
{
    return bytes % 1024 == 0 ? std::to_string(bytes / 1024) + "KiB" : std::to_string(bytes) + "B";
}

} // namespace

std::vector<workload> standard_workloads()
{
    struct closed_shape {
        std::size_t callers, links;
    };
    std::vector<workload> out;
    for (const std::size_t bytes : {std::size_t{64}, std::size_t{4096}}) {
        for (const closed_shape c : {closed_shape{1, 1}, closed_shape{8, 8}, closed_shape{64, 8}})
            out.push_back({"closed " + std::to_string(c.callers) + "x" + std::to_string(c.links) +
                               " " + size_name(bytes),
                           false, c.callers, c.links, 0, bytes});
        for (const std::size_t depth : {std::size_t{1}, std::size_t{16}, std::size_t{128}})
            out.push_back({"pipelined d" + std::to_string(depth) + " " + size_name(bytes), true, 1,
                           1, depth, bytes});
    }
    return out;
}

nlohmann::json body_of_size(std::size_t bytes)
{
    const std::size_t overhead = nlohmann::json{{"p", ""}}.dump().size();
    return nlohmann::json{{"p", std::string(bytes > overhead ? bytes - overhead : 0, 'x')}};
}

} // namespace tether_bench
