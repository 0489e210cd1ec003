#pragma once
// with_timeout(op, d) -> awaitable<result<T>>: op's value, or errc::timeout.
// with_deadline(op, t) -> awaitable<result<T>>: the same with a time point.
//
// When the timer wins, op is cancelled through its cancellation slot
// (terminal cancellation: its socket operation is aborted) and has finished
// before the caller resumes: no operation is left running, no completion
// arrives late. When op wins, the timer is cancelled.
// Errors: a timeout is a value (failure with errc::timeout). An exception
// thrown by op when it was not timed out is rethrown to the caller, including
// operation_aborted when the caller itself is cancelled.
// Threads: any executor (the race is an Asio parallel group, whose
// completions may come from different threads).
// gather applies its per-attempt timeout without this wrapper's extra
// coroutine, at lower cost; use this one around single operations.

#include <fanout/duration.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <utility>

namespace fanout {

template <class T>
boost::asio::awaitable<result<T>> with_timeout(boost::asio::awaitable<T> op,
                                               std::chrono::nanoseconds timeout) {
    namespace net = boost::asio;
    auto executor = co_await net::this_coro::executor;
    net::steady_timer timer(executor, timeout);
    auto group = net::experimental::make_parallel_group(
        net::co_spawn(executor, std::move(op), net::deferred), timer.async_wait(net::deferred));

    if constexpr (std::is_void_v<T>) {
        auto [order, op_exception, timer_ec] =
            co_await group.async_wait(net::experimental::wait_for_one(), net::use_awaitable);
        if (order[0] == 1 && !timer_ec)
            co_return failure{errc::timeout, "timed out after " + format_duration(timeout)};
        if (op_exception) std::rethrow_exception(op_exception);
        co_return result<void>{};
    } else {
        auto [order, op_exception, value, timer_ec] =
            co_await group.async_wait(net::experimental::wait_for_one(), net::use_awaitable);
        if (order[0] == 1 && !timer_ec)
            co_return failure{errc::timeout, "timed out after " + format_duration(timeout)};
        if (op_exception) std::rethrow_exception(op_exception);
        co_return result<T>(std::move(value));
    }
}

template <class T>
boost::asio::awaitable<result<T>> with_deadline(boost::asio::awaitable<T> op,
                                                std::chrono::steady_clock::time_point deadline) {
    const auto now = std::chrono::steady_clock::now();
    // Compare before subtracting: a far-past deadline would overflow.
    const auto left =
        deadline <= now ? std::chrono::steady_clock::duration::zero() : deadline - now;
    return with_timeout(std::move(op), std::chrono::duration_cast<std::chrono::nanoseconds>(left));
}

}  // namespace fanout
