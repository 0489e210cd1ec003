#pragma once
// An asynchronous counting semaphore.
//
// acquire() waits, without blocking the loop, until a permit is free; waiters
// are served in FIFO order. Cancellation: a waiting acquire that is cancelled
// through its cancellation slot (any cancellation type) leaves the queue and
// completes with `operation_aborted`, having taken nothing. Destroying the
// semaphore completes every waiter with `operation_aborted`.
// Threads: every member may be called from any thread (the count and the
// queue are under a mutex); a waiter completes on its own handler's
// associated executor (a coroutine resumes on its own executor, or strand),
// never inline in release().

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <mutex>
#include <utility>

namespace fanout {

class semaphore {
  public:
    using executor_type = boost::asio::any_io_executor;

    semaphore(executor_type executor, std::size_t permits);
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    ~semaphore();

    executor_type get_executor() const noexcept { return executor_; }

    /// Takes a permit if one is free and nobody waits.
    bool try_acquire() noexcept;

    /// Completes with an empty error_code once a permit is held, or with
    /// operation_aborted if cancelled first. Signature: void(error_code).
    template <class CompletionToken>
    auto async_acquire(CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [this](auto handler) { initiate_acquire(std::move(handler)); }, token);
    }

    /// Coroutine form: returns holding a permit; throws system_error
    /// (operation_aborted) if cancelled first.
    boost::asio::awaitable<void> acquire();

    /// Returns a permit: the oldest waiter, if any, gets it.
    void release() noexcept;

    std::size_t available() const noexcept;
    std::size_t waiting() const noexcept;

  private:
    struct waiter;
    struct canceller;
    using handler_type = boost::asio::any_completion_handler<void(boost::system::error_code)>;

    void initiate_acquire(handler_type handler);
    bool take_locked() noexcept;
    void unlink_locked(waiter* w) noexcept;
    static void complete(waiter* w, boost::system::error_code ec);

    executor_type executor_;
    mutable std::mutex mutex_;
    std::size_t permits_;
    std::size_t waiting_ = 0;
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
};

/// Holds one permit of a semaphore and returns it when destroyed.
class semaphore_permit {
  public:
    semaphore_permit() = default;
    explicit semaphore_permit(semaphore& owner) noexcept : owner_(&owner) {}
    semaphore_permit(semaphore_permit&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)) {}
    semaphore_permit& operator=(semaphore_permit&& other) noexcept {
        if (this != &other) {
            reset();
            owner_ = std::exchange(other.owner_, nullptr);
        }
        return *this;
    }
    ~semaphore_permit() { reset(); }
    void reset() noexcept {
        if (owner_) std::exchange(owner_, nullptr)->release();
    }

  private:
    semaphore* owner_ = nullptr;
};

}  // namespace fanout
