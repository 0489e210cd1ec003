// The wire layer's resolve-then-connect: addresses tried in order, each try
// bounded, the deadline capping a try, cancellation ending it at once.
#include "http/connect.hpp"

#include "silent_listener.hpp"
#include "test_loop.hpp"

#include <fanout/error.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <optional>
#include <vector>

using namespace std::chrono_literals;
namespace net = boost::asio;
using fanout::http::detail::connect_first;
using fanout::http::detail::connect_outcome;
using net::ip::tcp;

namespace {

std::vector<fanout::dns::address> addresses_of(std::initializer_list<const char*> ips) {
    std::vector<fanout::dns::address> out;
    for (const char* ip : ips) {
        fanout::dns::address a;
        a.ip = net::ip::make_address(ip);
        out.push_back(a);
    }
    return out;
}

connect_outcome connect(const std::vector<fanout::dns::address>& addresses, std::uint16_t port,
                        std::chrono::milliseconds each,
                        std::optional<std::chrono::steady_clock::time_point> deadline = {}) {
    net::io_context io;
    tcp::socket socket(io);
    return fanout::test::run_bounded(io, [&]() -> net::awaitable<connect_outcome> {
        auto out = co_await connect_first(socket, addresses, port, each, deadline);
        co_return out;
    }());
}

}  // namespace

TEST_CASE("connect: a refusing address is passed over for the next one") {
    net::io_context io;
    tcp::acceptor live(io, {net::ip::make_address("127.0.0.1"), 0});  // nothing on 127.0.0.2
    const auto port = live.local_endpoint().port();
    const auto out = connect(addresses_of({"127.0.0.2", "127.0.0.1"}), port, 2s);
    CHECK_FALSE(out.ec);
    CHECK(out.endpoint == tcp::endpoint(net::ip::make_address("127.0.0.1"), port));

    const auto refused = connect(addresses_of({"127.0.0.2"}), port, 2s);
    CHECK(refused.ec == net::error::connection_refused);
    CHECK_FALSE(refused.timed_out);
}

TEST_CASE("connect: a try that gets no answer times out and the next address is tried") {
    fanout::test::silent_listener silent;
    if (!silent.fill_backlog()) {
        WARN("this kernel completes connects to a full backlog: nothing to test");
        return;
    }
    const auto port = silent.port();  // on 127.0.0.1; a live one on 127.0.0.2, same port
    net::io_context io;
    tcp::acceptor live(io, {net::ip::make_address("127.0.0.2"), port});
    live.listen();

    const auto out = connect(addresses_of({"127.0.0.1", "127.0.0.2"}), port, 200ms);
    CHECK_FALSE(out.ec);
    CHECK(out.endpoint.address() == net::ip::make_address("127.0.0.2"));

    const auto hangs = connect(addresses_of({"127.0.0.1"}), port, 200ms);
    CHECK(hangs.ec == fanout::errc::timeout);
    CHECK(hangs.timed_out);
    CHECK_FALSE(hangs.deadline_reached);

    // A deadline nearer than the per-try limit cuts the try, and says so.
    const auto capped =
        connect(addresses_of({"127.0.0.1"}), port, 10s, std::chrono::steady_clock::now() + 200ms);
    CHECK(capped.timed_out);
    CHECK(capped.deadline_reached);
    CHECK(capped.limit <= 200ms);
}

TEST_CASE("connect: cancellation ends the try at once and tries no other address") {
    fanout::test::silent_listener silent;
    if (!silent.fill_backlog()) {
        WARN("this kernel completes connects to a full backlog: nothing to test");
        return;
    }
    const auto port = silent.port();
    net::io_context io;
    tcp::acceptor live(io, {net::ip::make_address("127.0.0.2"), port});
    live.listen();
    tcp::socket socket(io);
    net::cancellation_signal stop;
    std::optional<connect_outcome> out;
    const auto addresses = addresses_of({"127.0.0.1", "127.0.0.2"});
    net::co_spawn(io, connect_first(socket, addresses, port, 10s),
                  net::bind_cancellation_slot(
                      stop.slot(), [&](std::exception_ptr, connect_outcome o) { out = o; }));
    net::steady_timer timer(io, 100ms);
    timer.async_wait(
        [&](boost::system::error_code) { stop.emit(net::cancellation_type::terminal); });
    io.run_for(5s);
    REQUIRE(out);
    CHECK(out->ec == net::error::operation_aborted);
    CHECK(out->endpoint.address() == net::ip::make_address("127.0.0.1"));
}
