#include "workloads.hpp"

#include <algorithm>

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
    // Over TLS, the shapes that tell most: the headline closed loop, deep pipelining (many
    // records per read), big bodies (encryption per byte).
    for (const char* plain : {"closed 8x8 64B", "pipelined d128 64B", "closed 8x8 4KiB"}) {
        workload w = *std::find_if(out.begin(), out.end(),
                                   [&](const workload& x) { return x.name == plain; });
        w.name += " tls";
        w.tls = true;
        out.push_back(w);
    }
    return out;
}

bool same_shape(const workload& a, const workload& b)
{
    return a.pipelined == b.pipelined && a.callers == b.callers && a.links == b.links &&
           a.depth == b.depth && a.body_bytes == b.body_bytes;
}

std::string connect_section_name(std::size_t links)
{
    return "connect x" + std::to_string(links) + " plain+tls";
}

nlohmann::json body_of_size(std::size_t bytes)
{
    const std::size_t overhead = nlohmann::json{{"p", ""}}.dump().size();
    return nlohmann::json{{"p", std::string(bytes > overhead ? bytes - overhead : 0, 'x')}};
}

} // namespace tether_bench
