#include <fanout/semaphore.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>

namespace fanout {

namespace net = boost::asio;

struct semaphore::waiter {
    semaphore* owner;
    handler_type handler;
    // The semaphore's executor, tracked: it keeps the loop running while the
    // acquire is pending, as any Asio operation in progress does.
    net::any_io_executor work;
    // Where the completion runs: the handler's own executor (a strand, for
    // a coroutine on one), which is also where its cancellation slot lives.
    net::any_completion_executor handler_executor;
    waiter* prev = nullptr;
    waiter* next = nullptr;
    // Cleared under the owner's mutex when it leaves the queue; read first
    // without it, so a canceller never touches an owner that let it go.
    std::atomic<bool> queued{true};
};

// Installed in the acquire's cancellation slot while it waits. A slot is
// emitted from its handler's own executor, which is where complete() clears
// it too, so the two never race.
struct semaphore::canceller {
    waiter* w;
    void operator()(net::cancellation_type) const {
        if (!w->queued.load(std::memory_order_acquire)) return;  // granted already
        semaphore& owner = *w->owner;
        {
            std::lock_guard lock(owner.mutex_);
            if (!w->queued.load(std::memory_order_relaxed)) return;
            owner.unlink_locked(w);
        }
        complete(w, net::error::operation_aborted);
    }
};

semaphore::semaphore(executor_type executor, std::size_t permits)
    : executor_(std::move(executor)), permits_(permits) {}

semaphore::~semaphore() {
    for (;;) {
        waiter* w;
        {
            std::lock_guard lock(mutex_);
            w = head_;
            if (!w) return;
            unlink_locked(w);
        }
        complete(w, net::error::operation_aborted);
    }
}

bool semaphore::take_locked() noexcept {
    if (permits_ == 0 || head_) return false;
    --permits_;
    return true;
}

bool semaphore::try_acquire() noexcept {
    std::lock_guard lock(mutex_);
    return take_locked();
}

std::size_t semaphore::available() const noexcept {
    std::lock_guard lock(mutex_);
    return permits_;
}

std::size_t semaphore::waiting() const noexcept {
    std::lock_guard lock(mutex_);
    return waiting_;
}

void semaphore::initiate_acquire(handler_type handler) {
    auto handler_executor = net::get_associated_executor(handler, executor_);
    auto* w = new waiter{this, std::move(handler),
                         net::prefer(executor_, net::execution::outstanding_work.tracked),
                         std::move(handler_executor)};
    {
        std::lock_guard lock(mutex_);
        if (!take_locked()) {
            // The canceller goes in before w is in the queue, where another
            // thread's release() could take it.
            auto slot = net::get_associated_cancellation_slot(w->handler);
            if (slot.is_connected()) slot.emplace<canceller>(canceller{w});
            w->prev = tail_;
            (tail_ ? tail_->next : head_) = w;
            tail_ = w;
            ++waiting_;
            return;
        }
        w->queued.store(false, std::memory_order_relaxed);
    }
    complete(w, {});
}

void semaphore::unlink_locked(waiter* w) noexcept {
    (w->prev ? w->prev->next : head_) = w->next;
    (w->next ? w->next->prev : tail_) = w->prev;
    w->prev = w->next = nullptr;
    w->queued.store(false, std::memory_order_release);
    --waiting_;
}

void semaphore::complete(waiter* w, boost::system::error_code ec) {
    // Posted, never run inline (release() may be called from inside a
    // coroutine), to the handler's executor, where its slot lives.
    net::any_io_executor work = w->work;
    net::any_completion_executor handler_executor = w->handler_executor;
    net::post(work, net::bind_executor(handler_executor, [w, ec] {
                  auto slot = net::get_associated_cancellation_slot(w->handler);
                  if (slot.is_connected()) slot.clear();
                  handler_type handler = std::move(w->handler);
                  delete w;
                  std::move(handler)(ec);
              }));
}

void semaphore::release() noexcept {
    waiter* w;
    {
        std::lock_guard lock(mutex_);
        w = head_;
        if (!w) {
            ++permits_;
            return;
        }
        unlink_locked(w);  // the permit passes straight to the oldest waiter
    }
    complete(w, {});
}

net::awaitable<void> semaphore::acquire() {
    if (try_acquire()) co_return;
    co_await async_acquire(net::use_awaitable);
}

}  // namespace fanout
