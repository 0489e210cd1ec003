#include <fanout/rate_limiter.hpp>

#include "test_loop.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace net = boost::asio;
using fanout::test::sleep_for;
using namespace std::chrono_literals;
using fanout::rate_limiter;
using fanout::test::run_bounded;
using clock_type = rate_limiter::clock;

namespace {

// One reserve() call with the clock read either side of it: the limiter's own
// reading of "now" lies between `before` and `after`.
struct reservation {
    clock_type::time_point before;
    clock_type::duration wait;
    clock_type::time_point after;
};

reservation reserve_timed(rate_limiter& limiter) {
    reservation r;
    r.before = clock_type::now();
    r.wait = limiter.reserve();
    r.after = clock_type::now();
    return r;
}

std::vector<reservation> reserve_in_a_row(rate_limiter& limiter, std::size_t how_many) {
    std::vector<reservation> all;
    for (std::size_t i = 0; i < how_many; ++i) all.push_back(reserve_timed(limiter));
    return all;
}

// The time at which reservation `later` may be used, minus the time at which
// `earlier` may be used, rounded up by the time the two calls took: the true
// spacing is never larger than this.
clock_type::duration spacing_at_most(const reservation& earlier, const reservation& later) {
    return (later.after + later.wait) - (earlier.before + earlier.wait);
}

}  // namespace

TEST_CASE("a rate that is not a positive number is refused") {
    CHECK_THROWS_AS(rate_limiter(0.0), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(-5.0), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(std::numeric_limits<double>::infinity()), std::invalid_argument);
}

TEST_CASE("a burst below one is refused") {
    CHECK_THROWS_AS(rate_limiter(10.0, 0.0), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(10.0, 0.5), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(10.0, -1.0), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(10.0, std::numeric_limits<double>::quiet_NaN()),
                    std::invalid_argument);
}

TEST_CASE("a valid limiter reports its rate and burst") {
    rate_limiter limiter(250.0, 4.0);
    CHECK(limiter.rate() == 250.0);
    CHECK(limiter.burst() == 4.0);
    rate_limiter slow(0.001);
    CHECK(slow.burst() == 1.0);
}

TEST_CASE("reservations in a row are spaced one interval apart") {
    rate_limiter limiter(100.0);  // one token every 10 ms
    const auto all = reserve_in_a_row(limiter, 11);
    CHECK(all[0].wait == clock_type::duration::zero());
    for (std::size_t k = 1; k < all.size(); ++k) {
        // Each token is usable at least one interval after the one before it...
        CHECK(spacing_at_most(all[k - 1], all[k]) >= 10ms);
        // ...and no caller is told to wait longer than its place in line.
        CHECK(all[k].wait <= static_cast<int>(k) * 10ms);
    }
    // The 11th waits 100 ms, less the time the loop itself took.
    CHECK(all[10].wait + (all[10].after - all[0].before) >= 100ms);
}

TEST_CASE("waits grow with every reservation when tokens are scarce") {
    rate_limiter limiter(0.001);  // one token every 1000 s: the clock never catches up
    const auto all = reserve_in_a_row(limiter, 5);
    CHECK(all[0].wait == clock_type::duration::zero());
    for (std::size_t k = 1; k < all.size(); ++k) {
        CHECK(all[k].wait > all[k - 1].wait);
        CHECK(all[k].wait > static_cast<int>(k) * 1000s - 60s);
        CHECK(all[k].wait <= static_cast<int>(k) * 1000s);
    }
}

TEST_CASE("a burst lets that many through at once, and the next one waits") {
    rate_limiter limiter(0.001, 5.0);
    const auto all = reserve_in_a_row(limiter, 7);
    for (std::size_t k = 0; k < 5; ++k) CHECK(all[k].wait == clock_type::duration::zero());
    CHECK(all[5].wait > 1000s - 60s);
    CHECK(all[6].wait > 2000s - 60s);
}

TEST_CASE("tokens accrue while the limiter is idle, never beyond the burst") {
    rate_limiter limiter(1000.0, 3.0);  // one token per ms
    const auto first = reserve_in_a_row(limiter, 3);
    for (auto& r : first) CHECK(r.wait == clock_type::duration::zero());
    std::this_thread::sleep_for(20ms);  // twenty tokens' worth of idle time
    const auto again = reserve_in_a_row(limiter, 4);
    for (std::size_t k = 0; k < 3; ++k) CHECK(again[k].wait == clock_type::duration::zero());
    // Only three were saved up: the fourth is a full interval after the first.
    CHECK(spacing_at_most(again[0], again[3]) >= 1ms);
}

TEST_CASE("a rate too slow for the clock is refused rather than left unlimited") {
    // 1e9 / rate would not fit in int64 nanoseconds.
    CHECK_THROWS_AS(rate_limiter(1e-12), std::invalid_argument);
    CHECK_THROWS_AS(rate_limiter(1.0, 1e12), std::invalid_argument);
    rate_limiter slowest(1e-9);
    CHECK(slowest.reserve() == clock_type::duration::zero());
    CHECK(slowest.reserve() > std::chrono::hours(24 * 365));
}

TEST_CASE("try_acquire takes a token only when one is usable now") {
    rate_limiter limiter(0.001, 2.0);
    CHECK(limiter.try_acquire());
    CHECK(limiter.try_acquire());
    CHECK_FALSE(limiter.try_acquire());
    CHECK_FALSE(limiter.try_acquire());
    // The refusals spent nothing: the next reservation is one interval out,
    // not three.
    const auto wait = limiter.reserve();
    CHECK(wait > 1000s - 60s);
    CHECK(wait <= 1000s);
    CHECK_FALSE(limiter.try_acquire());
}

TEST_CASE("try_acquire and reserve share one bucket") {
    rate_limiter limiter(0.001);
    CHECK(limiter.reserve() == clock_type::duration::zero());
    CHECK_FALSE(limiter.try_acquire());

    rate_limiter other(0.001);
    CHECK(other.try_acquire());
    CHECK(other.reserve() > 1000s - 60s);
}

TEST_CASE("two threads reserving at once never get tokens closer than the rate allows") {
    constexpr std::size_t per_thread = 10'000;
    constexpr double rate = 100'000.0;  // one token every 10 us
    constexpr double burst = 10.0;
    rate_limiter limiter(rate, burst);
    const auto started = clock_type::now();
    auto reserve_many = [&limiter] {
        for (std::size_t i = 0; i < per_thread; ++i) (void)limiter.reserve();
    };
    std::thread a(reserve_many);
    std::thread b(reserve_many);
    a.join();
    b.join();
    // One more token after all of them: with none lost to a race, it cannot be
    // usable before (tokens handed out + 1 - burst) intervals from the start.
    const auto last = reserve_timed(limiter);
    const double handed_out = 2.0 * per_thread + 1.0;
    const auto least_span = std::chrono::nanoseconds(
        static_cast<std::int64_t>(std::floor((handed_out - burst) / rate * 1e9)));
    CHECK(last.after + last.wait - started >= least_span);
}

TEST_CASE("acquire waits on the loop until the token is usable") {
    net::io_context io;
    rate_limiter limiter(20.0);  // one token every 50 ms
    auto main = [](rate_limiter& limiter) -> net::awaitable<clock_type::duration> {
        const auto started = clock_type::now();
        co_await limiter.acquire();
        co_await limiter.acquire();
        co_await limiter.acquire();
        co_return clock_type::now() - started;
    };
    const auto took = run_bounded(io, main(limiter), 10s);
    CHECK(took >= 100ms);
}

TEST_CASE("a first acquire on a fresh limiter does not wait") {
    net::io_context io;
    rate_limiter limiter(0.001);
    auto main = [](rate_limiter& limiter) -> net::awaitable<void> { co_await limiter.acquire(); };
    run_bounded(io, main(limiter), 10s);
}

TEST_CASE("a cancelled acquire throws operation_aborted promptly and its token stays spent") {
    net::io_context io;
    rate_limiter limiter(0.01);  // one token every 100 s
    net::cancellation_signal cancel;
    std::optional<boost::system::error_code> error;
    bool done = false;
    const auto started = clock_type::now();
    net::co_spawn(
        io,
        [](rate_limiter& limiter) -> net::awaitable<void> {
            co_await limiter.acquire();  // the free token
            co_await limiter.acquire();  // 100 s away
        }(limiter),
        net::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
            done = true;
            error = fanout::test::error_of(e);
        }));
    net::co_spawn(io, fanout::test::cancel_after(cancel, 20ms), net::detached);
    io.run_for(10s);
    const auto took = clock_type::now() - started;
    REQUIRE(done);
    CHECK(io.stopped());
    REQUIRE(error);
    CHECK(*error == net::error::operation_aborted);
    CHECK(took >= 20ms);
    CHECK(took < 10s);
    // Two tokens were taken: the next is 200 s after the start, not 100 s.
    CHECK(limiter.reserve() > 200s - 60s);
}
