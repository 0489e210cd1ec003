#include <fanout/on_each_loop.hpp>

#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <ranges>
#include <stdexcept>
#include <thread>
#include <vector>

namespace net = boost::asio;
using fanout::test::sleep_for;
using namespace std::chrono_literals;

namespace {

// Which thread ran it, after a wait that lets the loops overlap.
net::awaitable<std::thread::id> thread_after(std::chrono::milliseconds wait) {
    co_await sleep_for(wait);
    co_return std::this_thread::get_id();
}

net::awaitable<int> value_or_throw(std::size_t loop) {
    co_await sleep_for(loop == 0 ? 50ms : 1ms);
    if (loop == 1) throw std::runtime_error("loop 1 failed");
    co_return static_cast<int>(loop);
}

// Items that hang until cancelled, on the loop's own gather.
net::awaitable<fanout::gather_summary> hanging_gather() {
    co_return co_await fanout::gather_each(
        std::views::iota(0, 1000), [](int) -> net::awaitable<void> { co_await sleep_for(1h); },
        [](fanout::outcome<void>&&) {}, {.limit = 10});
}

}  // namespace

TEST_CASE("each loop runs its own awaitable, and the values come back in loop order") {
    fanout::runtime rt({.loop_threads = 3});
    const auto began = std::chrono::steady_clock::now();
    const auto threads = rt.run(fanout::on_each_loop(rt, 3, [](std::size_t loop) {
        return thread_after(std::chrono::milliseconds(300 + loop));
    }));
    // Together, not one after another (which would take 903 ms at least).
    CHECK(std::chrono::steady_clock::now() - began < 850ms);
    REQUIRE(threads.size() == 3);
    CHECK(threads[0] == std::this_thread::get_id());  // loop 0 is the caller's thread
    CHECK(threads[1] != threads[0]);
    CHECK(threads[2] != threads[1]);
    CHECK(threads[2] != threads[0]);
}

TEST_CASE("an exception of one loop comes out once every loop has ended") {
    fanout::runtime rt({.loop_threads = 2});
    const auto began = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(rt.run(fanout::on_each_loop(rt, 2, value_or_throw)), "loop 1 failed");
    CHECK(std::chrono::steady_clock::now() - began >= 50ms);  // loop 0 was waited for
}

TEST_CASE("cancelling the caller cancels the gather on every loop") {
    fanout::runtime rt({.loop_threads = 2});
    std::thread canceller([&rt] {
        std::this_thread::sleep_for(200ms);
        rt.cancel();
    });
    const auto summaries =
        rt.run(fanout::on_each_loop(rt, 2, [](std::size_t) { return hanging_gather(); }));
    canceller.join();
    REQUIRE(summaries.size() == 2);
    for (const auto& summary : summaries) {
        CHECK(summary.total == 1000);
        CHECK(summary.stopped == fanout::stop_reason::cancelled);
    }
}
