#include <fanout/offload.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

// Every wait in these tests ends: blocked work gives up after this long.
constexpr auto patience = 10s;

/// Runs `io` on this thread until `done()` holds or `patience` has passed.
template <class Predicate>
bool run_until(net::io_context& io, Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        if (io.stopped()) io.restart();
        io.run_one_for(10ms);
    }
    return true;
}

/// A switch that blocked work waits on; `open()` lets it go.
class gate {
  public:
    void open() { opened_.set_value(); }
    bool wait() const { return waiter_.wait_for(patience) == std::future_status::ready; }

  private:
    std::promise<void> opened_;
    std::shared_future<void> waiter_ = opened_.get_future().share();
};

/// A one-shot flag set by the work, awaited by the test with a bound.
class signal_flag {
  public:
    void set() { set_.set_value(); }
    bool wait() { return future_.wait_for(patience) == std::future_status::ready; }

  private:
    std::promise<void> set_;
    std::future<void> future_ = set_.get_future();
};

/// How one awaited offload of `int` work ended.
struct ending {
    bool done = false;
    std::optional<int> value;
    boost::system::error_code error;
    std::exception_ptr exception;
    std::thread::id resumed_on;
};

template <class Work>
net::awaitable<void> offload_into(fanout::thread_pool& pool, Work work, ending& out) {
    try {
        out.value = co_await fanout::offload(pool, std::move(work));
    } catch (const boost::system::system_error& e) {
        out.error = e.code();
    } catch (...) {
        out.exception = std::current_exception();
    }
    out.resumed_on = std::this_thread::get_id();
    out.done = true;
}

/// Work that says it started, waits at `until`, then returns `value`.
auto blocked_work(signal_flag& started, const gate& until, int value) {
    return [&started, &until, value] {
        started.set();
        until.wait();
        return value;
    };
}

}  // namespace

TEST_CASE("offload runs the work on a pool thread and resumes on the loop thread") {
    net::io_context io;
    fanout::thread_pool pool(1);
    std::thread::id work_thread;
    ending end;
    net::co_spawn(io,
                  offload_into(
                      pool,
                      [&work_thread] {
                          work_thread = std::this_thread::get_id();
                          return 1;
                      },
                      end),
                  net::detached);
    io.run_for(patience);

    REQUIRE(end.done);
    CHECK(end.value == 1);
    CHECK(work_thread != std::thread::id());
    CHECK(work_thread != std::this_thread::get_id());
    CHECK(end.resumed_on == std::this_thread::get_id());
}

TEST_CASE("offload returns the value of the work") {
    net::io_context io;
    fanout::thread_pool pool(2);
    std::string text;
    net::co_spawn(
        io,
        [](fanout::thread_pool& pool, std::string& text) -> net::awaitable<void> {
            text = co_await fanout::offload(pool, [] { return std::string(100, 'x'); });
        }(pool, text),
        net::detached);
    io.run_for(patience);
    CHECK(text == std::string(100, 'x'));
}

TEST_CASE("offload of work returning void completes after the work") {
    net::io_context io;
    fanout::thread_pool pool(1);
    std::atomic<bool> ran = false;
    bool resumed = false;
    net::co_spawn(
        io,
        [](fanout::thread_pool& pool, std::atomic<bool>& ran,
           bool& resumed) -> net::awaitable<void> {
            co_await fanout::offload(pool, [&ran] { ran = true; });
            resumed = ran;
        }(pool, ran, resumed),
        net::detached);
    io.run_for(patience);
    CHECK(resumed);
}

TEST_CASE("offload returns move-only values and values with no default constructor") {
    struct no_default {
        explicit no_default(int v) : value(v) {}
        int value;
    };
    net::io_context io;
    fanout::thread_pool pool(1);
    int sum = 0;
    net::co_spawn(
        io,
        [](fanout::thread_pool& pool, int& sum) -> net::awaitable<void> {
            auto owned = co_await fanout::offload(pool, [] { return std::make_unique<int>(40); });
            auto plain = co_await fanout::offload(pool, [] { return no_default(2); });
            sum = *owned + plain.value;
        }(pool, sum),
        net::detached);
    io.run_for(patience);
    CHECK(sum == 42);
}

TEST_CASE("an exception thrown by the work reaches the awaiter with its type") {
    net::io_context io;
    fanout::thread_pool pool(1);
    ending end;
    net::co_spawn(io,
                  offload_into(
                      pool, []() -> int { throw std::out_of_range("no such thing"); }, end),
                  net::detached);
    io.run_for(patience);

    REQUIRE(end.done);
    REQUIRE(end.exception);
    CHECK_THROWS_AS(std::rethrow_exception(end.exception), std::out_of_range);
    CHECK_THROWS_WITH(std::rethrow_exception(end.exception), "no such thing");
    CHECK(end.resumed_on == std::this_thread::get_id());
}

TEST_CASE("work cancelled before it starts never runs and its awaiter resumes at once") {
    net::io_context io;
    signal_flag first_started;
    gate release;
    std::atomic<bool> second_ran = false;
    fanout::thread_pool pool(1);

    ending first;
    ending second;
    net::cancellation_signal cancel_second;
    net::co_spawn(io, offload_into(pool, blocked_work(first_started, release, 1), first),
                  net::detached);
    net::co_spawn(io,
                  offload_into(
                      pool,
                      [&second_ran] {
                          second_ran = true;
                          return 2;
                      },
                      second),
                  net::bind_cancellation_slot(cancel_second.slot(), net::detached));
    io.poll();
    REQUIRE(first_started.wait());
    REQUIRE(pool.queued() == 1);

    cancel_second.emit(net::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return second.done; }));
    CHECK(second.error == net::error::operation_aborted);
    CHECK_FALSE(first.done);
    CHECK(pool.queued() == 0);

    release.open();
    REQUIRE(run_until(io, [&] { return first.done; }));
    CHECK(first.value == 1);
    pool.stop();  // joins the worker: anything still queued would have run by now
    CHECK_FALSE(second_ran);
}

TEST_CASE("a running job whose awaiter is cancelled is waited for and keeps its worker") {
    net::io_context io;
    signal_flag first_started;
    gate release;
    std::atomic<bool> first_returned = false;
    std::atomic<bool> second_started_after_first = false;
    fanout::thread_pool pool(1);

    ending first;
    ending second;
    net::cancellation_signal cancel_first;
    auto first_work = [&first_started, &release, &first_returned] {
        first_started.set();
        release.wait();
        first_returned = true;
        return 1;
    };
    net::co_spawn(io, offload_into(pool, first_work, first),
                  net::bind_cancellation_slot(cancel_first.slot(), net::detached));
    io.poll();
    REQUIRE(first_started.wait());

    cancel_first.emit(net::cancellation_type::terminal);
    net::co_spawn(io,
                  offload_into(
                      pool,
                      [&first_returned, &second_started_after_first] {
                          second_started_after_first = first_returned.load();
                          return 2;
                      },
                      second),
                  net::detached);
    io.poll();
    CHECK_FALSE(first.done);
    CHECK(pool.queued() == 1);  // the second job waits for the worker the first still holds

    release.open();
    REQUIRE(run_until(io, [&] { return first.done && second.done; }));
    CHECK(first.value == 1);  // the work happened, so its awaiter gets the result
    CHECK(second.value == 2);
    CHECK(second_started_after_first);
}

TEST_CASE("when the queue is full an offload waits for room without blocking the loop") {
    constexpr std::size_t capacity = 2;
    net::io_context io;
    signal_flag first_started;
    gate release;
    std::mutex order_mutex;
    std::vector<int> order;
    fanout::thread_pool pool(1, capacity);

    std::vector<ending> ends(capacity + 2);
    net::co_spawn(io, offload_into(pool, blocked_work(first_started, release, 0), ends[0]),
                  net::detached);
    for (int i = 1; i < static_cast<int>(ends.size()); ++i) {
        auto work = [i, &order_mutex, &order] {
            std::lock_guard lock(order_mutex);
            order.push_back(i);
            return i;
        };
        net::co_spawn(io, offload_into(pool, work, ends[i]), net::detached);
    }
    io.poll();
    REQUIRE(first_started.wait());
    CHECK(pool.queued() == capacity);
    CHECK(pool.waiting() == 1);

    bool loop_ran = false;
    net::post(io, [&loop_ran] { loop_ran = true; });
    REQUIRE(run_until(io, [&] { return loop_ran; }));
    CHECK(pool.waiting() == 1);

    release.open();
    REQUIRE(run_until(io, [&] {
        for (const ending& end : ends) {
            if (!end.done) return false;
        }
        return true;
    }));
    for (int i = 0; i < static_cast<int>(ends.size()); ++i) CHECK(ends[i].value == i);
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(pool.waiting() == 0);
}

TEST_CASE("an offload waiting for room can be cancelled and never runs") {
    net::io_context io;
    signal_flag first_started;
    gate release;
    std::atomic<bool> waiting_ran = false;
    fanout::thread_pool pool(1, 1);

    ending first;
    ending queued;
    ending waiting;
    net::cancellation_signal cancel_waiting;
    net::co_spawn(io, offload_into(pool, blocked_work(first_started, release, 1), first),
                  net::detached);
    net::co_spawn(io,
                  offload_into(
                      pool, [] { return 2; }, queued),
                  net::detached);
    net::co_spawn(io,
                  offload_into(
                      pool,
                      [&waiting_ran] {
                          waiting_ran = true;
                          return 3;
                      },
                      waiting),
                  net::bind_cancellation_slot(cancel_waiting.slot(), net::detached));
    io.poll();
    REQUIRE(first_started.wait());
    REQUIRE(pool.waiting() == 1);

    cancel_waiting.emit(net::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return waiting.done; }));
    CHECK(waiting.error == net::error::operation_aborted);
    CHECK(pool.waiting() == 0);
    CHECK(pool.queued() == 1);

    release.open();
    REQUIRE(run_until(io, [&] { return first.done && queued.done; }));
    CHECK(queued.value == 2);
    pool.stop();
    CHECK_FALSE(waiting_ran);
}

TEST_CASE("cancelling a queued offload lets the oldest waiting one into the queue") {
    net::io_context io;
    signal_flag first_started;
    gate release;
    fanout::thread_pool pool(1, 1);

    ending first;
    ending queued;
    ending waiting;
    net::cancellation_signal cancel_queued;
    net::co_spawn(io, offload_into(pool, blocked_work(first_started, release, 1), first),
                  net::detached);
    net::co_spawn(io,
                  offload_into(
                      pool, [] { return 2; }, queued),
                  net::bind_cancellation_slot(cancel_queued.slot(), net::detached));
    net::co_spawn(io,
                  offload_into(
                      pool, [] { return 3; }, waiting),
                  net::detached);
    io.poll();
    REQUIRE(first_started.wait());
    REQUIRE(pool.waiting() == 1);

    cancel_queued.emit(net::cancellation_type::terminal);
    REQUIRE(run_until(io, [&] { return queued.done; }));
    CHECK(queued.error == net::error::operation_aborted);
    CHECK(pool.queued() == 1);
    CHECK(pool.waiting() == 0);

    release.open();
    REQUIRE(run_until(io, [&] { return first.done && waiting.done; }));
    CHECK(waiting.value == 3);
}

TEST_CASE("stop completes queued and waiting offloads with operation_aborted") {
    net::io_context io;
    signal_flag first_started;
    gate release;
    std::atomic<int> later_ran = 0;
    fanout::thread_pool pool(1, 2);

    std::vector<ending> ends(4);
    net::co_spawn(io, offload_into(pool, blocked_work(first_started, release, 0), ends[0]),
                  net::detached);
    for (std::size_t i = 1; i < ends.size(); ++i) {
        auto work = [&later_ran] {
            ++later_ran;
            return 1;
        };
        net::co_spawn(io, offload_into(pool, work, ends[i]), net::detached);
    }
    io.poll();
    REQUIRE(first_started.wait());
    REQUIRE(pool.queued() == 2);
    REQUIRE(pool.waiting() == 1);

    std::atomic<bool> stopped = false;
    std::thread stopper([&pool, &stopped] {
        pool.stop();
        stopped = true;
    });
    const bool aborted =
        run_until(io, [&] { return ends[1].done && ends[2].done && ends[3].done; });
    const bool stop_waited = !stopped;  // the first job is still blocked
    release.open();
    stopper.join();
    REQUIRE(aborted);
    CHECK(stop_waited);
    for (std::size_t i = 1; i < ends.size(); ++i) {
        CHECK(ends[i].error == net::error::operation_aborted);
    }
    REQUIRE(run_until(io, [&] { return ends[0].done; }));
    CHECK(ends[0].value == 0);
    CHECK(later_ran == 0);
}

TEST_CASE("cancelling an offload aborted by stop after its pool is gone is harmless") {
    net::io_context io;
    signal_flag first_started;
    gate release;
    ending first;
    ending second;
    net::cancellation_signal cancel_second;
    {
        fanout::thread_pool pool(1);
        net::co_spawn(io, offload_into(pool, blocked_work(first_started, release, 1), first),
                      net::detached);
        net::co_spawn(io,
                      offload_into(
                          pool, [] { return 2; }, second),
                      net::bind_cancellation_slot(cancel_second.slot(), net::detached));
        io.poll();
        REQUIRE(first_started.wait());
        // stop() while the first job holds the worker, so the second is aborted.
        std::thread stopper([&pool] { pool.stop(); });
        const auto deadline = std::chrono::steady_clock::now() + patience;
        while (pool.queued() != 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        release.open();
        stopper.join();
    }  // the second offload's completion has not run yet
    cancel_second.emit(net::cancellation_type::terminal);
    io.run_for(patience);
    REQUIRE(second.done);
    CHECK(second.error == net::error::operation_aborted);
    CHECK(first.value == 1);
}

TEST_CASE("an io_context destroyed before it runs an offload's completion frees the offload") {
    bool done = false;
    gate release;
    {
        net::io_context io;
        fanout::thread_pool pool(1);
        net::co_spawn(
            io,
            [](fanout::thread_pool& pool, const gate& release, bool& done) -> net::awaitable<void> {
                co_await fanout::offload(pool, [&release] {
                    release.wait();
                    return std::string(1000, 'x');
                });
                done = true;
            }(pool, release, done),
            net::detached);
        io.poll();  // the offload is submitted; its work cannot end during poll()
        release.open();
        pool.stop();  // the offload has ended: its completion waits in the io_context
    }
    CHECK_FALSE(done);  // leak checkers see whether the offload was freed
}

TEST_CASE("an offload to a stopped pool completes at once with operation_aborted") {
    net::io_context io;
    std::atomic<bool> ran = false;
    fanout::thread_pool pool(1);
    pool.stop();
    ending end;
    net::co_spawn(io,
                  offload_into(
                      pool,
                      [&ran] {
                          ran = true;
                          return 1;
                      },
                      end),
                  net::detached);
    io.run_for(patience);
    REQUIRE(end.done);
    CHECK(end.error == net::error::operation_aborted);
    CHECK_FALSE(ran);
}

namespace {

/// One event loop of the two-loop test, and what its coroutines saw.
struct loop_tally {
    net::io_context io{1};
    std::thread::id thread;
    int completed = 0;
    bool all_resumed_on_loop_thread = true;
};

net::awaitable<void> offload_in_sequence(fanout::thread_pool& pool, int offloads,
                                         loop_tally& tally) {
    for (int i = 0; i < offloads; ++i) {
        const int value = co_await fanout::offload(pool, [i] { return i; });
        if (value == i) ++tally.completed;
        if (std::this_thread::get_id() != tally.thread) tally.all_resumed_on_loop_thread = false;
    }
}

}  // namespace

TEST_CASE("offloads from two io_contexts on two threads into one pool all complete") {
    constexpr int coroutines = 20;
    constexpr int offloads_each = 50;
    fanout::thread_pool pool(2, 4);

    auto run_loop = [&pool](loop_tally& tally) {
        tally.thread = std::this_thread::get_id();
        for (int c = 0; c < coroutines; ++c) {
            net::co_spawn(tally.io, offload_in_sequence(pool, offloads_each, tally), net::detached);
        }
        tally.io.run_for(patience);
    };
    loop_tally first;
    loop_tally second;
    std::thread first_thread(run_loop, std::ref(first));
    std::thread second_thread(run_loop, std::ref(second));
    first_thread.join();
    second_thread.join();

    CHECK(first.completed == coroutines * offloads_each);
    CHECK(second.completed == coroutines * offloads_each);
    CHECK(first.all_resumed_on_loop_thread);
    CHECK(second.all_resumed_on_loop_thread);
}

TEST_CASE("async_offload completes a callback on the executor bound to it") {
    net::io_context io;
    fanout::thread_pool pool(1);
    std::optional<int> value;
    std::thread::id called_on;
    fanout::async_offload(
        pool, [] { return 7; }, net::bind_executor(io, [&](std::exception_ptr error, int v) {
            if (!error) value = v;
            called_on = std::this_thread::get_id();
        }));
    bool void_done = false;
    fanout::async_offload(
        pool, [] {}, net::bind_executor(io, [&](std::exception_ptr error) { void_done = !error; }));
    io.run_for(patience);
    CHECK(value == 7);
    CHECK(called_on == std::this_thread::get_id());
    CHECK(void_done);
}
