#include <fanout/adaptive_limit.hpp>

#include "test_loop.hpp"

#include <fanout/gather.hpp>
#include <fanout/progress.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::limit_verdict;
using fanout::test::run_bounded;

namespace {

std::vector<int> numbers(int n) {
    std::vector<int> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

// A backend with a concurrency knee: a call that starts with n calls in
// flight (itself included) takes base * max(1, n / knee), so the
// latency is flat up to the knee and grows past it, from the count of
// calls in flight, not from the machine's speed. It keeps the peak of
// calls in flight; `fail_first` makes each item's first call fail.
struct knee_backend {
    knee_backend(int knee, std::chrono::milliseconds base) : knee(knee), base(base) {}
    int knee;
    std::chrono::milliseconds base;
    std::atomic<int> live{0};
    std::atomic<int> peak{0};
    std::atomic<int> calls{0};
    bool fail_first = false;
    int hang_from = 1 << 30;  // items from this one on take 10 s (until cancelled)

    net::awaitable<fanout::result<int>> call(int item) {
        const int now = ++live;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        ++calls;
        struct leave {
            std::atomic<int>& live;
            ~leave() { --live; }
        } on_exit{live};
        const auto takes = item >= hang_from
                               ? std::chrono::duration<double, std::milli>(10s)
                               : base * std::max(1.0, static_cast<double>(now) / knee);
        net::steady_timer timer(co_await net::this_coro::executor,
                                std::chrono::duration_cast<std::chrono::nanoseconds>(takes));
        co_await timer.async_wait(net::use_awaitable);  // throws when cancelled
        if (fail_first && !tried[static_cast<std::size_t>(item)].exchange(true))
            co_return fanout::failure{errc::rate_limited};
        co_return item;
    }

    std::vector<std::atomic<bool>> tried = std::vector<std::atomic<bool>>(1000);
};

fanout::gradient_policy small_gradient() {
    fanout::gradient_policy policy;
    policy.initial = 2;
    policy.min_limit = 1;
    policy.max_limit = 64;
    policy.window_samples = 8;
    return policy;
}

}  // namespace

TEST_CASE("an AIMD limit adds one on a success while in use and backs off on a drop") {
    net::io_context io(1);
    fanout::aimd_policy policy;     // initial 10, backoff 0.9
    policy.per_round_trip = false;  // Netflix's AIMDLimit: every drop backs off
    policy.min_limit = 3;
    policy.max_limit = 12;
    policy.drop_after = 100ms;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    CHECK(limit.current() == 10);
    limit.record(1ms, 5, limit_verdict::success);  // 5 in flight: half of 10, in use
    CHECK(limit.current() == 11);
    limit.record(1ms, 5, limit_verdict::success);  // under half of 11: not in use
    CHECK(limit.current() == 11);
    limit.record(1ms, 11, limit_verdict::drop);  // floor(11 * 0.9)
    CHECK(limit.current() == 9);
    limit.record(200ms, 9, limit_verdict::success);  // slower than drop_after
    CHECK(limit.current() == 8);
    limit.record(1ms, 8, limit_verdict::none);  // no verdict: no change
    CHECK(limit.current() == 8);
    for (int i = 0; i < 20; ++i) limit.record(1ms, 2, limit_verdict::drop);
    CHECK(limit.current() == 3);  // min_limit
    for (int i = 0; i < 20; ++i) limit.record(1ms, 12, limit_verdict::success);
    CHECK(limit.current() == 12);  // max_limit
    const auto stats = limit.stats();
    CHECK(stats.lowest == 3);
    CHECK(stats.highest == 12);
    CHECK(stats.samples == 44);
    CHECK(stats.drops == 22);
    CHECK(stats.ignored == 1);
    CHECK(stats.in_flight == 0);
}

TEST_CASE(
    "an AIMD limit per round trip grows by one per success until a drop, then by one per round "
    "trip, and backs off once for the drops of one round trip") {
    net::io_context io(1);
    fanout::aimd_policy policy;  // initial 10, backoff 0.9, per_round_trip
    policy.max_limit = 100;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    // Slow start: +1 per success while in use.
    for (int i = 0; i < 5; ++i) limit.record(1ms, 10, limit_verdict::success);
    CHECK(limit.current() == 15);
    // A burst of drops from attempts that all started a second ago, before
    // the first of them backed off: one backoff.
    limit.record(1s, 15, limit_verdict::drop);
    CHECK(limit.current() == 13);  // floor(15 * 0.9)
    for (int i = 0; i < 5; ++i) limit.record(1s, 13, limit_verdict::drop);
    CHECK(limit.current() == 13);
    CHECK(limit.stats().drops == 6);
    // Past the first drop: +1 per round trip, about `limit` successes.
    for (int i = 0; i < 12; ++i) limit.record(1ms, 13, limit_verdict::success);
    CHECK(limit.current() == 13);
    limit.record(1ms, 13, limit_verdict::success);
    CHECK(limit.current() == 14);
    for (int i = 0; i < 13; ++i) limit.record(1ms, 14, limit_verdict::success);
    CHECK(limit.current() == 14);
    limit.record(1ms, 14, limit_verdict::success);
    CHECK(limit.current() == 15);
    // Unused (under half in flight): no growth.
    for (int i = 0; i < 40; ++i) limit.record(1ms, 3, limit_verdict::success);
    CHECK(limit.current() == 15);
    // A drop of an attempt admitted after the last backoff backs off again
    // (it started 1 ms ago; the backoff was at least 20 ms ago).
    std::this_thread::sleep_for(20ms);
    limit.record(1ms, 15, limit_verdict::drop);
    CHECK(limit.current() == 13);
    CHECK(limit.stats().drops == 7);
}

TEST_CASE("a gradient limit grows while latency holds at its minimum and shrinks as it rises") {
    net::io_context io(1);
    fanout::gradient_policy policy;  // initial 20, smoothing 0.2, buffer 0.1
    policy.window_samples = 10;
    policy.max_limit = 100;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    // A window is max(10, limit) samples: 20 now. 19 change nothing.
    for (int i = 0; i < 19; ++i) limit.record(10ms, 20, limit_verdict::success);
    CHECK(limit.current() == 20);
    limit.record(10ms, 20, limit_verdict::success);
    // gradient 1.1: 20 * 0.8 + (20 * 1.1 + 4) * 0.2 = 21.2
    CHECK(limit.current() == 21);
    CHECK(limit.stats().min_rtt == 10ms);
    // Twice the min: gradient 0.55; 21.2 * 0.8 + (21.2 * 0.55 + 4) * 0.2 = 20.09
    for (int i = 0; i < 21; ++i) limit.record(20ms, 21, limit_verdict::success);
    CHECK(limit.current() == 20);
    CHECK(limit.stats().last_sample_rtt == 20ms);
    CHECK(limit.stats().windows == 2);
    // Ten times the min: the gradient is clamped at 0.5, and windows shrink
    // the limit until the headroom holds it (0.5 * 8 + 4 = 8).
    for (int i = 0; i < 2000; ++i) limit.record(100ms, 20, limit_verdict::success);
    CHECK(limit.current() == 8);
    CHECK(limit.stats().lowest == 8);
    // At the min again it climbs to max_limit.
    for (int i = 0; i < 20000; ++i) limit.record(10ms, limit.current(), limit_verdict::success);
    CHECK(limit.current() == 100);
}

TEST_CASE("a gradient window's sample is its mean latency unless a percentile is asked for") {
    net::io_context io(1);
    fanout::gradient_policy policy;
    policy.window_samples = 20;
    policy.initial = 20;
    // Half the window waits one service time: the mean says so, the p50
    // (here the lower middle) does not.
    const auto feed = [](fanout::adaptive_limit& limit) {
        for (int i = 0; i < 20; ++i) limit.record(10ms, 20, limit_verdict::success);
        for (int i = 0; i < 10; ++i) limit.record(10ms, 21, limit_verdict::success);
        for (int i = 0; i < 11; ++i) limit.record(20ms, 21, limit_verdict::success);
    };
    fanout::adaptive_limit by_mean(io.get_executor(), policy);
    feed(by_mean);
    CHECK(by_mean.stats().windows == 2);
    const auto mean = by_mean.stats().last_sample_rtt;
    CHECK(mean > 15ms);
    CHECK(mean < 15500us);  // (10 * 10 + 11 * 20) / 21 = 15.24 ms
    // 21.2 * 0.8 + (21.2 * 1.1 * 10 / 15.24 + 4) * 0.2 = 20.82: shrinks
    CHECK(by_mean.current() == 20);
    policy.sample_percentile = 0;
    fanout::adaptive_limit by_percentile(io.get_executor(), policy);
    feed(by_percentile);
    CHECK(by_percentile.stats().last_sample_rtt == 10ms);
    CHECK(by_percentile.current() == 22);  // the window's fastest: grows
}

TEST_CASE("a gradient limit does not grow when the caller uses under half of it") {
    net::io_context io(1);
    fanout::gradient_policy policy;
    policy.window_samples = 10;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    for (int i = 0; i < 200; ++i) limit.record(10ms, 9, limit_verdict::success);
    CHECK(limit.current() == 20);
    CHECK(limit.stats().windows == 10);
}

TEST_CASE("a gradient window with a drop in it backs the limit off") {
    net::io_context io(1);
    fanout::gradient_policy policy;
    policy.window_samples = 10;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    for (int i = 0; i < 19; ++i) limit.record(10ms, 20, limit_verdict::success);
    limit.record(5s, 20, limit_verdict::drop);  // its latency is not a sample
    CHECK(limit.current() == 18);               // 20 * 0.9
    CHECK(limit.stats().min_rtt == 10ms);
    CHECK(limit.stats().drops == 1);
}

TEST_CASE("a gradient limit re-measures its min RTT at min_limit, then goes back") {
    net::io_context io(1);
    fanout::gradient_policy policy;
    policy.initial = 10;
    policy.min_limit = 2;
    policy.window_samples = 5;
    policy.min_rtt_every = 2;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    for (int i = 0; i < 10; ++i) limit.record(10ms, 10, limit_verdict::success);
    const auto after_one = limit.current();
    CHECK(after_one >= 10);
    for (int i = 0; i < static_cast<int>(after_one); ++i)
        limit.record(10ms, after_one, limit_verdict::success);
    CHECK(limit.current() == 2);  // pinned for the measurement
    // The backend became slower for good: the measurement finds it out.
    for (int i = 0; i < 4; ++i) limit.record(30ms, 2, limit_verdict::success);
    CHECK(limit.current() == 2);
    limit.record(30ms, 2, limit_verdict::success);
    CHECK(limit.stats().min_rtt == 30ms);
    CHECK(limit.current() >= after_one);  // back where it was
}

TEST_CASE("a limit's policy must have its bounds in order") {
    net::io_context io(1);
    fanout::aimd_policy policy;
    policy.min_limit = 0;
    CHECK_THROWS_AS(fanout::adaptive_limit(io.get_executor(), policy), std::invalid_argument);
    policy.min_limit = 20;  // above initial 10
    CHECK_THROWS_AS(fanout::adaptive_limit(io.get_executor(), policy), std::invalid_argument);
    fanout::gradient_policy gradient;
    gradient.max_limit = 5;  // below initial 20
    CHECK_THROWS_AS(fanout::adaptive_limit(io.get_executor(), gradient), std::invalid_argument);
    gradient.max_limit = 1000;
    gradient.sample_percentile = 101;
    CHECK_THROWS_AS(fanout::adaptive_limit(io.get_executor(), gradient), std::invalid_argument);
    gradient.sample_percentile = 50;
    gradient.headroom = -1;
    CHECK_THROWS_AS(fanout::adaptive_limit(io.get_executor(), gradient), std::invalid_argument);
    gradient.headroom = 0;
    CHECK_NOTHROW(fanout::adaptive_limit(io.get_executor(), gradient));
}

TEST_CASE(
    "a limit that falls below the attempts in flight admits nothing until they fall under it") {
    net::io_context io(1);
    fanout::aimd_policy policy;
    policy.initial = 3;
    policy.per_round_trip = false;  // each drop backs off
    fanout::adaptive_limit limit(io.get_executor(), policy);
    CHECK(limit.try_acquire());
    CHECK(limit.try_acquire());
    CHECK(limit.try_acquire());
    CHECK_FALSE(limit.try_acquire());
    limit.release(1ms, limit_verdict::drop);  // limit 2, 2 in flight
    CHECK(limit.current() == 2);
    CHECK_FALSE(limit.try_acquire());
    limit.release(1ms, limit_verdict::drop);  // limit 1, 1 in flight
    CHECK(limit.current() == 1);
    CHECK_FALSE(limit.try_acquire());
    limit.release(1ms, limit_verdict::none);  // 0 in flight
    CHECK(limit.in_flight() == 0);
    CHECK(limit.try_acquire());
    CHECK_FALSE(limit.try_acquire());
    limit.release(1ms, limit_verdict::success);  // 1 in flight of 1: in use, +1
    CHECK(limit.current() == 2);
    CHECK(limit.try_acquire());
    CHECK(limit.try_acquire());
    CHECK_FALSE(limit.try_acquire());
    CHECK(limit.in_flight() == 2);
}

TEST_CASE("a waiting acquire is admitted when an attempt ends; a cancelled one takes nothing") {
    net::io_context io(1);
    fanout::aimd_policy policy;
    policy.initial = 1;
    fanout::adaptive_limit limit(io.get_executor(), policy);
    REQUIRE(limit.try_acquire());
    bool admitted = false, cancelled_admitted = true;
    net::cancellation_signal signal;
    auto waiter = [&]() -> net::awaitable<void> { admitted = co_await limit.acquire(); };
    auto cancelled = [&]() -> net::awaitable<void> {
        cancelled_admitted = co_await limit.acquire();
    };
    auto main = [&]() -> net::awaitable<void> {
        net::co_spawn(io, cancelled(), net::bind_cancellation_slot(signal.slot(), net::detached));
        co_await fanout::test::sleep_for(5ms);
        signal.emit(net::cancellation_type::terminal);
        co_await fanout::test::sleep_for(5ms);
        CHECK_FALSE(cancelled_admitted);
        net::co_spawn(io, waiter(), net::detached);
        co_await fanout::test::sleep_for(5ms);
        CHECK_FALSE(admitted);
        CHECK(limit.in_flight() == 1);
        limit.release(1ms, limit_verdict::none);
        co_await fanout::test::sleep_for(5ms);
        CHECK(admitted);
        CHECK(limit.in_flight() == 1);
        limit.release(1ms, limit_verdict::none);
    };
    run_bounded(io, main());
    CHECK(limit.in_flight() == 0);
    CHECK(limit.try_acquire());
}

TEST_CASE("gather: against a backend with a knee, a gradient limit settles near the knee") {
    knee_backend backend(8, 10ms);
    net::io_context io(1);
    auto limit = std::make_shared<fanout::adaptive_limit>(io.get_executor(), small_gradient());
    fanout::progress counters;
    fanout::gather_options options;
    options.adaptive = limit;
    options.progress = &counters;
    const auto inputs = numbers(1000);
    std::vector<int> outcomes_of(inputs.size());
    auto main = [&]() -> net::awaitable<fanout::gather_summary> {
        co_return co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) {
                ++outcomes_of[out.index];
                CHECK(out.ok());
            },
            options);
    };
    const auto summary = run_bounded(io, main(), 60s);
    CHECK(summary.total == 1000);
    CHECK(summary.succeeded == 1000);
    CHECK(std::all_of(outcomes_of.begin(), outcomes_of.end(), [](int n) { return n == 1; }));
    // It climbed from 2 past the knee (8) and stayed in a wide band around
    // it (its fixed point is about 1.1 * 8 + 4 = 12.8); the backend
    // never saw more calls in flight than the limit allowed.
    CHECK(summary.limit_lowest == 2);
    CHECK(summary.limit_highest >= 8);
    CHECK(summary.limit_final >= 4);
    CHECK(summary.limit_final <= 24);
    CHECK(summary.limit_final == limit->current());
    CHECK(backend.peak <= static_cast<int>(summary.limit_highest));
    CHECK(counters.snapshot().limit == summary.limit_final);
    CHECK(limit->in_flight() == 0);
    CHECK(limit->stats().samples == 1000);
}

TEST_CASE("gather: two gathers sharing a limit keep their attempts in flight together under it") {
    knee_backend backend(100, 2ms);
    net::io_context io(1);
    fanout::aimd_policy policy;
    policy.initial = 4;
    policy.max_limit = 6;
    auto limit = std::make_shared<fanout::adaptive_limit>(io.get_executor(), policy);
    fanout::gather_options options;
    options.adaptive = limit;
    const auto inputs = numbers(200);
    std::atomic<int> delivered{0};
    fanout::gather_summary first, second;
    auto one = [&](fanout::gather_summary& summary) -> net::awaitable<void> {
        summary = co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) { delivered += out.ok(); }, options);
    };
    auto main = [&]() -> net::awaitable<void> {
        net::co_spawn(io, one(first), net::detached);
        co_await one(second);
    };
    run_bounded(io, main());  // until the loop has no work left: both have ended
    CHECK(first.total == 200);
    CHECK(second.total == 200);
    CHECK(delivered == 400);
    // Each gather runs up to 6 workers: alone, each could have 6 in flight.
    CHECK(backend.peak <= 6);
    CHECK(backend.peak >= 4);
    CHECK(first.limit_final == 6);
    CHECK(second.limit_final == 6);
    CHECK(limit->in_flight() == 0);
}

TEST_CASE("gather: two gathers on a thread pool share a limit, each item ending once") {
    knee_backend backend(100, 1ms);
    net::thread_pool pool(3);
    fanout::aimd_policy policy;
    policy.initial = 5;
    policy.max_limit = 8;
    auto limit = std::make_shared<fanout::adaptive_limit>(pool.get_executor(), policy);
    const auto inputs = numbers(300);
    std::vector<std::atomic<int>> outcomes_of(600);
    auto run = [&](int offset) -> net::awaitable<fanout::gather_summary> {
        fanout::gather_options options;
        options.adaptive = limit;
        co_return co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&, offset](fanout::outcome<int>&& out) {
                if (out.ok()) ++outcomes_of[out.index + static_cast<std::size_t>(offset)];
            },
            options);
    };
    std::promise<fanout::gather_summary> promises[2];
    for (int i = 0; i < 2; ++i)
        net::co_spawn(pool, run(i * 300),
                      [&promises, i](std::exception_ptr e, fanout::gather_summary s) {
                          if (e)
                              promises[i].set_exception(e);
                          else
                              promises[i].set_value(s);
                      });
    auto first = promises[0].get_future(), second = promises[1].get_future();
    REQUIRE(first.wait_for(60s) == std::future_status::ready);
    REQUIRE(second.wait_for(60s) == std::future_status::ready);
    CHECK(first.get().succeeded == 300);
    CHECK(second.get().succeeded == 300);
    pool.join();
    CHECK(std::all_of(outcomes_of.begin(), outcomes_of.end(),
                      [](const std::atomic<int>& n) { return n == 1; }));
    CHECK(backend.peak <= 8);
    CHECK(backend.live == 0);
    CHECK(limit->in_flight() == 0);
    CHECK(limit->stats().samples == 600);
}

TEST_CASE(
    "gather: failed attempts are drops, retries are admitted again, a stop gives no verdict") {
    knee_backend backend(100, 1ms);
    backend.fail_first = true;
    net::io_context io(1);
    fanout::aimd_policy policy;
    policy.initial = 4;
    auto limit = std::make_shared<fanout::adaptive_limit>(io.get_executor(), policy);
    fanout::gather_options options;
    options.adaptive = limit;
    options.retry.max_attempts = 2;
    options.retry.initial_backoff = 1ms;
    const auto inputs = numbers(40);
    auto main = [&]() -> net::awaitable<fanout::gather_summary> {
        co_return co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [](fanout::outcome<int>&& out) { CHECK(out.attempts == 2); }, options);
    };
    const auto summary = run_bounded(io, main());
    CHECK(summary.succeeded == 40);
    const auto stats = limit->stats();
    CHECK(stats.drops == 40);
    CHECK(stats.samples == 80);
    CHECK(stats.in_flight == 0);
    CHECK(summary.limit_lowest < 4);  // backed off on the failures
}

TEST_CASE("gather: a cancelled gather under an adaptive limit gives every input one outcome") {
    knee_backend backend(100, 1ms);
    backend.hang_from = 6;  // items 0-5 end in about 1 ms; 6, 7 and 8 are in flight when cancelled
    net::io_context io(1);
    fanout::aimd_policy policy;
    policy.initial = 3;
    policy.max_limit = 3;
    auto limit = std::make_shared<fanout::adaptive_limit>(io.get_executor(), policy);
    fanout::gather_options options;
    options.adaptive = limit;
    const auto inputs = numbers(100);
    std::vector<int> outcomes_of(inputs.size());
    net::cancellation_signal signal;
    fanout::gather_summary summary;
    auto body = [&]() -> net::awaitable<void> {
        summary = co_await fanout::gather_each(
            inputs, [&backend](int item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) { ++outcomes_of[out.index]; }, options);
    };
    auto main = [&]() -> net::awaitable<void> {
        net::co_spawn(io, body(), net::bind_cancellation_slot(signal.slot(), net::detached));
        co_await fanout::test::cancel_after(signal, 200ms);
    };
    run_bounded(io, main());
    CHECK(summary.stopped == fanout::stop_reason::cancelled);
    CHECK(summary.total == 100);
    CHECK(summary.not_started == 91);
    CHECK(summary.succeeded == 6);
    CHECK(std::all_of(outcomes_of.begin(), outcomes_of.end(), [](int n) { return n == 1; }));
    CHECK(backend.peak <= 3);
    const auto stats = limit->stats();
    CHECK(stats.in_flight == 0);
    // The attempts cut short gave no verdict; the others a sample each.
    CHECK(stats.ignored == 3);
    CHECK(stats.samples == 6);
    CHECK(limit->try_acquire());
}

TEST_CASE("the progress line shows an adaptive limit beside the items in flight") {
    fanout::progress_snapshot s;
    s.started = 900;
    s.done = 100;
    s.limit = 850;
    s.elapsed = 1s;
    CHECK(fanout::render_progress_line(s) ==
          "100 done  0 failed  800 in flight (limit 850)  100/s  0:01.0");
    fanout::progress counters;
    CHECK_FALSE(counters.snapshot().limit);
    counters.set_limit(12);
    CHECK(counters.snapshot().limit == 12);
}
