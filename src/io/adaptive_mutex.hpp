#pragma once

// The pool lock: glibc's adaptive mutex, which spins briefly before sleeping. The pool's
// critical sections are tens of nanoseconds, so a contender nearly always gets the lock while
// spinning; std::mutex would put it to sleep in the kernel and wake it again (a lock convoy
// when two threads acquire and release in a loop). Satisfies Lockable (std::lock_guard,
// std::unique_lock, std::condition_variable_any).

#include <pthread.h>

namespace tether::detail {

class adaptive_mutex {
public:
    adaptive_mutex() noexcept
    {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
#if defined(__GLIBC__)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
        pthread_mutex_init(&m_, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    ~adaptive_mutex() { pthread_mutex_destroy(&m_); }
    adaptive_mutex(const adaptive_mutex&) = delete;
    adaptive_mutex& operator=(const adaptive_mutex&) = delete;

    void lock() noexcept { pthread_mutex_lock(&m_); }
    bool try_lock() noexcept { return pthread_mutex_trylock(&m_) == 0; }
    void unlock() noexcept { pthread_mutex_unlock(&m_); }

private:
    pthread_mutex_t m_;
};

} // namespace tether::detail
