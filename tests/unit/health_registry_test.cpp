// Unit tests of the health registry behind the pool's single health tick: owners publish when
// they next need looking at, a tick collects those due exactly once per publish.

#include "io/health_registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct owner {
    int id = 0;
};

using registry = tether::detail::health_registry<owner>;

std::vector<int> ids_of(const std::vector<std::shared_ptr<owner>>& owners)
{
    std::vector<int> ids;
    for (const auto& o : owners)
        ids.push_back(o->id);
    std::sort(ids.begin(), ids.end());
    return ids;
}

TEST(HealthRegistry, CollectsOnlyOwnersDueByTheGivenTime)
{
    registry r;
    const auto t0 = clock_type::now();
    auto* a = r.enroll(std::make_shared<owner>(owner{1}));
    auto* b = r.enroll(std::make_shared<owner>(owner{2}));
    auto* c = r.enroll(std::make_shared<owner>(owner{3}));
    a->publish(t0 + 10ms);
    b->publish(t0 + 20ms);
    c->publish(clock_type::time_point::max());

    std::vector<std::shared_ptr<owner>> due;
    EXPECT_EQ(r.collect_due(t0 + 5ms, due), 3u);
    EXPECT_TRUE(due.empty());
    r.collect_due(t0 + 10ms, due); // due exactly at the limit counts
    EXPECT_EQ(ids_of(due), std::vector<int>{1});
    due.clear();
    r.collect_due(t0 + 1h, due);
    EXPECT_EQ(ids_of(due), std::vector<int>{2}); // 1 was collected already, 3 is never due
}

TEST(HealthRegistry, AnOwnerIsCollectedOncePerPublish)
{
    registry r;
    const auto t0 = clock_type::now();
    auto* a = r.enroll(std::make_shared<owner>(owner{1}));
    a->publish(t0);
    std::vector<std::shared_ptr<owner>> due;
    r.collect_due(t0 + 1s, due);
    r.collect_due(t0 + 2s, due);
    EXPECT_EQ(due.size(), 1u);
    a->publish(t0 + 1s);
    r.collect_due(t0 + 2s, due);
    EXPECT_EQ(due.size(), 2u);
}

TEST(HealthRegistry, WithdrawnOwnersAreReleasedAndTheirSlotsReused)
{
    registry r;
    const auto t0 = clock_type::now();
    auto first = std::make_shared<owner>(owner{1});
    auto* a = r.enroll(first);
    a->publish(t0);
    EXPECT_EQ(first.use_count(), 2);
    r.withdraw(a);
    EXPECT_EQ(first.use_count(), 1); // the registry let go of it
    EXPECT_EQ(r.size(), 0u);

    auto* b = r.enroll(std::make_shared<owner>(owner{2}));
    EXPECT_EQ(b, a) << "the freed slot is reused";
    std::vector<std::shared_ptr<owner>> due;
    r.collect_due(t0 + 1h, due);
    EXPECT_TRUE(due.empty()) << "a new owner is due never until it publishes";
    b->publish(t0);
    r.collect_due(t0 + 1h, due);
    EXPECT_EQ(ids_of(due), std::vector<int>{2});
}

TEST(HealthRegistry, SlotsStayValidWhileManyOwnersEnroll)
{
    registry r;
    const auto t0 = clock_type::now();
    std::vector<registry::slot*> slots;
    for (int i = 0; i < 5000; ++i)
        slots.push_back(r.enroll(std::make_shared<owner>(owner{i})));
    for (std::size_t i = 0; i < slots.size(); i += 2)
        slots[i]->publish(t0); // every even one due
    std::vector<std::shared_ptr<owner>> due;
    EXPECT_EQ(r.collect_due(t0, due), 5000u);
    ASSERT_EQ(due.size(), 2500u);
    for (const auto& o : due)
        EXPECT_EQ(o->id % 2, 0);
}

// Owners publish from their own threads while a ticker collects: every publish that is due is
// collected exactly once, none is lost to the race between a publish and the collector's reset.
TEST(HealthRegistry, ConcurrentPublishesAreNeverLost)
{
    registry r;
    constexpr int owners = 4;
    constexpr int rounds = 2000;
    std::vector<registry::slot*> slots;
    std::vector<std::shared_ptr<owner>> keep;
    for (int i = 0; i < owners; ++i) {
        keep.push_back(std::make_shared<owner>(owner{i}));
        slots.push_back(r.enroll(keep.back()));
    }
    // Each owner publishes "due now", then waits until collected before publishing again.
    std::vector<std::atomic<int>> collected(owners);
    std::atomic<bool> stop{false};
    std::thread ticker([&] {
        std::vector<std::shared_ptr<owner>> due;
        const auto give_up = clock_type::now() + 30s;
        while (!stop.load() && clock_type::now() < give_up) {
            r.collect_due(clock_type::now(), due);
            for (const auto& o : due)
                collected[static_cast<std::size_t>(o->id)].fetch_add(1);
            due.clear();
        }
    });
    std::vector<std::thread> publishers;
    for (int i = 0; i < owners; ++i) {
        publishers.emplace_back([&, i] {
            const auto give_up = clock_type::now() + 30s;
            for (int n = 1; n <= rounds && clock_type::now() < give_up; ++n) {
                slots[static_cast<std::size_t>(i)]->publish(clock_type::now());
                while (collected[static_cast<std::size_t>(i)].load() < n &&
                       clock_type::now() < give_up)
                    std::this_thread::yield();
            }
        });
    }
    for (auto& t : publishers)
        t.join();
    stop = true;
    ticker.join();
    for (int i = 0; i < owners; ++i)
        EXPECT_EQ(collected[static_cast<std::size_t>(i)].load(), rounds) << "owner " << i;
}

} // namespace
