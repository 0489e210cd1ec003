#include <fanout/hedge.hpp>

#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <numeric>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::test::run_bounded;

namespace {

// A backend whose calls are scripted per call number of an item (0: the
// first call of the item): how long the call takes and whether it fails.
// It counts calls in progress, in all and per item, so a test sees that an
// item's losers have finished when its outcome is delivered (the other
// items' calls may still run then).
struct scripted_backend {
    explicit scripted_backend(std::size_t items) : calls(items), live_of(items) {
        for (auto& c : calls) c = 0;
        for (auto& l : live_of) l = 0;
    }
    std::vector<std::atomic<int>> calls;
    std::vector<std::atomic<int>> live_of;
    std::atomic<int> live{0};
    std::atomic<int> total_calls{0};
    std::function<std::chrono::milliseconds(int item, int call)> takes = [](int, int) {
        return 0ms;
    };
    std::function<bool(int item, int call)> fails = [](int, int) { return false; };

    struct live_scope {
        std::atomic<int>& live;
        explicit live_scope(std::atomic<int>& l) : live(l) { ++live; }
        ~live_scope() { --live; }
    };

    net::awaitable<fanout::result<int>> call(int item) {
        live_scope scope(live);
        live_scope item_scope(live_of[static_cast<std::size_t>(item)]);
        ++total_calls;
        const int call = calls[static_cast<std::size_t>(item)]++;
        net::steady_timer timer(co_await net::this_coro::executor, takes(item, call));
        co_await timer.async_wait(net::use_awaitable);  // throws when cancelled
        if (fails(item, call)) co_return fanout::failure{errc::rate_limited};
        co_return item * 10 + call;
    }
};

fanout::hedge_policy fixed_hedge(std::chrono::milliseconds delay) {
    fanout::hedge_policy policy;
    policy.delay = delay;
    return policy;
}

std::vector<int> numbers(int n) {
    std::vector<int> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

}  // namespace

TEST_CASE("a latency tracker gives percentiles, and the policy waits for enough of them") {
    fanout::latency_tracker observed;
    auto policy = fixed_hedge(7ms);
    policy.percentile = 95;
    policy.min_samples = 100;
    for (int i = 1; i < 100; ++i) observed.record(std::chrono::milliseconds(i));
    CHECK(policy.delay_for(observed) == 7ms);  // 99 samples: the fixed delay
    observed.record(100ms);
    const auto p95 = *policy.delay_for(observed);
    CHECK(p95 >= 94ms);
    CHECK(p95 <= 96ms);
    fanout::hedge_policy none;
    CHECK_FALSE(none.delay_for(observed));
}

TEST_CASE("a hedge budget gives a token per 1/ratio items, up to its maximum") {
    fanout::hedge_budget budget(0.25, 2);
    CHECK(budget.try_take());
    CHECK(budget.try_take());
    CHECK_FALSE(budget.try_take());
    for (int i = 0; i < 3; ++i) budget.on_item();
    CHECK_FALSE(budget.try_take());  // 0.75
    budget.on_item();
    CHECK(budget.try_take());
    for (int i = 0; i < 100; ++i) budget.on_item();
    CHECK(budget.tokens() == 2);
}

TEST_CASE("gather: a slow attempt gets a twin after the delay; the first success wins") {
    scripted_backend backend(5);
    backend.takes = [](int, int call) { return call == 0 ? 10'000ms : 1ms; };
    fanout::gather_options options;
    options.hedge = fixed_hedge(20ms);
    net::io_context io(1);
    std::vector<fanout::outcome<int>> outcomes;
    std::vector<int> live_at_delivery;
    const auto inputs = numbers(5);
    auto main = [&]() -> net::awaitable<void> {
        co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) {
                live_at_delivery.push_back(backend.live_of[out.index]);
                outcomes.push_back(std::move(out));
            },
            options);
    };
    run_bounded(io, main());
    REQUIRE(outcomes.size() == 5);
    for (const auto& out : outcomes) {
        REQUIRE(out.ok());
        CHECK(*out.result == static_cast<int>(out.index) * 10 + 1);  // the twin's answer
        CHECK(out.attempts == 1);
        CHECK(out.hedges == 1);
        CHECK(out.hedge_won);
        CHECK(out.elapsed < 5s);
    }
    // The slow first calls were cancelled, and had finished by then.
    for (int live : live_at_delivery) CHECK(live == 0);
    CHECK(backend.total_calls == 10);
}

TEST_CASE("gather: with max_attempts 3 a second twin follows a further delay when both are slow") {
    scripted_backend backend(4);
    // Calls 0 and 1 hang; call 2, the second twin, answers at once.
    backend.takes = [](int, int call) { return call < 2 ? 10'000ms : 1ms; };
    auto policy = fixed_hedge(20ms);
    policy.max_attempts = 3;
    fanout::gather_options options;
    options.hedge = policy;
    net::io_context io(1);
    std::vector<fanout::outcome<int>> outcomes;
    std::vector<int> live_at_delivery;
    const auto inputs = numbers(4);
    auto main = [&]() -> net::awaitable<void> {
        co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) {
                live_at_delivery.push_back(backend.live_of[out.index]);
                outcomes.push_back(std::move(out));
            },
            options);
    };
    run_bounded(io, main());
    REQUIRE(outcomes.size() == 4);
    for (const auto& out : outcomes) {
        REQUIRE(out.ok());
        CHECK(*out.result == static_cast<int>(out.index) * 10 + 2);  // the second twin's
        CHECK(out.attempts == 1);
        CHECK(out.hedges == 2);
        CHECK(out.hedge_won);
        CHECK(out.elapsed >= 40ms);  // two delays before the second twin
        CHECK(out.elapsed < 5s);
    }
    for (int live : live_at_delivery) CHECK(live == 0);  // both hung calls finished
    CHECK(backend.total_calls == 12);
}

TEST_CASE("gather: max_attempts 3 sends no second twin when the first twin answers") {
    scripted_backend backend(4);
    backend.takes = [](int, int call) { return call == 0 ? 10'000ms : 1ms; };
    auto policy = fixed_hedge(20ms);
    policy.max_attempts = 3;
    fanout::gather_options options;
    options.hedge = policy;
    net::io_context io(1);
    const auto inputs = numbers(4);
    auto main = [&]() -> net::awaitable<std::vector<fanout::outcome<int>>> {
        co_return co_await fanout::gather(
            inputs, [&backend](int item) { return backend.call(item); }, options);
    };
    const auto outcomes = run_bounded(io, main());
    for (const auto& out : outcomes) {
        REQUIRE(out.ok());
        CHECK(*out.result == static_cast<int>(out.index) * 10 + 1);
        CHECK(out.hedges == 1);
    }
    CHECK(backend.total_calls == 8);
}

TEST_CASE("gather: an attempt faster than the hedge delay is never hedged") {
    scripted_backend backend(50);
    fanout::gather_options options;
    options.hedge = fixed_hedge(2'000ms);
    net::io_context io(1);
    const auto inputs = numbers(50);
    auto main = [&]() -> net::awaitable<std::vector<fanout::outcome<int>>> {
        co_return co_await fanout::gather(
            inputs, [&backend](int item) { return backend.call(item); }, options);
    };
    const auto outcomes = run_bounded(io, main());
    for (const auto& out : outcomes) {
        CHECK(out.ok());
        CHECK(out.hedges == 0);
        CHECK_FALSE(out.hedge_won);
    }
    CHECK(backend.total_calls == 50);
}

TEST_CASE("gather: the budget caps hedges at its ratio of the items plus its tokens") {
    scripted_backend backend(100);
    backend.takes = [](int, int) { return 20ms; };
    fanout::hedge_budget budget(0.1, 2);
    auto policy = fixed_hedge(1ms);
    policy.budget = &budget;
    fanout::gather_options options;
    options.limit = 10;
    options.hedge = policy;
    net::io_context io(1);
    const auto inputs = numbers(100);
    auto main = [&]() -> net::awaitable<std::vector<fanout::outcome<int>>> {
        co_return co_await fanout::gather(
            inputs, [&backend](int item) { return backend.call(item); }, options);
    };
    const auto outcomes = run_bounded(io, main());
    unsigned hedges = 0;
    for (const auto& out : outcomes) {
        CHECK(out.ok());
        hedges += out.hedges;
    }
    CHECK(hedges >= 2);
    CHECK(hedges <= 12);
    CHECK(backend.total_calls == 100 + static_cast<int>(hedges));
}

TEST_CASE("gather: hedging and retries compose: a failed pair is retried, and hedged again") {
    scripted_backend backend(3);
    // Call 0 fails at once (attempt 1, no hedge yet); call 1 (attempt 2)
    // hangs; call 2, its twin, succeeds.
    backend.takes = [](int, int call) { return call == 1 ? 10'000ms : 1ms; };
    backend.fails = [](int, int call) { return call == 0; };
    fanout::gather_options options;
    options.hedge = fixed_hedge(30ms);
    options.retry = fanout::attempts(3);
    options.retry.initial_backoff = 1ms;
    options.retry.max_backoff = 1ms;
    net::io_context io(1);
    const auto inputs = numbers(3);
    auto main = [&]() -> net::awaitable<std::vector<fanout::outcome<int>>> {
        co_return co_await fanout::gather(
            inputs, [&backend](int item) { return backend.call(item); }, options);
    };
    const auto outcomes = run_bounded(io, main());
    for (const auto& out : outcomes) {
        REQUIRE(out.ok());
        CHECK(*out.result == static_cast<int>(out.index) * 10 + 2);
        CHECK(out.attempts == 2);
        CHECK(out.hedges == 1);
        CHECK(out.hedge_won);
    }
}

TEST_CASE("gather: the per-attempt timeout ends both attempts of a hedged pair") {
    scripted_backend backend(2);
    backend.takes = [](int, int) { return 10'000ms; };
    fanout::gather_options options;
    options.hedge = fixed_hedge(10ms);
    options.per_attempt_timeout = 100ms;
    net::io_context io(1);
    const auto inputs = numbers(2);
    std::vector<int> live_at_delivery;
    auto main = [&]() -> net::awaitable<void> {
        co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) {
                live_at_delivery.push_back(backend.live_of[out.index]);
                CHECK(out.error().code == errc::timeout);
                CHECK(out.hedges == 1);
            },
            options);
    };
    run_bounded(io, main());
    CHECK(live_at_delivery == std::vector<int>{0, 0});
    CHECK(backend.total_calls == 4);
}

TEST_CASE("gather: cancelling a hedged gather cancels both attempts and they finish") {
    scripted_backend backend(4);
    backend.takes = [](int, int) { return 10'000ms; };
    fanout::gather_options options;
    options.hedge = fixed_hedge(5ms);
    net::io_context io(1);
    net::cancellation_signal signal;
    const auto inputs = numbers(4);
    std::vector<fanout::outcome<int>> outcomes;
    int live_after = -1;
    auto main = [&]() -> net::awaitable<void> {
        co_await net::co_spawn(
            io,
            fanout::gather_each(
                inputs, [&backend](int item) { return backend.call(item); },
                [&](fanout::outcome<int>&& out) { outcomes.push_back(std::move(out)); }, options),
            net::bind_cancellation_slot(signal.slot(), net::use_awaitable));
        live_after = backend.live;
    };
    net::co_spawn(io, fanout::test::cancel_after(signal, 100ms), net::detached);
    run_bounded(io, main());
    REQUIRE(outcomes.size() == 4);
    for (const auto& out : outcomes) {
        CHECK(out.error().code == errc::cancelled);
        CHECK(out.hedges == 1);
    }
    CHECK(live_after == 0);
    CHECK(backend.total_calls == 8);
}

TEST_CASE("gather: hedged items on a thread pool each end once, the losers finished") {
    constexpr int items = 300;
    scripted_backend backend(items);
    backend.takes = [](int item, int call) { return call == 0 && item % 3 == 0 ? 200ms : 0ms; };
    fanout::hedge_budget budget(1.0, 1000);
    auto policy = fixed_hedge(5ms);
    policy.budget = &budget;
    net::thread_pool pool(3);
    std::atomic<int> delivered{0}, good{0}, extra_calls{0};
    const auto inputs = numbers(items);
    auto run = [&]() -> net::awaitable<fanout::gather_summary> {
        fanout::gather_options options;
        options.limit = 32;
        options.hedge = policy;
        co_return co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) {
                ++delivered;
                if (out.ok() && *out.result / 10 == static_cast<int>(out.index)) ++good;
                extra_calls += backend.calls[out.index] != 1 + static_cast<int>(out.hedges);
            },
            options);
    };
    std::promise<fanout::gather_summary> promise;
    net::co_spawn(pool, run(), [&](std::exception_ptr e, fanout::gather_summary s) {
        if (e)
            promise.set_exception(e);
        else
            promise.set_value(s);
    });
    auto future = promise.get_future();
    REQUIRE(future.wait_for(60s) == std::future_status::ready);
    const auto summary = future.get();
    pool.join();
    CHECK(summary.total == items);
    CHECK(delivered == items);
    CHECK(good == items);
    CHECK(extra_calls == 0);  // each call of an item is its attempt or its twin
    CHECK(backend.live == 0);
    CHECK(backend.total_calls >= items + items / 3);
}
