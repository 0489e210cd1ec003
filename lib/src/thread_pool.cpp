// The pool's workers, its bounded queue, the FIFO of offloads waiting for
// room, and what cancellation and stop() do to a job that has not started.
#include <fanout/detail/offload_op.hpp>
#include <fanout/thread_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace fanout {

namespace net = boost::asio;
using detail::pool_job;

namespace {

/// A FIFO of jobs linked through their own `prev`/`next`: no allocation, and
/// a cancelled job leaves from the middle in O(1).
class job_list {
  public:
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }

    void push_back(pool_job& job) noexcept {
        job.prev = tail_;
        job.next = nullptr;
        (tail_ ? tail_->next : head_) = &job;
        tail_ = &job;
        ++size_;
    }

    pool_job& pop_front() noexcept {
        pool_job& job = *head_;
        erase(job);
        return job;
    }

    void erase(pool_job& job) noexcept {
        (job.prev ? job.prev->next : head_) = job.next;
        (job.next ? job.next->prev : tail_) = job.prev;
        job.prev = job.next = nullptr;
        --size_;
    }

  private:
    pool_job* head_ = nullptr;
    pool_job* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace

class detail::pool_state {
  public:
    explicit pool_state(std::size_t capacity) : capacity(capacity) {}

    /// Moves the oldest waiting job into the queue while there is room.
    /// Returns how many moved. Caller holds `mutex`.
    std::size_t admit_waiting() noexcept {
        std::size_t admitted = 0;
        while (!waiting.empty() && queued.size() < capacity) {
            pool_job& job = waiting.pop_front();
            job.where = pool_job::stage::queued;
            queued.push_back(job);
            ++admitted;
        }
        return admitted;
    }

    void work() {
        std::unique_lock lock(mutex);
        for (;;) {
            job_ready.wait(lock, [this] { return stopping || !queued.empty(); });
            if (queued.empty()) return;  // stopping, and stop() emptied the queue
            pool_job& job = queued.pop_front();
            job.where = pool_job::stage::running;
            // The job taken out made room: a waiting job moves up, and another
            // worker may be idle to take it.
            const bool notify = admit_waiting() > 0;
            lock.unlock();
            if (notify) job_ready.notify_one();
            job.run();
            job.complete(false);
            lock.lock();
        }
    }

    mutable std::mutex mutex;
    std::condition_variable job_ready;
    job_list queued;   // accepted, waiting for a worker; at most `capacity`
    job_list waiting;  // waiting for room in `queued`, FIFO
    const std::size_t capacity;
    bool stopping = false;

    std::mutex join_mutex;  // serialises concurrent stop() calls while they join
    std::vector<std::thread> workers;
};

struct detail::thread_pool_access {
    static const std::shared_ptr<pool_state>& of(thread_pool& pool) noexcept { return pool.state_; }
};

thread_pool::thread_pool(std::size_t threads, std::size_t queue_capacity) {
    if (threads == 0) throw std::invalid_argument("fanout::thread_pool needs at least one thread");
    if (queue_capacity == 0) {
        throw std::invalid_argument("fanout::thread_pool needs a queue capacity of at least one");
    }
    state_ = std::make_shared<detail::pool_state>(queue_capacity);
    state_->workers.reserve(threads);
    try {
        for (std::size_t i = 0; i < threads; ++i) {
            state_->workers.emplace_back([state = state_.get()] { state->work(); });
        }
    } catch (...) {
        stop();
        throw;
    }
}

thread_pool::thread_pool(std::size_t threads) : thread_pool(threads, 4 * threads) {}

thread_pool::~thread_pool() {
    stop();
}

std::size_t thread_pool::size() const noexcept {
    return state_->workers.size();
}

std::size_t thread_pool::queue_capacity() const noexcept {
    return state_->capacity;
}

std::size_t thread_pool::queued() const noexcept {
    std::lock_guard lock(state_->mutex);
    return state_->queued.size();
}

std::size_t thread_pool::waiting() const noexcept {
    std::lock_guard lock(state_->mutex);
    return state_->waiting.size();
}

void thread_pool::stop() {
    job_list aborted;
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
        // Oldest first: queued jobs were offloaded before waiting ones.
        for (job_list* list : {&state_->queued, &state_->waiting}) {
            while (!list->empty()) {
                pool_job& job = list->pop_front();
                job.where = pool_job::stage::aborted;
                aborted.push_back(job);
            }
        }
    }
    state_->job_ready.notify_all();
    while (!aborted.empty()) aborted.pop_front().complete(true);

    std::lock_guard join_lock(state_->join_mutex);
    for (std::thread& worker : state_->workers) {
        if (worker.joinable()) worker.join();
    }
}

namespace detail {
namespace {

/// Installed in an offload's cancellation slot: takes a job that has not
/// started out of the pool and completes it aborted. Runs on the thread that
/// emits the signal, which is the handler's executor.
class cancel_job {
  public:
    explicit cancel_job(pool_job& job) noexcept : job_(&job) {}

    void operator()(net::cancellation_type type) const {
        if (type == net::cancellation_type::none) return;
        pool_state& pool = *job_->pool;
        bool notify = false;
        {
            std::lock_guard lock(pool.mutex);
            switch (job_->where) {
                case pool_job::stage::waiting:
                    pool.waiting.erase(*job_);
                    break;
                case pool_job::stage::queued:
                    pool.queued.erase(*job_);
                    notify = pool.admit_waiting() > 0;
                    break;
                case pool_job::stage::running:
                case pool_job::stage::aborted:
                    return;  // running work cannot be stopped; aborted is done
            }
            job_->where = pool_job::stage::aborted;
        }
        if (notify) pool.job_ready.notify_one();
        job_->complete(true);  // posts: never resumes the awaiter inside emit()
    }

  private:
    pool_job* job_;
};

}  // namespace

void submit(thread_pool& pool, pool_job& job, net::cancellation_slot slot) {
    pool_state& state = *thread_pool_access::of(pool);
    // Installed before the job is visible to a worker; cleared only by the
    // job's completion on the handler's executor, the thread that emits.
    if (slot.is_connected()) {
        job.pool = thread_pool_access::of(pool);
        slot.emplace<cancel_job>(job);
    }
    bool notify = false;
    bool aborted = false;
    {
        std::lock_guard lock(state.mutex);
        if (state.stopping) {
            job.where = pool_job::stage::aborted;
            aborted = true;
        } else if (state.waiting.empty() && state.queued.size() < state.capacity) {
            job.where = pool_job::stage::queued;
            state.queued.push_back(job);
            notify = true;
        } else {
            job.where = pool_job::stage::waiting;
            state.waiting.push_back(job);
        }
    }
    // Past the lock the job may already be running, or even gone: only the
    // locals say what happened.
    if (notify) state.job_ready.notify_one();
    if (aborted) job.complete(true);
}

void post_completion(net::any_io_executor& work, pool_job& job) {
    using io_executor = decltype(net::prefer(std::declval<net::io_context::executor_type>(),
                                             net::execution::outstanding_work.tracked));
    if (io_executor* io = work.target<io_executor>()) {
        net::post(*io, job_completion(job));
    } else {
        net::post(work, job_completion(job));
    }
}

}  // namespace detail

}  // namespace fanout
