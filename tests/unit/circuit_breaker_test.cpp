#include <fanout/circuit_breaker.hpp>

#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::circuit_breaker;
using fanout::circuit_breaker_policy;
using fanout::circuit_state;
using fanout::errc;
using admission = circuit_breaker::admission;
using verdict = circuit_breaker::verdict;

namespace {

circuit_breaker_policy in_a_row(unsigned n) {
    circuit_breaker_policy policy;
    policy.consecutive_failures = n;
    policy.open_for = 10s;
    policy.max_open_for = 35s;
    policy.open_growth = 2.0;
    policy.half_open_trials = 2;
    return policy;
}

const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;

void fail(circuit_breaker& b, int n, std::chrono::steady_clock::time_point at) {
    for (int i = 0; i < n; ++i) b.record(b.admit(at), verdict::failure, at);
}

}  // namespace

TEST_CASE("a breaker opens after N failures in a row and refuses until its open time passes") {
    const auto policy = in_a_row(3);
    circuit_breaker b(policy);
    fail(b, 2, t0);
    b.record(b.admit(t0), verdict::success, t0);  // the row starts again
    fail(b, 2, t0);
    CHECK(b.state(t0) == circuit_state::closed);
    fail(b, 1, t0);
    CHECK(b.state(t0) == circuit_state::open);
    CHECK(b.times_opened() == 1);
    CHECK(b.admit(t0 + 9s) == admission::refused);
    CHECK(b.refused() == 1);
    CHECK(b.state(t0 + 10s) == circuit_state::half_open);
}

TEST_CASE("a failure ratio opens the breaker only once the window holds the minimum count") {
    circuit_breaker_policy policy;
    policy.consecutive_failures = 0;
    policy.failure_ratio = 0.5;
    policy.window = 10;
    policy.minimum_calls = 6;
    circuit_breaker b(policy);
    for (int i = 0; i < 5; ++i) {
        b.record(b.admit(t0), i % 2 ? verdict::success : verdict::failure, t0);
        CHECK(b.state(t0) == circuit_state::closed);  // 3 of 5: too few to judge
    }
    b.record(b.admit(t0), verdict::success, t0);  // 3 of 6
    CHECK(b.state(t0) == circuit_state::open);

    circuit_breaker low(policy);
    for (int i = 0; i < 30; ++i)  // 1 failure in 3 stays under the ratio
        low.record(low.admit(t0), i % 3 ? verdict::success : verdict::failure, t0);
    CHECK(low.state(t0) == circuit_state::closed);
}

TEST_CASE("half-open lets trials through; a failed trial reopens it for longer, up to the cap") {
    const auto policy = in_a_row(1);
    circuit_breaker b(policy);
    fail(b, 1, t0);
    auto now = t0 + 10s;
    const auto first = b.admit(now);
    const auto second = b.admit(now);
    CHECK(first == admission::trial);
    CHECK(second == admission::trial);
    CHECK(b.admit(now) == admission::refused);  // two trials at most
    b.record(first, verdict::failure, now);
    CHECK(b.state(now + 19s) == circuit_state::open);  // 20s now
    CHECK(b.state(now + 20s) == circuit_state::half_open);
    now += 20s;
    b.record(b.admit(now), verdict::failure, now);
    CHECK(b.state(now + 34s) == circuit_state::open);  // 40s, capped at 35s
    CHECK(b.state(now + 35s) == circuit_state::half_open);
    b.record(second, verdict::success, now);  // a trial of an earlier spell: ignored
    CHECK(b.times_opened() == 3);
}

TEST_CASE("trials that all succeed close the breaker, and the next open is short again") {
    const auto policy = in_a_row(1);
    circuit_breaker b(policy);
    fail(b, 1, t0);
    auto now = t0 + 10s;
    b.record(b.admit(now), verdict::failure, now);  // reopens for 20s
    now += 20s;
    const auto first = b.admit(now);
    const auto second = b.admit(now);
    b.record(first, verdict::success, now);
    CHECK(b.state(now) == circuit_state::half_open);
    b.record(second, verdict::success, now);
    CHECK(b.state(now) == circuit_state::closed);
    CHECK(b.admit(now) == admission::admitted);
    fail(b, 1, now);
    CHECK(b.state(now + 9s) == circuit_state::open);
    CHECK(b.state(now + 10s) == circuit_state::half_open);
}

TEST_CASE("a trial cut short gives no verdict and frees its place for another") {
    const auto policy = in_a_row(1);
    circuit_breaker b(policy);
    fail(b, 1, t0);
    const auto now = t0 + 10s;
    const auto first = b.admit(now);
    const auto second = b.admit(now);
    CHECK(b.admit(now) == admission::refused);
    b.record(first, verdict::none, now);
    CHECK(b.admit(now) == admission::trial);
    b.record(second, verdict::none, now);
    CHECK(b.state(now) == circuit_state::half_open);
}

TEST_CASE("an open time of nanoseconds::max() keeps the breaker open for good") {
    auto policy = in_a_row(2);
    policy.open_for = std::chrono::nanoseconds::max();
    circuit_breaker b(policy);
    fail(b, 2, t0);
    CHECK(b.admit(t0 + 24h * 365 * 100) == admission::refused);
    CHECK(b.state(t0 + 24h * 365 * 100) == circuit_state::open);
}

TEST_CASE("cancellation, the deadline and circuit_open do not count against a key") {
    circuit_breaker_policy policy;
    CHECK_FALSE(policy.counts(errc::cancelled));
    CHECK_FALSE(policy.counts(errc::deadline_exceeded));
    CHECK_FALSE(policy.counts(errc::circuit_open));
    CHECK(policy.counts(errc::timeout));
    policy.counts_if = [](const fanout::failure& f) { return !f.http_status; };
    fanout::failure answered{errc::invalid_input};
    answered.http_status = 404;
    CHECK_FALSE(policy.counts(answered));
    CHECK(policy.counts(errc::timeout));
}

TEST_CASE("the registry keeps one breaker per key, shared by threads") {
    fanout::circuit_breakers registry(in_a_row(400));
    CHECK(&registry.at("a") == &registry.at(std::string("a")));
    CHECK(&registry.at("a") != &registry.at("b"));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&registry] {
            for (int i = 0; i < 250; ++i) {
                auto& a = registry.at("a");
                a.record(a.admit(), verdict::failure);
                auto& c = registry.at("c");
                c.record(c.admit(), i % 2 ? verdict::success : verdict::failure);
            }
        });
    for (auto& t : threads) t.join();
    CHECK(registry.size() == 3);
    CHECK(registry.at("a").state() == circuit_state::open);  // 1000 failures in a row
    CHECK(registry.at("a").times_opened() == 1);
    CHECK(registry.at("c").times_opened() == 0);  // never more than 4 in a row
    CHECK(registry.open_now() == 1);
}

namespace {

struct keyed_item {
    std::string host;
    int number;
};

// Fails on host "down", succeeds elsewhere; counts the calls per host.
struct flaky_backend {
    std::atomic<int> calls_down{0};
    std::atomic<int> calls_up{0};

    net::awaitable<fanout::result<int>> call(const keyed_item& item) {
        co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
        if (item.host == "down") {
            ++calls_down;
            co_return fanout::failure{errc::timeout};
        }
        ++calls_up;
        co_return item.number;
    }
};

std::vector<keyed_item> mixed_items(int down, int up) {
    std::vector<keyed_item> items;
    for (int i = 0; i < down + up; ++i) items.push_back({i < down ? "down" : "up", i});
    return items;
}

}  // namespace

TEST_CASE("gather: items of an open key end at once as circuit_open, with no attempt") {
    fanout::circuit_breakers breakers(in_a_row(3));
    flaky_backend backend;
    const auto items = mixed_items(10, 5);
    fanout::gather_options options;
    options.limit = 1;
    options.breakers = &breakers;
    net::io_context io(1);
    std::vector<fanout::outcome<int>> outcomes;
    fanout::gather_summary summary;
    auto main = [&]() -> net::awaitable<int> {
        summary = co_await fanout::gather_each(
            items, [&backend](const keyed_item& item) { return backend.call(item); },
            [&outcomes](fanout::outcome<int>&& out) { outcomes.push_back(std::move(out)); },
            options, [](const keyed_item& item) { return item.host; });
        co_return 0;
    };
    fanout::test::run_bounded(io, main());
    REQUIRE(outcomes.size() == items.size());
    CHECK(backend.calls_down == 3);
    CHECK(backend.calls_up == 5);
    for (const auto& out : outcomes) {
        INFO("item " << out.index);
        if (out.index < 3) {
            CHECK(out.error().code == errc::timeout);
            CHECK(out.attempts == 1);
        } else if (out.index < 10) {
            CHECK(out.error().code == errc::circuit_open);
            CHECK(out.attempts == 0);
        } else {
            CHECK(out.ok());
        }
    }
    CHECK(summary.circuit_open == 7);
    CHECK(summary.failed == 10);
    CHECK(summary.succeeded == 5);
}

TEST_CASE("gather: a retry refused by an open breaker ends the item with the attempts it made") {
    auto policy = in_a_row(2);
    fanout::circuit_breakers breakers(policy);
    flaky_backend backend;
    const auto items = mixed_items(1, 0);
    fanout::gather_options options;
    options.breakers = &breakers;
    options.retry = fanout::attempts(5);
    options.retry.initial_backoff = 1ms;
    options.retry.max_backoff = 1ms;
    net::io_context io(1);
    auto main = [&]() -> net::awaitable<std::vector<fanout::outcome<int>>> {
        co_return co_await fanout::gather(
            items, [&backend](const keyed_item& item) { return backend.call(item); }, options,
            [](const keyed_item& item) { return item.host; });
    };
    const auto outcomes = fanout::test::run_bounded(io, main());
    REQUIRE(outcomes.size() == 1);
    CHECK(backend.calls_down == 2);
    CHECK(outcomes[0].attempts == 2);
    CHECK(outcomes[0].error().code == errc::circuit_open);
}

TEST_CASE("gather: one registry serves gathers on a thread pool, every item ending once") {
    auto policy = in_a_row(5);
    policy.open_for = std::chrono::nanoseconds::max();
    fanout::circuit_breakers breakers(policy);
    flaky_backend backend;
    const auto items = mixed_items(200, 100);
    constexpr std::size_t limit = 8;
    net::thread_pool pool(3);
    std::atomic<int> delivered{0};
    std::atomic<int> refused{0};
    auto one_gather = [&]() -> net::awaitable<fanout::gather_summary> {
        fanout::gather_options options;
        options.limit = limit;
        options.breakers = &breakers;
        co_return co_await fanout::gather_each(
            items, [&backend](const keyed_item& item) { return backend.call(item); },
            [&](fanout::outcome<int>&& out) {
                ++delivered;
                if (!out.ok() && out.error().code == errc::circuit_open) ++refused;
            },
            options, [](const keyed_item& item) { return item.host; });
    };
    std::promise<void> first, second;
    auto done = [](std::promise<void>& p) {
        return [&p](std::exception_ptr e, fanout::gather_summary) {
            if (e)
                p.set_exception(e);
            else
                p.set_value();
        };
    };
    net::co_spawn(pool, one_gather(), done(first));
    net::co_spawn(pool, one_gather(), done(second));
    auto f1 = first.get_future();
    auto f2 = second.get_future();
    REQUIRE(f1.wait_for(60s) == std::future_status::ready);
    REQUIRE(f2.wait_for(60s) == std::future_status::ready);
    f1.get();
    f2.get();
    pool.join();
    CHECK(delivered == 600);
    CHECK(backend.calls_up == 200);
    // Once the 5th failure is in, only the attempts already in flight (at
    // most 2 * limit - 1 in the two gathers) reach the backend.
    CHECK(backend.calls_down >= 5);
    CHECK(backend.calls_down <= 5 + 2 * static_cast<int>(limit) - 1);
    CHECK(refused == 400 - backend.calls_down);
}
