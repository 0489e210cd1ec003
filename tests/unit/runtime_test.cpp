#include <fanout/runtime.hpp>

#include <fanout/gather.hpp>
#include <fanout/offload.hpp>

#include "test_loop.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <ranges>
#include <stdexcept>
#include <thread>

namespace net = boost::asio;
using fanout::test::sleep_for;
using namespace std::chrono_literals;

namespace {

net::awaitable<int> answer() {
    co_await sleep_for(1ms);
    co_return 42;
}

net::awaitable<void> fail() {
    co_await sleep_for(1ms);
    throw std::runtime_error("main failed");
}

// A gather of items that hang until cancelled; returns its summary.
net::awaitable<fanout::gather_summary> hanging_gather(std::function<void()> once_started) {
    auto items = std::views::iota(0, 10'000);
    co_return co_await fanout::gather_each(
        items,
        [&once_started](int i) -> net::awaitable<void> {
            if (i == 0) once_started();
            co_await sleep_for(1h);
        },
        [](fanout::outcome<void>&&) {}, {.limit = 100});
}

}  // namespace

TEST_CASE("run returns the value of main") {
    fanout::runtime rt;
    CHECK(rt.run(answer()) == 42);
    CHECK(rt.run(answer()) == 42);  // a runtime runs more than once
    CHECK_FALSE(rt.interrupted());
}

TEST_CASE("run rethrows what main throws") {
    fanout::runtime rt;
    CHECK_THROWS_WITH(rt.run(fail()), "main failed");
}

TEST_CASE("cancel from another thread cancels main and run returns with partial results") {
    fanout::runtime rt;
    std::thread canceller;
    auto summary = rt.run(hanging_gather([&] { canceller = std::thread([&] { rt.cancel(); }); }));
    canceller.join();
    CHECK(summary.stopped == fanout::stop_reason::cancelled);
    CHECK(summary.total == 10'000);
    CHECK(summary.not_started >= 10'000 - 100);
    CHECK_FALSE(rt.interrupted());
}

TEST_CASE("SIGINT cancels main when signals are handled and interrupted() says so") {
    fanout::runtime rt({.handle_signals = true});
    auto summary = rt.run(hanging_gather([] { std::raise(SIGINT); }));
    CHECK(rt.interrupted());
    CHECK(summary.stopped == fanout::stop_reason::cancelled);
    CHECK(summary.total == 10'000);
}

TEST_CASE("SIGTERM and SIGHUP cancel main like SIGINT, and interrupting_signal() names it") {
    const int signo = GENERATE(SIGINT, SIGTERM, SIGHUP);
    fanout::runtime rt({.handle_signals = true});
    CHECK(rt.interrupting_signal() == 0);
    auto summary = rt.run(hanging_gather([signo] { std::raise(signo); }));
    CHECK(rt.interrupted());
    CHECK(rt.interrupting_signal() == signo);
    CHECK(summary.stopped == fanout::stop_reason::cancelled);
    CHECK(summary.total == 10'000);
}

TEST_CASE("each loop runs on its own thread") {
    fanout::runtime rt({.loop_threads = 2});
    REQUIRE(rt.loop_count() == 2);
    auto ids = rt.run([&rt]() -> net::awaitable<std::pair<std::thread::id, std::thread::id>> {
        auto here = std::this_thread::get_id();
        auto there = co_await net::co_spawn(
            rt.executor(1),
            []() -> net::awaitable<std::thread::id> { co_return std::this_thread::get_id(); },
            net::use_awaitable);
        co_return std::pair{here, there};
    }());
    CHECK(ids.first == std::this_thread::get_id());
    CHECK(ids.second != ids.first);
}

TEST_CASE("the blocking and CPU pools are separate and sized by the options") {
    fanout::runtime rt({.blocking_threads = 5, .cpu_threads = 3});
    CHECK(rt.blocking_pool().size() == 5);
    CHECK(rt.cpu_pool().size() == 3);
    CHECK(&rt.blocking_pool() != &rt.cpu_pool());
    auto on_pool = rt.run([&rt]() -> net::awaitable<bool> {
        auto loop_thread = std::this_thread::get_id();
        auto pool_thread =
            co_await fanout::offload(rt.cpu_pool(), [] { return std::this_thread::get_id(); });
        co_return pool_thread != loop_thread&& std::this_thread::get_id() == loop_thread;
    }());
    CHECK(on_pool);
}

TEST_CASE("a runtime refuses zero loop threads") {
    CHECK_THROWS_AS(fanout::runtime({.loop_threads = 0}), std::invalid_argument);
}
