// Unit tests of the library's one way to stderr (src/io/log.hpp): the line it writes, the
// severities it keeps, and the detached runner reporting an escaped exception through it.
// The test sink stands in for stderr, so nothing here reads the process's own stderr.

#include "io/detached_runner.hpp"
#include "io/log.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using tether::detail::log_severity;

/// Collects what log_message would have written to stderr while it lives.
class captured_log {
public:
    captured_log()
    {
        tether::detail::set_log_sink_for_testing([this](log_severity s, std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(s, std::string(line));
            cv_.notify_all();
        });
    }
    ~captured_log() { tether::detail::set_log_sink_for_testing({}); }
    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;

    std::vector<std::pair<log_severity, std::string>> lines()
    {
        std::lock_guard lock(mutex_);
        return lines_;
    }

    /// Waits (up to 10 s) until at least `n` lines arrived; returns them.
    std::vector<std::pair<log_severity, std::string>> wait_for(std::size_t n)
    {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, std::chrono::seconds(10), [&] { return lines_.size() >= n; });
        return lines_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::pair<log_severity, std::string>> lines_;
};

TEST(Log, WarnAndErrorAreWrittenAsOnePrefixedLine)
{
    captured_log log;
    tether::detail::log_message(log_severity::warn, "a warning");
    tether::detail::log_message(log_severity::error, "an error: with detail");
    tether::detail::log_message(log_severity::error, "");
    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].first, log_severity::warn);
    EXPECT_EQ(lines[0].second, "tether: a warning\n");
    EXPECT_EQ(lines[1].first, log_severity::error);
    EXPECT_EQ(lines[1].second, "tether: an error: with detail\n");
    EXPECT_EQ(lines[2].second, "tether: \n");
}

TEST(Log, DebugAndInfoAreNotWritten)
{
    captured_log log;
    tether::detail::log_message(log_severity::debug, "debug");
    tether::detail::log_message(log_severity::info, "info");
    EXPECT_TRUE(log.lines().empty());
}

TEST(Log, TextIsWrittenWhole)
{
    captured_log log;
    const std::string long_text(10'000, 'x');
    using namespace std::string_view_literals;
    tether::detail::log_message(log_severity::error, "nul\0inside"sv);
    tether::detail::log_message(log_severity::error, long_text);
    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].second, "tether: nul\0inside\n"sv);
    EXPECT_EQ(lines[1].second, "tether: " + long_text + "\n");
}

/// Runs functions inline and lets their exceptions out, which Asio's system executor does not (it
/// calls std::terminate): the case the detached runner's catch is there for.
struct inline_executor {
    boost::asio::execution_context* context;

    template <class F> void execute(F&& f) const { std::forward<F>(f)(); }
    boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept
    {
        return *context;
    }
    friend bool operator==(const inline_executor&, const inline_executor&) = default;
};

TEST(Log, DetachedRunnerReportsAnEscapedExceptionThroughIt)
{
    captured_log log;
    boost::asio::execution_context context;
    const inline_executor ex{&context};
    tether::detail::run_detached(
        boost::asio::bind_executor(ex, [] { throw std::runtime_error("boom"); }));
    tether::detail::run_detached(boost::asio::bind_executor(ex, [] { throw 42; }));
    const auto lines = log.wait_for(2);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].first, log_severity::error);
    EXPECT_EQ(lines[0].second, "tether: exception escaped a handler: boom\n");
    EXPECT_EQ(lines[1].first, log_severity::error);
    EXPECT_EQ(lines[1].second, "tether: exception escaped a handler\n");
}

} // namespace
