// A program that owns its io_context and its signal handling and uses
// fanout's HTTP client: its own signal_set must hear a SIGTERM it sends
// itself. (With two copies of Asio in one program, one compiled inside the
// library and one header-only here, the signal went to the other copy.)
#include <fanout/http/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <string>

namespace net = boost::asio;
using namespace std::chrono_literals;

// Answers one request with 200 "ok".
net::awaitable<void> serve_one(net::ip::tcp::acceptor& acceptor) {
    auto socket = co_await acceptor.async_accept(net::use_awaitable);
    char buffer[4096];
    co_await socket.async_read_some(net::buffer(buffer), net::use_awaitable);
    const std::string answer =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    co_await net::async_write(socket, net::buffer(answer), net::use_awaitable);
}

net::awaitable<void> fetch_then_signal(fanout::http::client& client, std::string url,
                                       unsigned& status) {
    auto answer = co_await client.get(std::move(url));
    if (answer) status = answer->status;
    ::kill(::getpid(), SIGTERM);
}

int main() {
    net::io_context io(1);
    net::signal_set signals(io, SIGTERM);
    int heard = 0;
    signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
        if (!ec) heard = signal_number;
        io.stop();
    });

    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    net::co_spawn(io, serve_one(acceptor), net::detached);

    fanout::http::client client(io.get_executor());
    unsigned status = 0;
    const std::string url =
        "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
    net::co_spawn(io, fetch_then_signal(client, url, status), net::detached);

    net::steady_timer give_up(io, 10s);
    give_up.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) io.stop();
    });
    io.run();

    std::printf("status %u, signal heard: %d\n", status, heard);
    return status == 200 && heard == SIGTERM ? 0 : 1;
}
