#pragma once
// Internals of offload.hpp: one offload as the pool sees it (`pool_job`, whose
// queueing and cancellation live in thread_pool.cpp) and the typed operation
// that holds the work, its result and the completion handler (`offload_op`).
//
// Errors: the work's exception is caught on the worker and handed to the
// handler; allocating the operation may throw `std::bad_alloc` from the
// initiating call. Cancellation: see `submit`.

#include <fanout/thread_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace fanout::detail {

/// Room inside a job for its posted completion, so that posting
/// from the worker to an io_context allocates nothing. An io_context
/// operation wrapping a `job_completion` takes about 48 bytes in Boost 1.81;
/// anything larger falls back to the heap.
class completion_storage {
  public:
    void* allocate(std::size_t bytes, std::size_t alignment) {
        if (!in_use_ && bytes <= sizeof(bytes_) && alignment <= alignof(std::max_align_t)) {
            in_use_ = true;
            return bytes_;
        }
        return ::operator new(bytes);
    }
    void deallocate(void* pointer) noexcept {
        if (pointer == bytes_) {
            in_use_ = false;
        } else {
            ::operator delete(pointer);
        }
    }

  private:
    alignas(std::max_align_t) unsigned char bytes_[96];  // NOLINT: raw storage
    bool in_use_ = false;
};

template <class T>
class completion_allocator {
  public:
    using value_type = T;

    explicit completion_allocator(completion_storage& storage) noexcept : storage_(&storage) {}
    template <class U>
    completion_allocator(const completion_allocator<U>& other) noexcept  // NOLINT: rebinding
        : storage_(other.storage_) {}

    T* allocate(std::size_t count) {
        return static_cast<T*>(storage_->allocate(count * sizeof(T), alignof(T)));
    }
    void deallocate(T* pointer, std::size_t) noexcept { storage_->deallocate(pointer); }

    template <class U>
    bool operator==(const completion_allocator<U>& other) const noexcept {
        return storage_ == other.storage_;
    }

  private:
    template <class>
    friend class completion_allocator;
    completion_storage* storage_;
};

/// One offload as the pool sees it. thread_pool.cpp moves it between the
/// pool's lists under the pool's lock; the derived `offload_op` holds the rest.
class pool_job {
  public:
    enum class stage : unsigned char { waiting, queued, running, aborted };

    pool_job(const pool_job&) = delete;
    pool_job& operator=(const pool_job&) = delete;

    /// On a worker: runs the work and keeps its result or its exception.
    virtual void run() noexcept = 0;

    /// Sends the end of the job (its result, or `operation_aborted` when
    /// `aborted`) to the handler's executor, as a `job_completion`.
    /// Afterwards `*this` belongs to that executor and may already be gone.
    virtual void complete(bool aborted) noexcept = 0;

    /// On the handler's executor: frees the job and calls the handler.
    virtual void finish() = 0;

    /// Frees the job without calling the handler.
    virtual void abandon() noexcept = 0;

    /// Where the posted `job_completion` is allocated.
    completion_storage storage;

    // The pool's bookkeeping, guarded by the pool's lock.
    pool_job* prev = nullptr;
    pool_job* next = nullptr;
    stage where = stage::waiting;
    std::shared_ptr<pool_state> pool;  ///< set only when the job can be cancelled

  protected:
    pool_job() = default;
    ~pool_job() = default;
};

/// Hands `job` to `pool`: into the queue if there is room, else to the FIFO of
/// offloads waiting for room, or, if the pool has stopped, straight to
/// `job.complete(true)`. When `slot` is connected it gets a handler that, on
/// any cancellation type, takes the job back out if it has not started and
/// completes it aborted; a started job ignores cancellation. The handler
/// stays installed until the job's completion clears it, on the handler's
/// executor, so cancellation and completion never race.
void submit(thread_pool& pool, pool_job& job, boost::asio::cancellation_slot slot);

/// The function posted to the handler's executor when a job ends. It owns
/// the job: if the executor is destroyed without running it, the job is
/// abandoned (freed, handler not called).
class job_completion {
  public:
    using allocator_type = completion_allocator<void>;

    explicit job_completion(pool_job& job) noexcept : job_(&job) {}
    job_completion(job_completion&& other) noexcept : job_(std::exchange(other.job_, nullptr)) {}
    job_completion& operator=(job_completion&&) = delete;
    ~job_completion() {
        if (job_) job_->abandon();
    }

    allocator_type get_allocator() const noexcept { return allocator_type(job_->storage); }

    void operator()() { std::exchange(job_, nullptr)->finish(); }

  private:
    pool_job* job_;
};

/// Posts `job`'s completion through `work`, a tracked executor.
template <class Executor>
void post_completion(Executor& work, pool_job& job) {
    boost::asio::post(work, job_completion(job));
}

/// The same for coroutines' `any_io_executor`: when it wraps an io_context's
/// executor, posts through that, so the completion lands in `job.storage`
/// instead of two heap blocks.
void post_completion(boost::asio::any_io_executor& work, pool_job& job);

template <class R>
struct offload_signature {
    using type = void(std::exception_ptr, R);
};
template <>
struct offload_signature<void> {
    using type = void(std::exception_ptr);
};

/// The work `Fn`, its result, and the completion handler, in one allocation
/// made with the handler's associated allocator (Asio's per-thread recycling
/// allocator by default).
template <class Fn, class Handler>
class offload_op final : public pool_job {
    using result_type = std::invoke_result_t<Fn>;
    using allocator_type = typename std::allocator_traits<boost::asio::associated_allocator_t<
        Handler, boost::asio::recycling_allocator<void>>>::template rebind_alloc<offload_op>;
    using work_executor = std::decay_t<decltype(boost::asio::prefer(
        std::declval<boost::asio::associated_executor_t<Handler>>(),
        boost::asio::execution::outstanding_work.tracked))>;

  public:
    template <class F, class H>
    static void start(thread_pool& pool, F&& fn, H&& handler) {
        allocator_type allocator(boost::asio::get_associated_allocator(
            handler, boost::asio::recycling_allocator<void>()));
        offload_op* op = std::allocator_traits<allocator_type>::allocate(allocator, 1);
        try {
            op = ::new (static_cast<void*>(op))
                offload_op(std::forward<F>(fn), std::forward<H>(handler), allocator);
        } catch (...) {
            std::allocator_traits<allocator_type>::deallocate(allocator, op, 1);
            throw;
        }
        try {
            submit(pool, *op, op->slot_);
        } catch (...) {  // nothing was queued: installing the cancellation handler failed
            op->abandon();
            throw;
        }
    }

  private:
    template <class F, class H>
    offload_op(F&& fn, H&& handler, const allocator_type& allocator)
        : fn_(std::forward<F>(fn)),
          handler_(std::forward<H>(handler)),
          work_(boost::asio::prefer(boost::asio::get_associated_executor(handler_),
                                    boost::asio::execution::outstanding_work.tracked)),
          slot_(boost::asio::get_associated_cancellation_slot(handler_)),
          allocator_(allocator) {}

    ~offload_op() = default;

    void run() noexcept override {
        try {
            if constexpr (std::is_void_v<result_type>) {
                std::invoke(std::move(fn_));
            } else {
                result_.emplace(std::invoke(std::move(fn_)));
            }
        } catch (...) {
            error_ = std::current_exception();
        }
    }

    void complete(bool aborted) noexcept override {
        aborted_ = aborted;
        // The posted completion may run, and free *this, before post returns:
        // the work guard moves to this frame and is released after the post.
        work_executor work(std::move(work_));
        post_completion(work, *this);
    }

    void finish() override {
        if (slot_.is_connected()) slot_.clear();
        Handler handler(std::move(handler_));
        std::exception_ptr error = aborted_ ? std::make_exception_ptr(boost::system::system_error(
                                                  boost::asio::error::operation_aborted))
                                            : std::move(error_);
        if constexpr (std::is_void_v<result_type>) {
            destroy();
            std::move(handler)(std::move(error));
        } else {
            // Boost 1.81's completion signature needs a value even on failure.
            result_type value = result_ ? std::move(*result_) : result_type{};
            destroy();
            std::move(handler)(std::move(error), std::move(value));
        }
    }

    void abandon() noexcept override {
        if (slot_.is_connected()) slot_.clear();
        destroy();
    }

    void destroy() noexcept {
        allocator_type allocator(allocator_);
        this->~offload_op();
        std::allocator_traits<allocator_type>::deallocate(allocator, this, 1);
    }

    Fn fn_;
    Handler handler_;
    work_executor work_;
    boost::asio::cancellation_slot slot_;
    allocator_type allocator_;
    std::conditional_t<std::is_void_v<result_type>, bool, std::optional<result_type>> result_{};
    std::exception_ptr error_;
    bool aborted_ = false;
};

/// The `async_initiate` initiation of `async_offload`.
class initiate_offload {
  public:
    explicit initiate_offload(thread_pool& pool) noexcept : pool_(&pool) {}

    template <class Handler, class Fn>
    void operator()(Handler&& handler, Fn&& fn) const {
        offload_op<std::decay_t<Fn>, std::decay_t<Handler>>::start(*pool_, std::forward<Fn>(fn),
                                                                   std::forward<Handler>(handler));
    }

  private:
    thread_pool* pool_;
};

}  // namespace fanout::detail
