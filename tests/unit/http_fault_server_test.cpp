#include "http_fault_server.hpp"

#include "test_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <variant>

namespace net = boost::asio;
using fanout::test::http_fault_server;
using net::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Sends `raw` on a new connection to `server` and returns all that comes
// back until the server closes the connection.
net::awaitable<std::string> talk(tcp::endpoint server, std::string raw) {
    tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(server, net::use_awaitable);
    co_await net::async_write(socket, net::buffer(raw), net::use_awaitable);
    std::string received;
    std::array<char, 4096> chunk;
    for (;;) {
        auto [ec, size] =
            co_await socket.async_read_some(net::buffer(chunk), net::as_tuple(net::use_awaitable));
        received.append(chunk.data(), size);
        if (ec) co_return received;
    }
}

// Sends `raw` on a new connection and returns what arrives within `wait`,
// then closes the connection.
net::awaitable<std::string> talk_for(tcp::endpoint server, std::string raw,
                                     std::chrono::milliseconds wait) {
    using namespace net::experimental::awaitable_operators;
    constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
    tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(server, net::use_awaitable);
    co_await net::async_write(socket, net::buffer(raw), net::use_awaitable);
    net::steady_timer timer(socket.get_executor(), wait);
    std::string received;
    std::array<char, 4096> chunk;
    for (;;) {
        auto got = co_await (socket.async_read_some(net::buffer(chunk), use_tuple) ||
                             timer.async_wait(use_tuple));
        if (got.index() == 1) co_return received;
        const auto [ec, size] = std::get<0>(got);
        received.append(chunk.data(), size);
        if (ec) co_return received;
    }
}

std::string talk_once(std::uint16_t port, std::string raw,
                      net::ip::address address = net::ip::address_v4::loopback()) {
    net::io_context io;
    return fanout::test::run_bounded(io, talk({address, port}, std::move(raw)), 10s);
}

// Waits, bounded, until the server has seen every connection close.
bool all_closed(const http_fault_server& server) {
    for (int i = 0; i < 200 && server.open_connections() != 0; ++i)
        std::this_thread::sleep_for(10ms);
    return server.open_connections() == 0;
}

}  // namespace

TEST_CASE("pipelined requests in one write are answered in order") {
    http_fault_server server;
    const auto got = talk_once(server.port(),
                               "GET /echo?first HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /echo?third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const auto first = got.find("GET /echo?first\n");
    const auto second = got.find("\r\n\r\nok");
    const auto third = got.find("GET /echo?third\n");
    REQUIRE(first != std::string::npos);
    REQUIRE(second != std::string::npos);
    REQUIRE(third != std::string::npos);
    CHECK(first < second);
    CHECK(second < third);
    CHECK(got.find("Connection: close") != std::string::npos);
    CHECK(server.requests_served() == 3);
    CHECK(server.connections_accepted() == 1);
    CHECK(all_closed(server));
}

TEST_CASE("echo returns the request line, the header lines and the body") {
    http_fault_server server;
    const auto got = talk_once(server.port(),
                               "POST /echo?x=1 HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n"
                               "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    CHECK(got.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(got.find("\r\n\r\nPOST /echo?x=1\nHost: a\nX-One: 1\nContent-Length: 5\n"
                   "Connection: close\n\nhello") != std::string::npos);
}

TEST_CASE("an unknown path is 404 and a malformed head is 400 with the connection closed") {
    http_fault_server server;
    const auto missing =
        talk_once(server.port(), "GET /nothing-here HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK(missing.starts_with("HTTP/1.1 404 Not Found\r\n"));
    const auto malformed = talk_once(server.port(), "NOT HTTP AT ALL\r\n\r\n");
    CHECK(malformed.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(malformed.find("Connection: close") != std::string::npos);
}

TEST_CASE("HEAD gets the head a GET gets, without the body") {
    http_fault_server server;
    const auto got =
        talk_once(server.port(), "HEAD /size?bytes=1000 HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK(got.find("Content-Length: 1000\r\n") != std::string::npos);
    CHECK(got.ends_with("\r\n\r\n"));
}

TEST_CASE("a 204 has neither a body nor a Content-Length") {
    http_fault_server server;
    const auto got =
        talk_once(server.port(), "GET /status?code=204 HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK(got.starts_with("HTTP/1.1 204 No Content\r\n"));
    CHECK(got.find("Content-Length") == std::string::npos);
    CHECK(got.ends_with("\r\n\r\n"));
}

TEST_CASE("stall_for holds answers until the stall ends") {
    http_fault_server server;
    const auto started = std::chrono::steady_clock::now();
    server.stall_for(200ms);
    const auto got = talk_once(server.port(), "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    CHECK(got.ends_with("\r\n\r\nok"));
}

TEST_CASE("idle-close closes its connection once it has been idle 50 ms") {
    http_fault_server server;
    const auto started = std::chrono::steady_clock::now();
    const auto got = talk_once(server.port(), "GET /idle-close HTTP/1.1\r\n\r\n");
    CHECK(std::chrono::steady_clock::now() - started >= 50ms);
    CHECK(got.ends_with("\r\n\r\nok"));
    CHECK(all_closed(server));
}

TEST_CASE("the connection counters follow connections as they open and close") {
    http_fault_server server;
    net::io_context io;
    tcp::socket first(io);
    tcp::socket second(io);
    first.connect({net::ip::address_v4::loopback(), server.port()});
    second.connect({net::ip::address_v4::loopback(), server.port()});
    for (int i = 0; i < 200 && server.open_connections() < 2; ++i)
        std::this_thread::sleep_for(10ms);
    CHECK(server.open_connections() == 2);
    first.close();
    second.close();
    CHECK(all_closed(server));
    CHECK(server.connections_accepted() == 2);
    CHECK(server.max_open_connections() == 2);
}

TEST_CASE("the server also answers on ::1 when the machine has it") {
    http_fault_server server;
    if (!server.listens_on_ipv6()) {
        WARN("no IPv6 loopback on this machine: not tested");
        return;
    }
    CHECK(server.url_v6("/ok") == "http://[::1]:" + std::to_string(server.port()) + "/ok");
    const auto got = talk_once(server.port(), "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n",
                               net::ip::address_v6::loopback());
    CHECK(got.ends_with("\r\n\r\nok"));
}

namespace {

std::string get_item(const http_fault_server& server, const std::string& number) {
    return talk_once(server.port(),
                     "GET /item/" + number + " HTTP/1.1\r\nConnection: close\r\n\r\n");
}

}  // namespace

TEST_CASE("an item is 200 with its number as the body") {
    http_fault_server server;
    for (const auto* number : {"0", "5", "250"}) {
        INFO(number);
        const auto got = get_item(server, number);
        CHECK(got.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(got.find("Content-Type: text/plain\r\n") != std::string::npos);
        CHECK(got.ends_with(std::string("\r\n\r\nitem ") + number));
    }
}

TEST_CASE("every 200th item is 404, every time, and a number that is none too") {
    http_fault_server server;
    for (const auto* number : {"99", "99", "299", "x1", ""}) {
        INFO(number);
        CHECK(get_item(server, number).starts_with("HTTP/1.1 404 Not Found\r\n"));
    }
}

TEST_CASE("the first request for item 21 and every 50th after it gets 503, the next 200") {
    http_fault_server server;
    for (const auto* number : {"21", "71"}) {
        INFO(number);
        const auto first = get_item(server, number);
        CHECK(first.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        CHECK(first.find("Retry-After: 0\r\n") != std::string::npos);
        CHECK(get_item(server, number).ends_with(std::string("\r\n\r\nitem ") + number));
    }
}

TEST_CASE("the first request for item 7 and every 50th after it is held, the next answered") {
    http_fault_server server;
    for (const auto* number : {"7", "57"}) {
        INFO(number);
        net::io_context io;
        const auto held = fanout::test::run_bounded(
            io,
            talk_for({net::ip::address_v4::loopback(), server.port()},
                     "GET /item/" + std::string(number) + " HTTP/1.1\r\n\r\n", 200ms),
            10s);
        CHECK(held.empty());
        CHECK(get_item(server, number).ends_with(std::string("\r\n\r\nitem ") + number));
    }
    CHECK(server.requests_served() == 4);
    CHECK(all_closed(server));
}
