#include <fanout/semaphore.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace fanout {

namespace net = boost::asio;

struct semaphore::waiter {
    semaphore* owner;
    handler_type handler;
    // Keeps the loop running while the acquire is pending, as any Asio
    // operation in progress does.
    net::any_io_executor work;
    waiter* prev = nullptr;
    waiter* next = nullptr;
};

// Installed in the acquire's cancellation slot while it waits.
struct semaphore::canceller {
    waiter* w;
    void operator()(net::cancellation_type) const {
        w->owner->unlink(w);
        complete(w, net::error::operation_aborted);
    }
};

semaphore::semaphore(executor_type executor, std::size_t permits)
    : executor_(std::move(executor)), permits_(permits) {}

semaphore::~semaphore() {
    while (head_) {
        waiter* w = head_;
        unlink(w);
        complete(w, net::error::operation_aborted);
    }
}

bool semaphore::try_acquire() noexcept {
    if (permits_ == 0 || head_) return false;
    --permits_;
    return true;
}

void semaphore::initiate_acquire(handler_type handler) {
    if (try_acquire()) {
        net::post(executor_, net::append(std::move(handler), boost::system::error_code{}));
        return;
    }
    auto* w = new waiter{this, std::move(handler),
                         net::prefer(executor_, net::execution::outstanding_work.tracked)};
    w->prev = tail_;
    (tail_ ? tail_->next : head_) = w;
    tail_ = w;
    ++waiting_;

    auto slot = net::get_associated_cancellation_slot(w->handler);
    if (slot.is_connected()) {
        slot.emplace<canceller>(canceller{w});
    }
}

void semaphore::unlink(waiter* w) noexcept {
    (w->prev ? w->prev->next : head_) = w->next;
    (w->next ? w->next->prev : tail_) = w->prev;
    w->prev = w->next = nullptr;
    --waiting_;
}

void semaphore::complete(waiter* w, boost::system::error_code ec) {
    auto slot = net::get_associated_cancellation_slot(w->handler);
    if (slot.is_connected()) slot.clear();
    handler_type handler = std::move(w->handler);
    net::any_io_executor work = std::move(w->work);
    delete w;
    // Posted, never run inline: release() may be called from inside a coroutine.
    net::post(work, net::append(std::move(handler), ec));
}

void semaphore::release() noexcept {
    if (head_) {
        waiter* w = head_;
        unlink(w);
        complete(w, {});  // the permit passes straight to the oldest waiter
        return;
    }
    ++permits_;
}

net::awaitable<void> semaphore::acquire() {
    if (try_acquire()) co_return;
    co_await async_acquire(net::use_awaitable);
}

}  // namespace fanout
