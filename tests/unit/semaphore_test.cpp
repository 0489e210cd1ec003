#include <fanout/semaphore.hpp>

#include "test_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::test::run_bounded;

namespace {

net::awaitable<void> yield_once() {
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
}

// Lets everything already queued on the loop run.
net::awaitable<void> yield_times(int n) {
    for (int i = 0; i < n; ++i) co_await yield_once();
}

// Runs ready handlers until `done()` holds, a bounded number of times.
template <class Predicate>
void poll_until(net::io_context& io, Predicate done) {
    for (int i = 0; i < 1000 && !done(); ++i) {
        io.restart();
        io.poll();
    }
}

// Takes a permit, records the order in which permits were granted, and holds
// the permit for one turn of the loop.
net::awaitable<void> take_and_record(fanout::semaphore& sem, int id, std::vector<int>& granted) {
    co_await sem.acquire();
    fanout::semaphore_permit permit(sem);
    granted.push_back(id);
    co_await yield_once();
}

}  // namespace

TEST_CASE("permits are handed out at once while they last") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 2);
    CHECK(sem.available() == 2);
    CHECK(sem.waiting() == 0);
    CHECK(sem.try_acquire());
    CHECK(sem.try_acquire());
    CHECK(sem.available() == 0);
    CHECK_FALSE(sem.try_acquire());
    sem.release();
    CHECK(sem.available() == 1);
    CHECK(sem.try_acquire());
    sem.release();
    sem.release();
    CHECK(sem.available() == 2);
}

TEST_CASE("a semaphore with no permits makes every acquire wait") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 0);
    CHECK_FALSE(sem.try_acquire());
    bool acquired = false;
    auto main = [](fanout::semaphore& sem, bool& acquired) -> net::awaitable<void> {
        net::co_spawn(
            co_await net::this_coro::executor,
            [](fanout::semaphore& sem, bool& acquired) -> net::awaitable<void> {
                co_await sem.acquire();
                acquired = true;
            }(sem, acquired),
            net::detached);
        co_await yield_times(5);
        CHECK_FALSE(acquired);
        CHECK(sem.waiting() == 1);
        sem.release();
        co_await yield_times(5);
        CHECK(acquired);
        CHECK(sem.waiting() == 0);
        CHECK(sem.available() == 0);
    };
    run_bounded(io, main(sem, acquired), 5s);
}

TEST_CASE("waiters are served in the order they asked") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 1);
    std::vector<int> granted;
    auto main = [](fanout::semaphore& sem, std::vector<int>& granted) -> net::awaitable<void> {
        REQUIRE(sem.try_acquire());
        auto ex = co_await net::this_coro::executor;
        for (int id = 0; id < 8; ++id)
            net::co_spawn(ex, take_and_record(sem, id, granted), net::detached);
        co_await yield_times(5);
        CHECK(sem.waiting() == 8);
        CHECK(granted.empty());
        sem.release();
        co_await yield_times(50);
    };
    run_bounded(io, main(sem, granted), 5s);
    CHECK(granted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
    CHECK(sem.available() == 1);
    CHECK(sem.waiting() == 0);
}

TEST_CASE("try_acquire does not jump the queue while others wait") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 1);
    auto main = [](fanout::semaphore& sem) -> net::awaitable<void> {
        REQUIRE(sem.try_acquire());
        bool waiter_done = false;
        net::co_spawn(
            co_await net::this_coro::executor,
            [](fanout::semaphore& sem, bool& done) -> net::awaitable<void> {
                co_await sem.acquire();
                done = true;
                sem.release();
            }(sem, waiter_done),
            net::detached);
        co_await yield_times(3);
        REQUIRE(sem.waiting() == 1);
        // The permit goes straight to the waiter, never back into the pool.
        sem.release();
        CHECK(sem.available() == 0);
        CHECK_FALSE(sem.try_acquire());
        co_await yield_times(5);
        CHECK(waiter_done);
        CHECK(sem.available() == 1);
    };
    run_bounded(io, main(sem), 5s);
}

TEST_CASE("release does not resume the waiter before it returns") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 0);
    auto main = [](fanout::semaphore& sem) -> net::awaitable<void> {
        int resumed = 0;
        net::co_spawn(
            co_await net::this_coro::executor,
            [](fanout::semaphore& sem, int& resumed) -> net::awaitable<void> {
                co_await sem.acquire();
                ++resumed;
            }(sem, resumed),
            net::detached);
        co_await yield_times(3);
        REQUIRE(sem.waiting() == 1);
        sem.release();
        CHECK(resumed == 0);
        CHECK(sem.waiting() == 0);
        co_await yield_times(3);
        CHECK(resumed == 1);
    };
    run_bounded(io, main(sem), 5s);
}

TEST_CASE("async_acquire with a free permit completes through the loop, not inline") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 1);
    bool completed = false;
    boost::system::error_code result = net::error::would_block;
    sem.async_acquire([&](boost::system::error_code ec) {
        completed = true;
        result = ec;
    });
    CHECK_FALSE(completed);
    CHECK(sem.available() == 0);
    io.run_for(5s);
    CHECK(io.stopped());
    CHECK(completed);
    CHECK_FALSE(result);
}

TEST_CASE(
    "a cancelled waiting acquire is aborted, takes nothing, and the next waiter gets the permit") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 1);
    REQUIRE(sem.try_acquire());

    net::cancellation_signal cancel;
    std::optional<boost::system::error_code> first;
    bool second = false;
    net::co_spawn(
        io, [](fanout::semaphore& sem) -> net::awaitable<void> { co_await sem.acquire(); }(sem),
        net::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
            REQUIRE(e);
            try {
                std::rethrow_exception(e);
            } catch (const boost::system::system_error& error) {
                first = error.code();
            }
        }));
    net::co_spawn(
        io,
        [](fanout::semaphore& sem, bool& second) -> net::awaitable<void> {
            co_await sem.acquire();
            fanout::semaphore_permit permit(sem);
            second = true;
        }(sem, second),
        net::detached);

    poll_until(io, [&] { return sem.waiting() == 2; });
    REQUIRE(sem.waiting() == 2);
    // co_spawn hands the emission to the coroutine's executor.
    cancel.emit(net::cancellation_type::terminal);
    poll_until(io, [&] { return first.has_value(); });
    CHECK(sem.waiting() == 1);
    REQUIRE(first);
    CHECK(*first == net::error::operation_aborted);
    CHECK_FALSE(second);  // the permit is still held
    CHECK(sem.available() == 0);

    io.restart();
    sem.release();  // goes to the second waiter, not the cancelled one
    io.run_for(5s);
    CHECK(io.stopped());
    CHECK(second);
    CHECK(sem.available() == 1);  // the cancelled acquire took nothing
    CHECK(sem.waiting() == 0);
}

TEST_CASE("a cancelled async_acquire completes with operation_aborted and leaves the count alone") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 0);
    net::cancellation_signal cancel;
    std::optional<boost::system::error_code> result;
    sem.async_acquire(net::bind_cancellation_slot(
        cancel.slot(), [&](boost::system::error_code ec) { result = ec; }));
    CHECK(sem.waiting() == 1);
    cancel.emit(net::cancellation_type::partial);
    CHECK_FALSE(result);  // never inline
    io.run_for(5s);
    CHECK(io.stopped());
    REQUIRE(result);
    CHECK(*result == net::error::operation_aborted);
    CHECK(sem.waiting() == 0);
    CHECK(sem.available() == 0);
    sem.release();
    CHECK(sem.available() == 1);
}

TEST_CASE("a waiter that already got the permit is not aborted by a late cancellation") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 0);
    net::cancellation_signal cancel;
    std::optional<boost::system::error_code> result;
    sem.async_acquire(net::bind_cancellation_slot(
        cancel.slot(), [&](boost::system::error_code ec) { result = ec; }));
    sem.release();  // completion is posted; the slot is cleared
    cancel.emit(net::cancellation_type::terminal);
    io.run_for(5s);
    CHECK(io.stopped());
    REQUIRE(result);
    CHECK_FALSE(*result);
    CHECK(sem.available() == 0);
}

TEST_CASE("destroying the semaphore aborts its waiters") {
    net::io_context io;
    auto sem = std::make_unique<fanout::semaphore>(io.get_executor(), 0);
    std::vector<boost::system::error_code> results;
    for (int i = 0; i < 3; ++i)
        sem->async_acquire([&](boost::system::error_code ec) { results.push_back(ec); });
    CHECK(sem->waiting() == 3);
    sem.reset();
    CHECK(results.empty());  // completions are posted
    io.run_for(5s);
    CHECK(io.stopped());
    REQUIRE(results.size() == 3);
    for (auto& ec : results) CHECK(ec == net::error::operation_aborted);
}

TEST_CASE("a pending acquire keeps the loop running until it completes") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 0);
    bool completed = false;
    sem.async_acquire([&](boost::system::error_code) { completed = true; });
    // With work outstanding run_for waits the whole time instead of returning.
    const auto started = std::chrono::steady_clock::now();
    io.run_for(30ms);
    CHECK(std::chrono::steady_clock::now() - started >= 30ms);
    CHECK_FALSE(io.stopped());
    CHECK_FALSE(completed);
    sem.release();
    io.run_for(5s);
    CHECK(io.stopped());
    CHECK(completed);
}

TEST_CASE("a permit returns its semaphore's permit when destroyed, once") {
    net::io_context io;
    fanout::semaphore sem(io.get_executor(), 2);
    {
        REQUIRE(sem.try_acquire());
        fanout::semaphore_permit permit(sem);
        CHECK(sem.available() == 1);
    }
    CHECK(sem.available() == 2);

    REQUIRE(sem.try_acquire());
    fanout::semaphore_permit a(sem);
    fanout::semaphore_permit b(std::move(a));
    CHECK(sem.available() == 1);
    fanout::semaphore_permit c;
    c = std::move(b);
    CHECK(sem.available() == 1);
    c.reset();
    CHECK(sem.available() == 2);
    c.reset();  // empty now: returns nothing more
    a.reset();
    CHECK(sem.available() == 2);

    REQUIRE(sem.try_acquire());
    REQUIRE(sem.try_acquire());
    fanout::semaphore_permit first(sem);
    fanout::semaphore_permit second(sem);
    first = std::move(second);  // returns the permit first held
    CHECK(sem.available() == 1);
    first = std::move(first);  // self-move keeps the permit
    CHECK(sem.available() == 1);
    first.reset();
    CHECK(sem.available() == 2);
}
