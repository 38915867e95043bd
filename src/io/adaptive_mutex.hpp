#pragma once

// The pool lock: spins briefly, then sleeps on a futex (std::atomic::wait). The pool's critical
// sections are tens of nanoseconds, so a contender nearly always gets the lock while spinning;
// std::mutex would put it to sleep in the kernel and wake it again (a lock convoy when two
// threads acquire and release in a loop). Uncontended, lock is one compare-exchange and unlock
// one exchange, inlined: glibc's adaptive mutex, which this replaces, did the same atomics
// behind a call plus owner and user-count bookkeeping, a sixth of an acquire + release.
// Satisfies Lockable (std::lock_guard, std::unique_lock, std::condition_variable_any).

#include <atomic>

namespace tether::detail {

class adaptive_mutex {
public:
    adaptive_mutex() noexcept = default;
    adaptive_mutex(const adaptive_mutex&) = delete;
    adaptive_mutex& operator=(const adaptive_mutex&) = delete;

    void lock() noexcept
    {
        int expected = unlocked;
        if (state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                           std::memory_order_relaxed)) [[likely]]
            return;
        lock_contended();
    }

    bool try_lock() noexcept
    {
        int expected = unlocked;
        return state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }

    void unlock() noexcept
    {
        if (state_.exchange(unlocked, std::memory_order_release) == contended) [[unlikely]]
            state_.notify_one();
    }

private:
    static constexpr int unlocked = 0;
    static constexpr int locked = 1;    // held, nobody sleeping
    static constexpr int contended = 2; // held, and someone may sleep on it

    static void relax() noexcept
    {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield");
#endif
    }

    void lock_contended() noexcept
    {
        // A few microseconds of spinning: the holder is normally done long before.
        for (int i = 0; i < 128; ++i) {
            relax();
            int expected = unlocked;
            if (state_.load(std::memory_order_relaxed) == unlocked &&
                state_.compare_exchange_weak(expected, locked, std::memory_order_acquire,
                                             std::memory_order_relaxed))
                return;
        }
        // Then sleep. Whoever takes the lock from here marks it contended, so the unlock that
        // follows wakes the next sleeper (at worst one wake-up too many, never one too few).
        while (state_.exchange(contended, std::memory_order_acquire) != unlocked)
            state_.wait(contended, std::memory_order_relaxed);
    }

    std::atomic<int> state_{unlocked};
};

} // namespace tether::detail
