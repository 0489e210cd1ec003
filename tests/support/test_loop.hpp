#pragma once
// Runs a coroutine to completion on a fresh io_context, bounded in time, and
// fails the test if it does not finish or leaves asynchronous work behind.

#include <catch2/catch.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

namespace fanout::test {

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
