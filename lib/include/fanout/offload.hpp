#pragma once
// `offload` / `async_offload`: run a blocking or CPU-bound call on a
// `thread_pool` and come back to the caller's own executor.
//
//   awaitable<R> offload(thread_pool&, Fn)            where R = invoke_result_t<Fn>
//   async_offload(thread_pool&, Fn, token)            void(exception_ptr, R) / void(exception_ptr)
//
// Errors: an exception thrown by the work is rethrown to the awaiter with its
// own type (the handler receives it as the `exception_ptr`). An offload that
// ends without running (cancelled, or the pool stopped) throws
// `boost::system::system_error(boost::asio::error::operation_aborted)`.
//
// Cancellation (the awaiter's per-operation cancellation slot, any type):
// work that has not started (queued, or waiting for room in the queue) is
// taken out, never runs, and the awaiter resumes at once with
// `operation_aborted`. Work already running cannot be stopped: it keeps its
// worker until it returns, and the awaiter then gets its result or its
// exception, since the work did happen.
//
// The queue is bounded: when it is full the offload waits, asynchronously
// (the event loop keeps running) and in FIFO order, for room. The work runs
// on a pool thread; the completion always runs on the awaiter's executor
// (for a completion handler, its associated executor, which for a plain
// callback is the system executor: bind one with `bind_executor`). The
// work's function object is destroyed there too. Until it completes an
// offload counts as outstanding work of that executor.

#include <fanout/detail/offload_op.hpp>
#include <fanout/thread_pool.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace fanout {

/// What work passed to `offload` must be: callable once with no arguments,
/// returning void or an object (not a reference).
template <class Fn>
concept offloadable =
    std::move_constructible<std::decay_t<Fn>> && std::invocable<std::decay_t<Fn>> &&
    !std::is_reference_v<std::invoke_result_t<std::decay_t<Fn>>>;

/// The completion signature of `async_offload` for work returning `R`.
template <class R>
using offload_signature_t = typename detail::offload_signature<R>::type;

/// Runs `fn` on `pool` and completes on the handler's associated executor with
/// `(exception_ptr, R)`, or `(exception_ptr)` when `R` is void; the
/// `exception_ptr` is null on success. Needs `R` default-constructible (the
/// value passed on failure); `offload` has no such limit.
template <offloadable Fn, class CompletionToken, class R = std::invoke_result_t<std::decay_t<Fn>>>
requires(std::is_void_v<R> ||
         std::default_initializable<R>) auto async_offload(thread_pool& pool, Fn&& fn,
                                                           CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, offload_signature_t<R>>(
        detail::initiate_offload(pool), token, std::forward<Fn>(fn));
}

namespace detail {

template <class R, class Fn>
boost::asio::awaitable<R> offload_boxed(thread_pool& pool, Fn fn) {
    auto boxed = [work = std::move(fn)]() mutable {
        return std::optional<R>(std::invoke(std::move(work)));
    };
    std::optional<R> value =
        co_await async_offload(pool, std::move(boxed), boost::asio::use_awaitable);
    co_return std::move(*value);
}

}  // namespace detail

/// `co_await offload(pool, fn)`: runs `fn` on `pool`, resumes on the
/// coroutine's own executor with `fn`'s result, or rethrows what `fn` threw.
template <offloadable Fn>
auto offload(thread_pool& pool, Fn&& fn)
    -> boost::asio::awaitable<std::invoke_result_t<std::decay_t<Fn>>> {
    using result_type = std::invoke_result_t<std::decay_t<Fn>>;
    if constexpr (std::is_void_v<result_type> || std::default_initializable<result_type>) {
        return async_offload(pool, std::forward<Fn>(fn), boost::asio::use_awaitable);
    } else {
        return detail::offload_boxed<result_type>(pool, std::decay_t<Fn>(std::forward<Fn>(fn)));
    }
}

}  // namespace fanout
