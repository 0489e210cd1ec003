#include <fanout/first_of.hpp>

#include "test_loop.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <numeric>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::test::run_bounded;

namespace {

// Item n answers after delays[n]; a negative delay fails after -delay.
struct replicas {
    std::vector<int> delays_ms;
    std::atomic<int> live{0};
    std::atomic<int> calls{0};

    net::awaitable<fanout::result<int>> call(int n) {
        ++live;
        ++calls;
        struct leave {
            std::atomic<int>& live;
            ~leave() { --live; }
        } on_exit{live};
        const int d = delays_ms[static_cast<std::size_t>(n)];
        net::steady_timer timer(co_await net::this_coro::executor,
                                std::chrono::milliseconds(d < 0 ? -d : d));
        co_await timer.async_wait(net::use_awaitable);
        if (d < 0) co_return fanout::failure{errc::rate_limited};
        co_return n;
    }
};

std::vector<int> numbers(int n) {
    std::vector<int> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

}  // namespace

TEST_CASE("first_of: the first success wins and the rest is cancelled and finished first") {
    replicas backend{{5'000, -5, 30, 5'000, 5'000}};
    const auto inputs = numbers(5);
    net::io_context io(1);
    int live_after = -1;
    auto main = [&]() -> net::awaitable<fanout::quorum_result<int>> {
        auto done =
            co_await fanout::first_of(inputs, [&backend](int n) { return backend.call(n); });
        live_after = backend.live;
        co_return done;
    };
    const auto done = run_bounded(io, main());
    CHECK(live_after == 0);
    REQUIRE(done.reached);
    REQUIRE(done.first() != nullptr);
    CHECK(done.first()->index == 2);
    REQUIRE(done.outcomes.size() == 5);
    CHECK(done.outcomes[1].error().code == errc::rate_limited);
    for (std::size_t i : {0u, 3u, 4u}) CHECK(done.outcomes[i].error().code == errc::cancelled);
    CHECK(done.summary.stopped == fanout::stop_reason::enough);
}

TEST_CASE("first_of: when every input fails, the outcomes hold the failures") {
    replicas backend{{-1, -2, -3}};
    const auto inputs = numbers(3);
    net::io_context io(1);
    auto main = [&]() -> net::awaitable<fanout::quorum_result<int>> {
        co_return co_await fanout::first_of(inputs, [&backend](int n) { return backend.call(n); });
    };
    const auto done = run_bounded(io, main());
    CHECK_FALSE(done.reached);
    CHECK(done.first() == nullptr);
    for (const auto& out : done.outcomes) CHECK(out.error().code == errc::rate_limited);
    CHECK(done.summary.stopped == fanout::stop_reason::none);
}

TEST_CASE("quorum: the first k successes, with inputs not started reported as such") {
    // limit 2: 0 and 1 start, 2 when 0 ends; its success is the second.
    replicas backend{{10, 5'000, 20, 1, 1, 1}};
    const auto inputs = numbers(6);
    fanout::gather_options options;
    options.limit = 2;
    net::io_context io(1);
    auto main = [&]() -> net::awaitable<fanout::quorum_result<int>> {
        co_return co_await fanout::quorum(
            2, inputs, [&backend](int n) { return backend.call(n); }, options);
    };
    const auto done = run_bounded(io, main());
    REQUIRE(done.reached);
    CHECK(done.successes == std::vector<std::size_t>{0, 2});
    CHECK(done.outcomes[1].error().code == errc::cancelled);
    CHECK(done.outcomes[1].attempts == 1);
    for (std::size_t i : {3u, 4u, 5u}) {
        CHECK(done.outcomes[i].error().code == errc::cancelled);
        CHECK(done.outcomes[i].attempts == 0);
    }
    CHECK(done.summary.not_started == 3);
    CHECK(backend.calls == 3);
    CHECK(backend.live == 0);
}

TEST_CASE("quorum: on a thread pool the quorum is met and every call has finished") {
    replicas backend{std::vector<int>(64, 1)};
    for (std::size_t i = 0; i < 64; i += 2) backend.delays_ms[i] = 2'000;
    const auto inputs = numbers(64);
    fanout::gather_options options;
    options.limit = 64;
    net::thread_pool pool(3);
    std::promise<fanout::quorum_result<int>> promise;
    net::co_spawn(pool,
                  fanout::quorum(
                      10, inputs, [&backend](int n) { return backend.call(n); }, options),
                  [&](std::exception_ptr e, fanout::quorum_result<int> r) {
                      if (e)
                          promise.set_exception(e);
                      else
                          promise.set_value(std::move(r));
                  });
    auto future = promise.get_future();
    REQUIRE(future.wait_for(60s) == std::future_status::ready);
    const auto done = future.get();
    pool.join();
    CHECK(done.reached);
    CHECK(done.successes.size() >= 10);
    CHECK(done.outcomes.size() == 64);
    for (std::size_t i : done.successes) CHECK(i % 2 == 1);
    CHECK(backend.live == 0);
}
