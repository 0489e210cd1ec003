#include <fanout/gather.hpp>

#include "test_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace net = boost::asio;
using net::ip::tcp;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::test::run_bounded;

namespace {

// Counts the server's connections whose peer has closed.
struct server_log {
    std::size_t accepted = 0;
    std::vector<boost::system::error_code> reads_ended;
};

net::awaitable<void> read_until_closed(tcp::socket peer, server_log& log) {
    char byte = 0;
    auto [ec, n] =
        co_await peer.async_read_some(net::buffer(&byte, 1), net::as_tuple(net::use_awaitable));
    log.reads_ended.push_back(n == 0 ? ec : net::error::message_size);
}

// Accepts `connections` connections and never writes to any of them; each is
// read until its peer closes it. Returns when all of them are closed.
net::awaitable<void> silent_server(tcp::acceptor& acceptor, std::size_t connections,
                                   server_log& log) {
    auto executor = co_await net::this_coro::executor;
    for (std::size_t i = 0; i < connections; ++i) {
        tcp::socket peer = co_await acceptor.async_accept(net::use_awaitable);
        ++log.accepted;
        net::co_spawn(executor, read_until_closed(std::move(peer), log), net::detached);
    }
}

// Connects and waits for a byte that never comes; the socket is closed when
// this frame unwinds.
net::awaitable<std::size_t> read_one_byte(tcp::endpoint server, int& unwound) {
    struct count_unwind {
        int& n;
        ~count_unwind() { ++n; }
    } guard{unwound};
    tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(server, net::use_awaitable);
    char byte = 0;
    co_return co_await socket.async_read_some(net::buffer(&byte, 1), net::use_awaitable);
}

struct run_report {
    std::vector<fanout::outcome<std::size_t>> results;
    int unwound_on_return = 0;
};

net::awaitable<run_report> gather_against(tcp::acceptor& acceptor, std::size_t expected_connections,
                                          server_log& log, fanout::gather_options options) {
    auto executor = co_await net::this_coro::executor;
    net::co_spawn(executor, silent_server(acceptor, expected_connections, log), net::detached);
    int unwound = 0;
    const tcp::endpoint server = acceptor.local_endpoint();
    std::vector<int> inputs{0, 1, 2};
    run_report report;
    report.results = co_await fanout::gather(
        inputs, [&](int) { return read_one_byte(server, unwound); }, options);
    report.unwound_on_return = unwound;
    co_return report;
}

}  // namespace

TEST_CASE("a per-attempt timeout closes real sockets and the server sees every connection closed") {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    server_log log;
    // run_bounded returns once nothing is left pending: the server's three
    // reads must all have ended for it to return at all.
    const auto report = run_bounded(
        io, gather_against(acceptor, 3, log, {.limit = 3, .per_attempt_timeout = 100ms}), 10s);

    REQUIRE(report.results.size() == 3);
    for (const auto& out : report.results) {
        INFO("item " << out.index);
        REQUIRE_FALSE(out.ok());
        CHECK(out.error().code == errc::timeout);
        CHECK(out.attempts == 1);
        CHECK(out.elapsed >= 100ms);
    }
    CHECK(report.unwound_on_return == 3);
    CHECK(log.accepted == 3);
    REQUIRE(log.reads_ended.size() == 3);
    for (const auto& ec : log.reads_ended) {
        INFO("server read ended with " << ec.message());
        CHECK((ec == net::error::eof || ec == net::error::connection_reset));
    }
}

TEST_CASE("each timed-out attempt closes its connection before the retry opens another") {
    net::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    server_log log;
    fanout::retry_policy retry;
    retry.max_attempts = 2;
    retry.initial_backoff = 1ms;
    const auto report = run_bounded(
        io,
        gather_against(acceptor, 6, log, {.limit = 3, .per_attempt_timeout = 50ms, .retry = retry}),
        10s);

    REQUIRE(report.results.size() == 3);
    for (const auto& out : report.results) {
        INFO("item " << out.index);
        REQUIRE_FALSE(out.ok());
        CHECK(out.error().code == errc::timeout);
        CHECK(out.attempts == 2);
        CHECK(out.elapsed >= 100ms);
    }
    CHECK(report.unwound_on_return == 6);
    CHECK(log.accepted == 6);
    REQUIRE(log.reads_ended.size() == 6);
    for (const auto& ec : log.reads_ended)
        CHECK((ec == net::error::eof || ec == net::error::connection_reset));
}
