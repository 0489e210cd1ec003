#pragma once
// A loop-local count of outstanding pieces of work with one asynchronous
// waiter that resumes when the count reaches zero. Cancelling the wait does
// not end it: it calls the owner's stop function, and the wait still ends
// only when everything has finished (structured concurrency: nothing the
// owner started outlives it).

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace fanout::detail {

class completion_latch {
  public:
    using stop_function = void (*)(void* owner);

    void add(std::size_t n = 1) noexcept { count_ += n; }

    void done() {
        if (--count_ == 0 && handler_) fire();
    }

    std::size_t count() const noexcept { return count_; }

    /// Signature void(). `on_cancel(owner)` runs if the wait is cancelled.
    template <class Executor, class CompletionToken>
    auto async_wait(Executor executor, stop_function on_cancel, void* owner,
                    CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void()>(
            [this, executor, on_cancel, owner](auto handler) {
                // emplace, not assignment: Boost 1.81's any_completion_handler
                // move-assignment recurses forever.
                handler_.emplace(std::move(handler));
                executor_ = executor;
                if (count_ == 0) {
                    fire();
                    return;
                }
                auto slot = boost::asio::get_associated_cancellation_slot(*handler_);
                if (slot.is_connected())
                    slot.template emplace<canceller>(canceller{on_cancel, owner});
            },
            token);
    }

  private:
    struct canceller {
        stop_function on_cancel;
        void* owner;
        void operator()(boost::asio::cancellation_type) const { on_cancel(owner); }
    };

    void fire() {
        auto slot = boost::asio::get_associated_cancellation_slot(*handler_);
        if (slot.is_connected()) slot.clear();
        boost::asio::any_completion_handler<void()> handler(std::move(*handler_));
        handler_.reset();
        // Posted: the last piece of work may still be unwinding on this stack.
        boost::asio::post(executor_, [h = std::move(handler)]() mutable { std::move(h)(); });
    }

    std::size_t count_ = 0;
    std::optional<boost::asio::any_completion_handler<void()>> handler_;
    boost::asio::any_io_executor executor_;
};

}  // namespace fanout::detail
