// The default number of io threads follows the CPUs the process may use: its affinity mask,
// lowered to a cgroup v2 CPU limit. The parsers are checked on text, the cgroup walk on a
// directory tree made here, the affinity on this thread narrowed to one CPU.

#include "cpu_budget.hpp"

#include <tether/config.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sched.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

using tether::detail::cgroup_cpu_limit;
using tether::detail::cgroup_v2_path;
using tether::detail::cpus_of_cpu_max;

TEST(CpuBudget, CpuMaxIsTheQuotaOverThePeriodRoundedUp)
{
    EXPECT_EQ(cpus_of_cpu_max("200000 100000\n"), 2u);
    EXPECT_EQ(cpus_of_cpu_max("150000 100000"), 2u);
    EXPECT_EQ(cpus_of_cpu_max("50000 100000"), 1u); // half a CPU still needs a thread
    EXPECT_EQ(cpus_of_cpu_max("1 100000"), 1u);
    EXPECT_EQ(cpus_of_cpu_max("800000 100000\n"), 8u);
}

TEST(CpuBudget, CpuMaxWithoutALimitOrMalformedIsNoLimit)
{
    EXPECT_EQ(cpus_of_cpu_max("max 100000\n"), std::nullopt);
    EXPECT_EQ(cpus_of_cpu_max(""), std::nullopt);
    EXPECT_EQ(cpus_of_cpu_max("100000"), std::nullopt);
    EXPECT_EQ(cpus_of_cpu_max("abc 100000"), std::nullopt);
    EXPECT_EQ(cpus_of_cpu_max("100000 0"), std::nullopt);
    EXPECT_EQ(cpus_of_cpu_max("-5 100000"), std::nullopt);
}

TEST(CpuBudget, TheV2PathIsTheZeroLine)
{
    EXPECT_EQ(cgroup_v2_path("0::/user.slice/app.scope\n"), "/user.slice/app.scope");
    EXPECT_EQ(cgroup_v2_path("4:memory:/x\n3:cpu:/y\n0::/\n"), "/");
    EXPECT_EQ(cgroup_v2_path("4:memory:/x\n1:cpu:/y\n"), std::nullopt); // cgroup v1 only
    EXPECT_EQ(cgroup_v2_path(""), std::nullopt);
}

class CgroupTree : public ::testing::Test {
protected:
    void SetUp() override
    {
        root_ = std::filesystem::temp_directory_path() /
                ("tether-cgroup-" + std::to_string(::getpid()));
        std::filesystem::remove_all(root_);
        std::filesystem::create_directories(root_ / "kubepods" / "pod" / "app");
    }
    void TearDown() override { std::filesystem::remove_all(root_); }
    void write(const std::string& rel, const std::string& text)
    {
        std::ofstream(root_ / rel / "cpu.max") << text;
    }
    std::filesystem::path root_;
};

TEST_F(CgroupTree, TheSmallestLimitOnTheWayUpApplies)
{
    write("kubepods/pod/app", "max 100000\n");
    write("kubepods/pod", "300000 100000\n");
    write("kubepods", "600000 100000\n");
    EXPECT_EQ(cgroup_cpu_limit(root_.string(), "/kubepods/pod/app\n"), 3u);
    write("kubepods/pod/app", "100000 100000\n");
    EXPECT_EQ(cgroup_cpu_limit(root_.string(), "/kubepods/pod/app"), 1u);
}

TEST_F(CgroupTree, NoLimitAnywhereOrNoFilesIsNoLimit)
{
    EXPECT_EQ(cgroup_cpu_limit(root_.string(), "/kubepods/pod/app"), std::nullopt);
    write("kubepods/pod/app", "max 100000\n");
    EXPECT_EQ(cgroup_cpu_limit(root_.string(), "/kubepods/pod/app"), std::nullopt);
    EXPECT_EQ(cgroup_cpu_limit(root_.string(), "/not/there"), std::nullopt);
}

// Restores the calling thread's affinity mask on scope exit.
class affinity_guard {
public:
    affinity_guard() { ok_ = ::sched_getaffinity(0, sizeof saved_, &saved_) == 0; }
    ~affinity_guard()
    {
        if (ok_)
            ::sched_setaffinity(0, sizeof saved_, &saved_);
    }
    affinity_guard(const affinity_guard&) = delete;
    affinity_guard& operator=(const affinity_guard&) = delete;
    bool ok() const { return ok_; }
    const cpu_set_t& saved() const { return saved_; }

private:
    cpu_set_t saved_{};
    bool ok_ = false;
};

TEST(CpuBudget, AThreadPinnedToOneCpuDefaultsToOneIoThread)
{
    affinity_guard guard;
    ASSERT_TRUE(guard.ok());
    std::size_t first = CPU_SETSIZE;
    for (std::size_t cpu = 0; cpu < CPU_SETSIZE && first == CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &guard.saved()))
            first = cpu;
    ASSERT_LT(first, std::size_t{CPU_SETSIZE});
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);
    EXPECT_EQ(tether::default_io_threads(), 1u);
    EXPECT_EQ(tether::pool_config{}.io_threads, 1u);
}

TEST(CpuBudget, TheDefaultNeverExceedsTheAffinityNorTheMachine)
{
    affinity_guard guard;
    ASSERT_TRUE(guard.ok());
    const unsigned allowed = static_cast<unsigned>(CPU_COUNT(&guard.saved()));
    const unsigned n = tether::default_io_threads();
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, allowed);
    EXPECT_LE(n, std::max(1u, std::thread::hardware_concurrency()));
}

} // namespace
