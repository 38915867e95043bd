#include "promtool.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace tether::test {
namespace {

// A file of `content` under $TMPDIR, removed when this goes.
class temp_file {
public:
    temp_file(std::string_view content, const char* suffix)
    {
        const char* dir = std::getenv("TMPDIR");
        path_ = std::string(dir ? dir : "/tmp") + "/tether-promtool-XXXXXX" + suffix;
        const int fd = ::mkstemps(path_.data(), static_cast<int>(std::string_view(suffix).size()));
        if (fd < 0)
            throw std::runtime_error("mkstemps failed for " + path_);
        ::close(fd);
        std::ofstream(path_, std::ios::binary)
            .write(content.data(), static_cast<std::streamsize>(content.size()));
    }
    ~temp_file() { std::remove(path_.c_str()); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

promtool_result run(const std::string& command)
{
    promtool_result r;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p)
        return r;
    char buf[4096];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, p))
        r.output.append(buf, n);
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

} // namespace

bool promtool_available()
{
    return run("command -v promtool >/dev/null").exit_code == 0;
}

promtool_result promtool_check_metrics(std::string_view text)
{
    const temp_file input(text, ".prom");
    return run("promtool check metrics < '" + input.path() + "'");
}

promtool_result promtool_check_rules(std::string_view yaml)
{
    const temp_file rules(yaml, ".yml");
    return run("promtool check rules '" + rules.path() + "'");
}

promtool_result promtool_check_config(std::string_view yaml)
{
    const temp_file config(yaml, ".yml");
    return run("promtool check config '" + config.path() + "'");
}

} // namespace tether::test
