#pragma once
// on_each_loop(rt, loops, make) -> awaitable<std::vector<T>>
//     runs make(i), an awaitable<T>, on loop i of the runtime for each i in
//     [0, loops), all at once, and returns their values in loop order once
//     every one has ended (the shape of a command that runs one gather per
//     loop, all pulling from one shared_input).
//
// Errors: when some threw, the first exception (in loop order) is rethrown
// after every one has ended.
// Cancellation: cancelling the awaiting coroutine cancels each of them
// (terminal) through its cancellation slot; they end as they choose (a
// gather reports what it did and completes).

#include <fanout/runtime.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <vector>

namespace fanout {

/// See the top of this header. `make(i)` is called on the awaiting
/// coroutine's thread; its awaitable runs on loop i.
template <class Make, class T = typename std::invoke_result_t<Make&, std::size_t>::value_type>
boost::asio::awaitable<std::vector<T>> on_each_loop(runtime& rt, std::size_t loops, Make make) {
    namespace net = boost::asio;
    using runs_type = decltype(net::co_spawn(rt.executor(0), make(0), net::deferred));
    std::vector<runs_type> runs;
    runs.reserve(loops);
    for (std::size_t i = 0; i < loops; ++i)
        runs.push_back(net::co_spawn(rt.executor(i), make(i), net::deferred));
    auto [order, errors, values] =
        co_await net::experimental::make_parallel_group(std::move(runs))
            .async_wait(net::experimental::wait_for_all(), net::use_awaitable);
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
    co_return std::move(values);
}

}  // namespace fanout
