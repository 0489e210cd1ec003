#pragma once
// Runs a coroutine to completion on a fresh io_context, bounded in time, and
// fails the test if it does not finish or leaves asynchronous work behind.

#include <catch2/catch.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

namespace fanout::test {

/// Waits `d` on a timer of the calling coroutine's executor.
inline boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
    co_await timer.async_wait(boost::asio::use_awaitable);
}

/// Emits terminal cancellation on `signal` from the loop after `delay`.
inline boost::asio::awaitable<void> cancel_after(boost::asio::cancellation_signal& signal,
                                                 std::chrono::steady_clock::duration delay) {
    co_await sleep_for(delay);
    signal.emit(boost::asio::cancellation_type::terminal);
}

/// The error code a coroutine ended with: empty when it returned, the code
/// of a system_error it threw (anything else is rethrown).
inline std::optional<boost::system::error_code> error_of(std::exception_ptr e) {
    if (!e) return std::nullopt;
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& failure) {
        return failure.code();
    }
}

template <class T>
T run_bounded(boost::asio::io_context& context, boost::asio::awaitable<T> main,
              std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    bool done = false;
    std::exception_ptr error;
    std::optional<T> value;
    boost::asio::co_spawn(context, std::move(main), [&](std::exception_ptr e, T v) {
        done = true;
        error = e;
        if (!e) value.emplace(std::move(v));
    });
    context.run_for(limit);
    REQUIRE(done);
    // run_for returns early only when the context ran out of work: nothing
    // the coroutine started may still be pending.
    REQUIRE(context.stopped());
    if (error) std::rethrow_exception(error);
    return std::move(*value);
}

inline void run_bounded(boost::asio::io_context& context, boost::asio::awaitable<void> main,
                        std::chrono::steady_clock::duration limit = std::chrono::seconds(20)) {
    bool done = false;
    std::exception_ptr error;
    boost::asio::co_spawn(context, std::move(main), [&](std::exception_ptr e) {
        done = true;
        error = e;
    });
    context.run_for(limit);
    REQUIRE(done);
    REQUIRE(context.stopped());
    if (error) std::rethrow_exception(error);
}

}  // namespace fanout::test
