#include <fanout/gather.hpp>

#include "executor_check.hpp"
#include "test_loop.hpp"

#include <fanout/lines.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <future>
#include <map>
#include <numeric>
#include <optional>
#include <ranges>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using fanout::test::sleep_for;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::test::run_bounded;

namespace {

net::awaitable<void> yield_once() {
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
}

// Counts items in flight and remembers the most seen at once.
struct in_flight_meter {
    int now = 0;
    int most = 0;
    struct scope {
        in_flight_meter& meter;
        explicit scope(in_flight_meter& m) : meter(m) {
            meter.most = std::max(meter.most, ++meter.now);
        }
        ~scope() { --meter.now; }
    };
};

}  // namespace

TEST_CASE("an empty input completes at once with no outcomes") {
    net::io_context io;
    std::vector<int> none;
    int calls = 0;
    auto results = run_bounded(io,
                               fanout::gather(none,
                                              [&](int) -> net::awaitable<int> {
                                                  ++calls;
                                                  co_return 1;
                                              }),
                               1s);
    CHECK(results.empty());
    CHECK(calls == 0);
}

TEST_CASE("outcomes come back in input order whatever order items finish in") {
    net::io_context io;
    std::vector<int> inputs{50, 40, 30, 20, 10, 0};
    auto results = run_bounded(io, fanout::gather(inputs, [](int ms) -> net::awaitable<int> {
                                   co_await sleep_for(std::chrono::milliseconds(ms));
                                   co_return ms * 2;
                               }));
    REQUIRE(results.size() == inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        CHECK(results[i].index == i);
        REQUIRE(results[i].ok());
        CHECK(results[i].value() == inputs[i] * 2);
        CHECK(results[i].attempts == 1);
    }
}

TEST_CASE("the number of items in flight never exceeds the limit") {
    net::io_context io;
    in_flight_meter meter;
    auto items = std::views::iota(0, 2000);
    auto summary = run_bounded(io, fanout::gather_each(
                                       items,
                                       [&](int i) -> net::awaitable<void> {
                                           in_flight_meter::scope s(meter);
                                           if (i % 3 == 0) co_await sleep_for(1ms);
                                           co_await yield_once();
                                       },
                                       [](fanout::outcome<void>&&) {}, {.limit = 37}));
    CHECK(summary.total == 2000);
    CHECK(summary.succeeded == 2000);
    CHECK(meter.most == 37);
}

TEST_CASE("a lazy input is pulled only as workers free up") {
    net::io_context io;
    std::size_t pulled = 0;
    std::size_t finished = 0;
    std::size_t furthest_ahead = 0;
    constexpr std::size_t limit = 16;
    auto counting = std::views::iota(std::size_t{0}, std::size_t{100'000}) |
                    std::views::transform([&](std::size_t i) {
                        ++pulled;
                        furthest_ahead = std::max(furthest_ahead, pulled - finished);
                        return i;
                    });
    std::size_t delivered = 0;
    std::size_t out_of_range = 0;
    auto summary = run_bounded(io, fanout::gather_each(
                                       counting,
                                       [&](std::size_t) -> net::awaitable<void> {
                                           co_await yield_once();
                                           ++finished;
                                       },
                                       [&](fanout::outcome<void>&& out) {
                                           if (out.index >= 100'000) ++out_of_range;
                                           ++delivered;
                                       },
                                       {.limit = limit}),
                               // 100,000 items: unoptimised under ASan on a
                               // loaded machine this takes tens of seconds.
                               std::chrono::seconds(90));
    CHECK(out_of_range == 0);
    CHECK(delivered == 100'000);
    CHECK(summary.total == 100'000);
    CHECK(pulled == 100'000);
    CHECK(furthest_ahead <= limit + 1);
}

TEST_CASE("a throwing item is captured and does not affect the others") {
    net::io_context io;
    std::vector<int> inputs{1, 2, 3, 4, 5};
    auto results = run_bounded(io, fanout::gather(inputs, [](int i) -> net::awaitable<int> {
                                   co_await yield_once();
                                   if (i == 2) throw std::runtime_error("item two broke");
                                   if (i == 4)
                                       throw boost::system::system_error(
                                           net::error::connection_refused, "connect to item four");
                                   co_return i;
                               }));
    REQUIRE(results.size() == 5);
    CHECK(results[0].ok());
    CHECK_FALSE(results[1].ok());
    CHECK(results[1].error().code == errc::exception);
    CHECK(results[1].error().message == "item two broke");
    CHECK(results[1].error().exception != nullptr);
    CHECK_THROWS_AS(results[1].value(), std::runtime_error);
    CHECK(results[2].ok());
    CHECK(results[3].error().code == net::error::connection_refused);
    CHECK(std::string(results[3].error().kind()) == "connection_refused");
    CHECK(results[4].value() == 5);
}

TEST_CASE("a failure returned as a value becomes the item's error") {
    net::io_context io;
    std::vector<int> inputs{1, 2};
    auto results = run_bounded(
        io, fanout::gather(inputs, [](int i) -> net::awaitable<fanout::result<std::string>> {
            co_await yield_once();
            if (i == 2) co_return fanout::failure{errc::invalid_input, "input 2 is not allowed"};
            co_return std::string("fine");
        }));
    CHECK(results[0].value() == "fine");
    CHECK(results[1].error().code == errc::invalid_input);
    CHECK(results[1].error().text() == "input 2 is not allowed");
    CHECK(results[1].attempts == 1);
}

TEST_CASE("a per-attempt timeout cancels the hanging item and it finishes") {
    net::io_context io;
    std::vector<int> inputs{0, 1, 2, 3};
    int hangs_unwound = 0;
    auto results = run_bounded(io, fanout::gather(inputs,
                                                  [&](int i) -> net::awaitable<int> {
                                                      if (i % 2 == 1) {
                                                          struct unwind {
                                                              int& n;
                                                              ~unwind() { ++n; }
                                                          } guard{hangs_unwound};
                                                          co_await sleep_for(1h);
                                                      }
                                                      co_return i;
                                                  },
                                                  {.limit = 4, .per_attempt_timeout = 50ms}));
    CHECK(results[0].value() == 0);
    CHECK(results[2].value() == 2);
    for (int i : {1, 3}) {
        CHECK(results[i].error().code == errc::timeout);
        CHECK(std::string(results[i].error().kind()) == "timeout");
        CHECK(results[i].elapsed >= 50ms);
        CHECK(results[i].elapsed < 10s);
    }
    CHECK(hangs_unwound == 2);
}

TEST_CASE("the deadline cancels items in flight and reports the rest as never started") {
    net::io_context io;
    auto items = std::views::iota(0, 10);
    auto results = run_bounded(
        io, fanout::gather(items,
                           [](int i) -> net::awaitable<int> {
                               if (i >= 2) co_await sleep_for(1h);
                               co_return i;
                           },
                           {.limit = 3, .deadline = std::chrono::steady_clock::now() + 100ms}));
    REQUIRE(results.size() == 10);
    CHECK(results[0].ok());
    CHECK(results[1].ok());
    CHECK(results[2].error().code == errc::deadline_exceeded);
    CHECK(results[2].attempts == 1);
    int never_started = 0;
    for (std::size_t i = 3; i < results.size(); ++i) {
        CHECK_FALSE(results[i].ok());
        if (results[i].attempts == 0) {
            ++never_started;
            CHECK(results[i].error().code == errc::cancelled);
        }
    }
    CHECK(never_started >= 5);
}

TEST_CASE("fail-fast cancels the siblings and they finish before the gather returns") {
    net::io_context io;
    std::vector<int> inputs{0, 1, 2, 3, 4, 5, 6, 7};
    int running = 0;
    auto results = run_bounded(
        io, fanout::gather(inputs,
                           [&](int i) -> net::awaitable<int> {
                               ++running;
                               struct leave {
                                   int& n;
                                   ~leave() { --n; }
                               } guard{running};
                               if (i == 1) {
                                   co_await yield_once();
                                   throw std::runtime_error("first failure");
                               }
                               co_await sleep_for(1h);
                               co_return i;
                           },
                           {.limit = 4, .on_failure = fanout::failure_mode::fail_fast}));
    CHECK(running == 0);
    REQUIRE(results.size() == 8);
    CHECK(results[1].error().code == errc::exception);
    for (std::size_t i : {0u, 2u, 3u}) {
        CHECK(results[i].error().code == errc::cancelled);
        CHECK(results[i].attempts == 1);
    }
    for (std::size_t i = 4; i < 8; ++i) {
        CHECK(results[i].error().code == errc::cancelled);
        CHECK(results[i].attempts == 0);
    }
}

TEST_CASE("cancelling the awaiting coroutine cancels the run and reports every input once") {
    net::io_context io;
    net::cancellation_signal cancel;
    std::vector<fanout::outcome<int>> seen;
    std::optional<fanout::gather_summary> summary;
    auto items = std::views::iota(0, 1000);
    net::co_spawn(
        io,
        fanout::gather_each(
            items,
            [&](int i) -> net::awaitable<int> {
                if (i < 5) co_return i;
                if (i == 5) cancel.emit(net::cancellation_type::terminal);
                co_await sleep_for(1h);
                co_return i;
            },
            [&](fanout::outcome<int>&& out) { seen.push_back(std::move(out)); }, {.limit = 10}),
        net::bind_cancellation_slot(cancel.slot(),
                                    [&](std::exception_ptr e, fanout::gather_summary s) {
                                        REQUIRE_FALSE(e);
                                        summary = s;
                                    }));
    io.run_for(10s);
    REQUIRE(summary);
    REQUIRE(io.stopped());
    CHECK(summary->stopped == fanout::stop_reason::cancelled);
    CHECK(summary->total == 1000);
    REQUIRE(seen.size() == 1000);
    std::set<std::size_t> indexes;
    for (auto& out : seen) indexes.insert(out.index);
    CHECK(indexes.size() == 1000);
    CHECK(summary->succeeded == 5);
    CHECK(summary->not_started >= 1000 - 5 - 10);  // at most `limit` started besides the five
}

TEST_CASE("after a gather cancelled from outside, the caller's next co_await does not throw") {
    // Both forms, with the caller's default throw_if_cancelled(true).
    for (const bool ordered : {false, true}) {
        INFO((ordered ? "gather" : "gather_each"));
        net::io_context io;
        net::cancellation_signal cancel;
        auto hang = [](int) -> net::awaitable<int> {
            co_await sleep_for(1h);
            co_return 0;
        };
        std::optional<fanout::stop_reason> stopped;
        bool slept_after = false;
        auto caller = [&]() -> net::awaitable<void> {
            const std::vector<int> items(20, 0);
            const fanout::gather_options options{.limit = 4};
            if (ordered) {
                const auto results = co_await fanout::gather(items, hang, options);
                stopped =
                    std::ranges::all_of(
                        results, [](const auto& r) { return r.error().code == errc::cancelled; })
                        ? fanout::stop_reason::cancelled
                        : fanout::stop_reason::none;
            } else {
                const auto summary = co_await fanout::gather_each(
                    items, hang, [](auto&&) {}, options);
                stopped = summary.stopped;
            }
            // Throws system_error(operation_aborted) if the cancellation
            // state was left as the gather found it.
            co_await sleep_for(1ms);
            slept_after = true;
        };
        std::exception_ptr failed;
        net::co_spawn(
            io, caller(),
            net::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) { failed = e; }));
        net::co_spawn(io, fanout::test::cancel_after(cancel, 20ms), net::detached);
        io.run_for(10s);
        REQUIRE(io.stopped());
        CHECK_FALSE(fanout::test::error_of(failed));
        CHECK(stopped == fanout::stop_reason::cancelled);
        CHECK(slept_after);
    }
}

TEST_CASE("a failing item is retried until it succeeds, with the attempts counted") {
    net::io_context io;
    std::map<int, int> calls;
    std::vector<int> inputs{0, 1};
    fanout::retry_policy retry;
    retry.max_attempts = 4;
    retry.initial_backoff = 20ms;
    retry.jitter = fanout::retry_policy::jitter_kind::none;
    const auto started = std::chrono::steady_clock::now();
    auto results = run_bounded(
        io, fanout::gather(inputs,
                           [&](int i) -> net::awaitable<fanout::result<int>> {
                               co_await yield_once();
                               if (i == 1 && ++calls[i] < 3)
                                   co_return fanout::failure{net::error::connection_reset};
                               co_return i;
                           },
                           {.limit = 2, .retry = retry}));
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(results[0].attempts == 1);
    REQUIRE(results[1].ok());
    CHECK(results[1].attempts == 3);
    // Two waits without jitter: 20 ms, then 40 ms.
    CHECK(results[1].elapsed >= 60ms);
    CHECK(took >= 60ms);
}

TEST_CASE("retries stop at max_attempts and keep the last error") {
    net::io_context io;
    int calls = 0;
    std::vector<int> inputs{0};
    fanout::retry_policy retry;
    retry.max_attempts = 3;
    retry.initial_backoff = 1ms;
    auto results = run_bounded(
        io, fanout::gather(inputs,
                           [&](int) -> net::awaitable<fanout::result<int>> {
                               ++calls;
                               co_return fanout::failure{net::error::connection_refused};
                           },
                           {.retry = retry}));
    CHECK(calls == 3);
    CHECK(results[0].attempts == 3);
    CHECK(results[0].error().code == net::error::connection_refused);
}

TEST_CASE("retry_if decides which failures are retried") {
    net::io_context io;
    int calls = 0;
    std::vector<int> inputs{0};
    fanout::retry_policy retry;
    retry.max_attempts = 5;
    retry.initial_backoff = 1ms;
    retry.retry_if = [](const fanout::failure& f) { return f.code != errc::invalid_input; };
    auto results =
        run_bounded(io, fanout::gather(inputs,
                                       [&](int) -> net::awaitable<fanout::result<int>> {
                                           ++calls;
                                           co_return fanout::failure{errc::invalid_input};
                                       },
                                       {.retry = retry}));
    CHECK(calls == 1);
    CHECK(results[0].attempts == 1);
}

TEST_CASE("a retry-after hint from the operation sets the least wait") {
    net::io_context io;
    int calls = 0;
    std::vector<int> inputs{0};
    fanout::retry_policy retry;
    retry.max_attempts = 2;
    retry.initial_backoff = 1ms;
    auto results = run_bounded(io, fanout::gather(inputs,
                                                  [&](int) -> net::awaitable<fanout::result<int>> {
                                                      if (++calls == 1) {
                                                          fanout::failure busy{errc::rate_limited};
                                                          busy.retry_after = 150ms;
                                                          co_return busy;
                                                      }
                                                      co_return 7;
                                                  },
                                                  {.retry = retry}));
    CHECK(results[0].value() == 7);
    CHECK(results[0].elapsed >= 150ms);
}

TEST_CASE("a shared rate limiter paces attempts across gathers") {
    net::io_context io;
    fanout::rate_limiter limiter(200.0);  // one token every 5 ms, no burst
    std::vector<std::chrono::steady_clock::time_point> starts;
    auto items = std::views::iota(0, 21);
    auto record = [&](int) -> net::awaitable<void> {
        starts.push_back(std::chrono::steady_clock::now());
        co_return;
    };
    auto both = [&]() -> net::awaitable<void> {
        co_await fanout::gather(items | std::views::take(10), record,
                                {.limit = 50, .rate = &limiter});
        co_await fanout::gather(items | std::views::drop(10), record,
                                {.limit = 50, .rate = &limiter});
    };
    run_bounded(io, both());
    REQUIRE(starts.size() == 21);
    // 21 tokens at 200/s with no burst: the last is at least 100 ms after the first.
    CHECK(starts.back() - starts.front() >= 100ms - 1ms);
}

TEST_CASE("a per-key limit bounds the items of one key in flight") {
    net::io_context io;
    std::map<std::string, in_flight_meter> meters;
    std::vector<std::string> hosts;
    for (int i = 0; i < 60; ++i) hosts.push_back(i % 3 == 0 ? "a" : (i % 3 == 1 ? "b" : "c"));
    auto summary =
        run_bounded(io, fanout::gather_each(
                            hosts,
                            [&](const std::string& host) -> net::awaitable<void> {
                                in_flight_meter::scope s(meters[host]);
                                co_await sleep_for(1ms);
                            },
                            [](fanout::outcome<void>&&) {}, {.limit = 20, .per_key_limit = 2},
                            [](const std::string& host) { return host; }));
    CHECK(summary.succeeded == 60);
    for (auto& [host, meter] : meters) CHECK(meter.most == 2);
}

TEST_CASE("items waiting for their key are cancelled cleanly with the run") {
    net::io_context io;
    net::cancellation_signal cancel;
    std::vector<std::string> hosts(50, "same-host");
    std::optional<fanout::gather_summary> summary;
    net::co_spawn(
        io,
        fanout::gather_each(
            hosts, [](const std::string&) -> net::awaitable<void> { co_await sleep_for(1h); },
            [](fanout::outcome<void>&&) {}, {.limit = 10, .per_key_limit = 1},
            [](const std::string& host) { return host; }),
        net::bind_cancellation_slot(cancel.slot(),
                                    [&](std::exception_ptr e, fanout::gather_summary s) {
                                        if (!e) summary = s;
                                    }));
    net::co_spawn(io, fanout::test::cancel_after(cancel, 20ms), net::detached);
    io.run_for(10s);
    REQUIRE(summary);
    CHECK(io.stopped());
    CHECK(summary->total == 50);
    CHECK(summary->succeeded == 0);
    CHECK(summary->stopped == fanout::stop_reason::cancelled);
}

TEST_CASE("an exception from the sink stops the run and is rethrown after the workers finish") {
    net::io_context io;
    auto items = std::views::iota(0, 100);
    int running = 0;
    auto run = fanout::gather_each(
        items,
        [&](int i) -> net::awaitable<int> {
            ++running;
            struct leave {
                int& n;
                ~leave() { --n; }
            } guard{running};
            if (i > 0) co_await sleep_for(1h);
            co_return i;
        },
        [](fanout::outcome<int>&&) { throw std::logic_error("sink is full"); }, {.limit = 8});
    CHECK_THROWS_WITH(run_bounded(io, std::move(run)), "sink is full");
    CHECK(running == 0);
}

TEST_CASE("progress counters follow the run") {
    net::io_context io;
    fanout::progress counters;
    std::vector<int> inputs{0, 1, 2, 3};
    run_bounded(io, fanout::gather(inputs,
                                   [](int i) -> net::awaitable<fanout::result<int>> {
                                       co_await yield_once();
                                       if (i == 3) co_return fanout::failure{errc::invalid_input};
                                       co_return i;
                                   },
                                   {.progress = &counters}));
    auto snap = counters.snapshot();
    REQUIRE(snap.total);
    CHECK(*snap.total == 4);
    CHECK(snap.started == 4);
    CHECK(snap.done == 4);
    CHECK(snap.failed == 1);
}

TEST_CASE("a limit of zero is refused") {
    net::io_context io;
    std::vector<int> inputs{1};
    auto run =
        fanout::gather(inputs, [](int i) -> net::awaitable<int> { co_return i; }, {.limit = 0});
    CHECK_THROWS_AS(run_bounded(io, std::move(run)), std::invalid_argument);
}

TEST_CASE("a sink that takes the input gets the one each outcome belongs to") {
    net::io_context io;
    std::istringstream text("alpha\nbeta\ngamma\n");
    std::vector<std::string> seen;
    auto summary = fanout::test::run_bounded(
        io, fanout::gather_each(
                fanout::lines(text),
                [](const fanout::line& l) -> net::awaitable<std::size_t> {
                    co_await sleep_for(std::chrono::milliseconds(30 - 10 * l.number));
                    co_return l.text.size();
                },
                [&](const fanout::line& l, fanout::outcome<std::size_t>&& out) {
                    seen.push_back(l.text + "=" + std::to_string(out.value()) + "@" +
                                   std::to_string(out.index));
                },
                {.limit = 3}));
    CHECK(summary.total == 3);
    std::ranges::sort(seen);
    CHECK(seen == std::vector<std::string>{"alpha=5@0", "beta=4@1", "gamma=5@2"});
}

namespace {

// Runs `main` on an io_context that `threads` threads run at once, bounded.
template <class T>
T run_on_threads(int threads, net::awaitable<T> main, std::chrono::seconds limit = 120s) {
    net::io_context io;  // default hint: may be run by several threads
    std::optional<T> value;
    std::exception_ptr error;
    std::atomic<bool> done{false};
    net::co_spawn(io, std::move(main), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) value.emplace(std::move(v));
        done = true;
    });
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back([&] { io.run_for(limit); });
    for (auto& t : pool) t.join();
    REQUIRE(done);
    if (error) std::rethrow_exception(error);
    return std::move(*value);
}

// An item whose completions come from whichever thread runs the context,
// as a socket's do: a post to the context itself, then a short timer.
net::awaitable<int> hop_threads(net::io_context::executor_type context, int item) {
    co_await net::post(context, net::use_awaitable);
    if (item % 7 == 0) {
        net::steady_timer timer(context, 50us);
        co_await timer.async_wait(net::use_awaitable);
    }
    co_return item;
}

}  // namespace

TEST_CASE("gather on an io_context run by four threads delivers every item exactly once") {
    // 200 rounds; FANOUT_STRESS_ROUNDS lowers it where each step is slow
    // (the tsan preset sets 20: ThreadSanitizer runs it about ten times
    // slower; the asan preset, unoptimised, sets 50).
    const char* rounds_text = std::getenv("FANOUT_STRESS_ROUNDS");
    const int rounds = rounds_text ? std::max(1, std::atoi(rounds_text)) : 200;
    constexpr int items = 20'000;
    std::vector<int> inputs(items);
    std::iota(inputs.begin(), inputs.end(), 0);
    auto all_rounds = [&]() -> net::awaitable<int> {
        auto context = net::io_context::executor_type(
            *(co_await net::this_coro::executor).target<net::io_context::executor_type>());
        int good_rounds = 0;
        for (int round = 0; round < rounds; ++round) {
            std::vector<int> seen(items, 0);
            std::size_t delivered = 0;
            auto summary = co_await fanout::gather_each(
                inputs, [context](int item) { return hop_threads(context, item); },
                [&](fanout::outcome<int>&& out) {
                    ++delivered;
                    if (out.ok() && *out.result == static_cast<int>(out.index)) ++seen[out.index];
                },
                {.limit = 1000});
            const bool exactly_once =
                std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; });
            if (exactly_once && delivered == items && summary.total == items &&
                summary.succeeded == items)
                ++good_rounds;
        }
        co_return good_rounds;
    };
    CHECK(run_on_threads(4, all_rounds()) == rounds);
}

TEST_CASE("an ordered gather on a thread pool returns every outcome in its place") {
    net::thread_pool pool(3);
    std::vector<int> inputs(5'000);
    std::iota(inputs.begin(), inputs.end(), 0);
    std::promise<std::vector<fanout::outcome<int>>> promise;
    net::co_spawn(pool,
                  fanout::gather(inputs,
                                 [](int item) -> net::awaitable<int> {
                                     co_await net::post(co_await net::this_coro::executor,
                                                        net::use_awaitable);
                                     co_return item * 2;
                                 },
                                 {.limit = 64}),
                  [&](std::exception_ptr e, std::vector<fanout::outcome<int>> results) {
                      if (e)
                          promise.set_exception(e);
                      else
                          promise.set_value(std::move(results));
                  });
    auto future = promise.get_future();
    REQUIRE(future.wait_for(60s) == std::future_status::ready);
    const auto results = future.get();
    pool.join();
    REQUIRE(results.size() == inputs.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
        REQUIRE(results[i].ok());
        CHECK(results[i].index == i);
        CHECK(*results[i].result == static_cast<int>(i) * 2);
    }
}

TEST_CASE("gather on a one-thread io_context runs on the caller's executor, without a strand") {
    net::io_context single(1);
    net::io_context shared;  // default hint
    CHECK(fanout::detail::runs_serially(single.get_executor()));
    CHECK_FALSE(fanout::detail::runs_serially(shared.get_executor()));
    CHECK(fanout::detail::runs_serially(net::make_strand(shared.get_executor())));
    CHECK(fanout::detail::runs_serially(
        net::any_io_executor(net::make_strand(net::any_io_executor(shared.get_executor())))));
    net::thread_pool pool(1);
    CHECK_FALSE(fanout::detail::runs_serially(pool.get_executor()));
    pool.join();
}

TEST_CASE("a thread knows whether it is running an executor, for the debug assertions") {
    net::io_context io(1);
    auto strand = net::make_strand(io.get_executor());
    CHECK_FALSE(fanout::detail::running_in_this_thread(io.get_executor()));
    CHECK_FALSE(fanout::detail::running_in_this_thread(strand));
    bool inside_io = false, inside_strand = false, strand_from_io = true;
    net::post(io, [&] {
        inside_io = fanout::detail::running_in_this_thread(io.get_executor());
        strand_from_io = fanout::detail::running_in_this_thread(strand);
    });
    net::post(strand, [&] { inside_strand = fanout::detail::running_in_this_thread(strand); });
    io.run_for(5s);
    CHECK(inside_io);
    CHECK(inside_strand);
    CHECK_FALSE(strand_from_io);
}
