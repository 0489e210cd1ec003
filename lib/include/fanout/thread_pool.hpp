#pragma once
// `thread_pool`: a fixed set of worker threads behind a bounded FIFO queue,
// the place where `offload` (offload.hpp) runs blocking and CPU-bound calls.
//
// Errors: the constructor throws `std::invalid_argument` for zero threads or
// a zero queue capacity, and `std::system_error` if a thread cannot start.
// Nothing else throws; an exception thrown by offloaded work goes back to
// whoever offloaded it.
//
// Cancellation and stop: work that has not started yet (queued, or waiting
// for room in the queue) can be cancelled and then never runs. Work that has
// started runs to its end and keeps its worker until then, because a thread
// cannot be killed. `stop()` (and the destructor) refuses new work, cancels
// all work not yet started, so every such offload completes with
// `boost::asio::error::operation_aborted`, waits for the work already
// running to finish (its offloads get their results), and joins the threads.

#include <cstddef>
#include <memory>

namespace fanout {

namespace detail {
class pool_state;
struct thread_pool_access;
}  // namespace detail

/// Worker threads with a bounded queue. Thread-safe: any number of threads
/// and event loops may offload to one pool at once.
///
/// A pool must be stopped or destroyed before the `io_context`s its offloads
/// complete on, or only once those offloads have completed: completions are
/// posted to the offloading coroutine's executor.
class thread_pool {
  public:
    /// Starts `threads` workers. At most `queue_capacity` offloads wait in
    /// the queue for a free worker; further ones wait, asynchronously and in
    /// FIFO order, for room in the queue.
    thread_pool(std::size_t threads, std::size_t queue_capacity);

    /// Starts `threads` workers with a queue of `4 * threads` offloads: deep
    /// enough that a worker finding its next job never waits on a loop, small
    /// enough that a flood of offloads backs up into the offloading
    /// coroutines instead of into the pool.
    explicit thread_pool(std::size_t threads);

    /// Calls `stop()`.
    ~thread_pool();

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    /// The number of worker threads.
    std::size_t size() const noexcept;

    /// How many offloads may wait in the queue for a free worker.
    std::size_t queue_capacity() const noexcept;

    /// Offloads in the queue now, not yet started (a snapshot, for monitoring).
    std::size_t queued() const noexcept;

    /// Offloads waiting for room in the queue now (a snapshot, for monitoring).
    std::size_t waiting() const noexcept;

    /// Refuses new work, completes every offload not yet started with
    /// `operation_aborted`, waits for the work running now and joins the
    /// threads. Idempotent; later offloads complete with `operation_aborted`
    /// at once. Must not be called from one of the pool's own threads.
    void stop();

  private:
    friend struct detail::thread_pool_access;
    // Shared with the offloads that can still be cancelled, whose cancellation
    // handlers may run after the pool object is gone.
    std::shared_ptr<detail::pool_state> state_;
};

}  // namespace fanout
