#include <fanout/timeout.hpp>

#include "test_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace net = boost::asio;
using fanout::test::sleep_for;
using net::ip::tcp;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;
using fanout::errc;
using fanout::test::run_bounded;
using clock_type = std::chrono::steady_clock;

namespace {

net::awaitable<void> yield_once() {
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
}

// co_spawn needs a default-constructible value type, which result<T> is not.
template <class T>
net::awaitable<std::optional<fanout::result<T>>> optional_result(
    net::awaitable<fanout::result<T>> op) {
    co_return co_await std::move(op);
}

// Runs with_timeout's awaitable on `io` with run_bounded's checks.
template <class T>
fanout::result<T> run_timeout(net::io_context& io, net::awaitable<fanout::result<T>> op,
                              clock_type::duration limit) {
    auto r = run_bounded(io, optional_result(std::move(op)), limit);
    REQUIRE(r.has_value());
    return std::move(*r);
}

// Sets a flag when the coroutine frame that holds it unwinds.
struct finished_flag {
    bool& finished;
    ~finished_flag() { finished = true; }
};

// Accepts one connection, never writes, and reports how the peer's read ended.
net::awaitable<boost::system::error_code> silent_server(tcp::acceptor& acceptor) {
    tcp::socket peer = co_await acceptor.async_accept(net::use_awaitable);
    char byte = 0;
    auto [ec, n] =
        co_await peer.async_read_some(net::buffer(&byte, 1), net::as_tuple(net::use_awaitable));
    co_return n == 0 ? ec : boost::system::error_code(net::error::message_size);
}

// Connects and waits for a byte that never comes. The socket lives in this
// frame: it is closed by the time `finished` is set.
net::awaitable<std::size_t> read_one_byte(tcp::endpoint server, bool& finished) {
    finished_flag flag{finished};
    tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(server, net::use_awaitable);
    char byte = 0;
    co_return co_await socket.async_read_some(net::buffer(&byte, 1), net::use_awaitable);
}

struct read_report {
    fanout::result<std::size_t> client = errc::cancelled;
    bool op_finished_on_return = false;
    clock_type::duration client_took{};
    boost::system::error_code server;
};

net::awaitable<read_report> time_out_a_read(tcp::acceptor& acceptor) {
    read_report report;
    bool op_finished = false;
    auto client = [](tcp::endpoint server, bool& op_finished,
                     read_report& report) -> net::awaitable<void> {
        const auto started = clock_type::now();
        report.client = co_await fanout::with_timeout(read_one_byte(server, op_finished), 100ms);
        report.op_finished_on_return = op_finished;
        report.client_took = clock_type::now() - started;
    };
    report.server = co_await (client(acceptor.local_endpoint(), op_finished, report) &&
                              silent_server(acceptor));
    co_return report;
}

}  // namespace

TEST_CASE(
    "a timeout cancels a real socket read on 127.0.0.1 and the peer sees the connection closed") {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    REQUIRE(acceptor.local_endpoint().port() != 0);

    const auto report = run_bounded(io, time_out_a_read(acceptor), 10s);

    REQUIRE(report.client.has_error());
    CHECK(report.client.error().code == errc::timeout);
    CHECK(std::string(report.client.error().kind()) == "timeout");
    CHECK(report.client.error().text().find("100ms") != std::string::npos);
    CHECK(report.op_finished_on_return);
    CHECK(report.client_took >= 100ms);
    const bool closed =
        report.server == net::error::eof || report.server == net::error::connection_reset;
    INFO("server read ended with " << report.server.message());
    CHECK(closed);
}

TEST_CASE("an operation that finishes first returns its value and leaves no timer behind") {
    net::io_context io;
    auto quick = []() -> net::awaitable<int> {
        co_await yield_once();
        co_return 42;
    };
    // run_bounded fails if the hour-long timer were still pending.
    const auto r = run_timeout(io, fanout::with_timeout(quick(), std::chrono::hours(1)), 10s);
    REQUIRE(r.has_value());
    CHECK(*r == 42);
}

TEST_CASE("an operation that waits on a timer of its own still wins against a longer timeout") {
    net::io_context io;
    auto slow = []() -> net::awaitable<std::string> {
        co_await sleep_for(20ms);
        co_return std::string("in time");
    };
    const auto r = run_timeout(io, fanout::with_timeout(slow(), std::chrono::hours(1)), 10s);
    REQUIRE(r.has_value());
    CHECK(*r == "in time");
}

TEST_CASE("an operation that overruns is cancelled and has unwound when the timeout returns") {
    net::io_context io;
    bool finished = false;
    auto hang = [](bool& finished) -> net::awaitable<int> {
        finished_flag flag{finished};
        co_await sleep_for(std::chrono::hours(1));
        co_return 1;
    };
    auto main = [](bool& finished, auto op) -> net::awaitable<bool> {
        auto r = co_await fanout::with_timeout(std::move(op), 30ms);
        CHECK(r.has_error());
        CHECK(r.error().code == errc::timeout);
        co_return finished;
    };
    CHECK(run_bounded(io, main(finished, hang(finished)), 10s));
}

TEST_CASE("an exception thrown by the operation is rethrown to the caller") {
    net::io_context io;
    auto broken = []() -> net::awaitable<int> {
        co_await yield_once();
        throw std::runtime_error("operation broke");
    };
    CHECK_THROWS_WITH(run_timeout(io, fanout::with_timeout(broken(), 10s), 10s), "operation broke");
}

TEST_CASE("a system_error thrown by the operation keeps its code") {
    net::io_context io;
    auto refused = []() -> net::awaitable<void> {
        co_await yield_once();
        throw boost::system::system_error(net::error::connection_refused);
    };
    try {
        run_timeout(io, fanout::with_timeout(refused(), 10s), 10s);
        FAIL("with_timeout did not throw");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == net::error::connection_refused);
    }
}

TEST_CASE(
    "cancelling the caller makes with_timeout throw operation_aborted after the operation "
    "finished") {
    net::io_context io;
    net::cancellation_signal cancel;
    bool op_finished = false;
    std::optional<bool> finished_when_caught;
    std::exception_ptr outcome;
    bool done = false;

    auto hang = [](bool& finished) -> net::awaitable<int> {
        finished_flag flag{finished};
        co_await sleep_for(std::chrono::hours(1));
        co_return 1;
    };
    auto caller = [](auto op, bool& op_finished,
                     std::optional<bool>& finished_when_caught) -> net::awaitable<void> {
        try {
            (void)co_await fanout::with_timeout(std::move(op), std::chrono::hours(1));
        } catch (const boost::system::system_error&) {
            finished_when_caught = op_finished;
            throw;
        }
    };
    const auto started = clock_type::now();
    net::co_spawn(io, caller(hang(op_finished), op_finished, finished_when_caught),
                  net::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                      done = true;
                      outcome = e;
                  }));
    net::co_spawn(io, fanout::test::cancel_after(cancel, 20ms), net::detached);
    io.run_for(10s);
    REQUIRE(done);
    CHECK(io.stopped());  // both timers are gone
    CHECK(clock_type::now() - started < 10s);
    REQUIRE(outcome);
    try {
        std::rethrow_exception(outcome);
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == net::error::operation_aborted);
    }
    REQUIRE(finished_when_caught);
    CHECK(*finished_when_caught);
}

TEST_CASE("a deadline in the past times out at once") {
    net::io_context io;
    bool finished = false;
    auto hang = [](bool& finished) -> net::awaitable<void> {
        finished_flag flag{finished};
        co_await sleep_for(std::chrono::hours(1));
    };
    const auto started = clock_type::now();
    const auto r = run_timeout(
        io, fanout::with_deadline(hang(finished), clock_type::now() - std::chrono::hours(1)), 10s);
    REQUIRE(r.has_error());
    CHECK(r.error().code == errc::timeout);
    CHECK(finished);
    CHECK(clock_type::now() - started < 5s);
}

TEST_CASE("a deadline in the future lets a quick operation finish") {
    net::io_context io;
    auto quick = []() -> net::awaitable<int> {
        co_await yield_once();
        co_return 9;
    };
    const auto r = run_timeout(
        io, fanout::with_deadline(quick(), clock_type::now() + std::chrono::hours(1)), 10s);
    REQUIRE(r.has_value());
    CHECK(*r == 9);
}

TEST_CASE("the largest timeout and the farthest deadline never fire") {
    auto quick = []() -> net::awaitable<int> {
        co_await yield_once();
        co_return 5;
    };
    net::io_context io;
    const auto within =
        run_timeout(io, fanout::with_timeout(quick(), std::chrono::nanoseconds::max()), 10s);
    REQUIRE(within.has_value());
    CHECK(*within == 5);

    net::io_context io2;
    const auto before =
        run_timeout(io2, fanout::with_deadline(quick(), clock_type::time_point::max()), 10s);
    REQUIRE(before.has_value());
    CHECK(*before == 5);
}

TEST_CASE("the earliest representable deadline times out at once") {
    // Regression: with_deadline computes `deadline - now()`, which overflows for
    // time_point::min(); the wait wraps to about 292 years and never fires.
    net::io_context io;
    auto hang = []() -> net::awaitable<int> {
        co_await sleep_for(std::chrono::hours(1));
        co_return 1;
    };
    const auto r =
        run_timeout(io, fanout::with_deadline(hang(), clock_type::time_point::min()), 2s);
    REQUIRE(r.has_error());
    CHECK(r.error().code == errc::timeout);
}

TEST_CASE("a deadline cuts off a hanging operation no earlier than the deadline") {
    net::io_context io;
    auto hang = []() -> net::awaitable<int> {
        co_await sleep_for(std::chrono::hours(1));
        co_return 1;
    };
    const auto deadline = clock_type::now() + 50ms;
    const auto r = run_timeout(io, fanout::with_deadline(hang(), deadline), 10s);
    CHECK(clock_type::now() >= deadline);
    REQUIRE(r.has_error());
    CHECK(r.error().code == errc::timeout);
}

TEST_CASE("void operations give a result<void>") {
    net::io_context io;
    int ran = 0;
    auto quick = [](int& ran) -> net::awaitable<void> {
        co_await yield_once();
        ++ran;
    };
    const auto ok = run_timeout(io, fanout::with_timeout(quick(ran), 10s), 10s);
    CHECK(ok.has_value());
    CHECK(ran == 1);

    net::io_context io2;
    auto hang = []() -> net::awaitable<void> { co_await sleep_for(std::chrono::hours(1)); };
    const auto timed_out = run_timeout(io2, fanout::with_timeout(hang(), 20ms), 10s);
    REQUIRE(timed_out.has_error());
    CHECK(timed_out.error().code == errc::timeout);
}

TEST_CASE("an operation that swallows the cancellation still counts as timed out") {
    net::io_context io;
    auto stubborn = []() -> net::awaitable<int> {
        net::steady_timer timer(co_await net::this_coro::executor, std::chrono::hours(1));
        auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        co_return ec ? -1 : 1;
    };
    const auto r = run_timeout(io, fanout::with_timeout(stubborn(), 20ms), 10s);
    REQUIRE(r.has_error());
    CHECK(r.error().code == errc::timeout);
}
