#include "demo_http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace fanout::cli {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// The item number of "GET /item/<N> HTTP/1.1"; nothing for anything else.
std::optional<std::size_t> item_of(std::string_view request_line) {
    constexpr std::string_view prefix = "GET /item/";
    if (!request_line.starts_with(prefix)) return std::nullopt;
    request_line.remove_prefix(prefix.size());
    std::size_t n = 0;
    const auto [end, error] =
        std::from_chars(request_line.data(), request_line.data() + request_line.size(), n);
    const auto last = request_line.data() + request_line.size();
    if (error != std::errc{} || end == request_line.data() || end == last || *end != ' ')
        return std::nullopt;
    return n;
}

std::string answer(unsigned status, std::string_view reason, std::string_view extra_headers,
                   std::string_view body) {
    return fmt::format("HTTP/1.1 {} {}\r\nContent-Length: {}\r\n{}Connection: keep-alive\r\n\r\n{}",
                       status, reason, body.size(), extra_headers, body);
}

}  // namespace

struct demo_http_server::state : std::enable_shared_from_this<state> {
    explicit state(net::any_io_executor executor)
        : acceptor(executor, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {}

    tcp::acceptor acceptor;
    std::list<tcp::socket> connections;     // open ones; a list keeps references stable
    std::unordered_set<std::size_t> asked;  // items requested at least once
    std::size_t accepted = 0;
    std::size_t requests = 0;

    net::awaitable<void> accept_all(std::shared_ptr<state> self) {
        for (;;) {
            auto socket = co_await acceptor.async_accept(net::use_awaitable);
            ++accepted;
            socket.set_option(tcp::no_delay(true));
            connections.push_back(std::move(socket));
            net::co_spawn(acceptor.get_executor(), serve(self, std::prev(connections.end())),
                          net::detached);
        }
    }

    net::awaitable<void> serve(std::shared_ptr<state> /*keep_alive*/,
                               std::list<tcp::socket>::iterator at) {
        tcp::socket& socket = *at;
        net::steady_timer pause(socket.get_executor());
        std::string buffer;
        try {
            for (;;) {
                const auto head_size = co_await net::async_read_until(
                    socket, net::dynamic_buffer(buffer), "\r\n\r\n", net::use_awaitable);
                const std::string_view head(buffer.data(), head_size);
                const auto item = item_of(head.substr(0, head.find("\r\n")));
                if (!head.starts_with("GET ") && !head.starts_with("HEAD ")) break;
                ++requests;
                buffer.erase(0, head_size);
                std::string reply;
                const auto what = !item                        ? fault::not_found
                                  : asked.insert(*item).second ? first_answer(*item)
                                                               : later_answer(*item);
                switch (what) {
                    case fault::hang: {
                        // Wait for the client to give up and close.
                        std::array<char, 64> sink{};
                        co_await socket.async_read_some(net::buffer(sink), net::use_awaitable);
                        continue;
                    }
                    case fault::unavailable:
                        reply = answer(503, "Service Unavailable", "Retry-After: 0\r\n", "busy");
                        break;
                    case fault::not_found:
                        reply = answer(404, "Not Found", "", "no such item");
                        break;
                    case fault::none:
                        pause.expires_after(std::chrono::milliseconds(*item % 4));
                        co_await pause.async_wait(net::use_awaitable);
                        reply = answer(200, "OK", "Content-Type: text/plain\r\n",
                                       fmt::format("item {}", *item));
                        break;
                }
                co_await net::async_write(socket, net::buffer(reply), net::use_awaitable);
            }
        } catch (const boost::system::system_error&) {
            // The client closed, or stop() did: this connection ends.
        }
        boost::system::error_code ignored;
        socket.close(ignored);
        connections.erase(at);
    }
};

demo_http_server::demo_http_server(net::any_io_executor executor)
    : state_(std::make_shared<state>(std::move(executor))),
      port_(state_->acceptor.local_endpoint().port()) {
    net::co_spawn(state_->acceptor.get_executor(), state_->accept_all(state_), net::detached);
}

demo_http_server::~demo_http_server() {
    stop();
}

std::uint16_t demo_http_server::port() const noexcept {
    return port_;
}

void demo_http_server::stop() {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& socket : state_->connections) socket.close(ignored);
}

std::size_t demo_http_server::connections_accepted() const noexcept {
    return state_->accepted;
}

std::size_t demo_http_server::requests_received() const noexcept {
    return state_->requests;
}

demo_http_server::fault demo_http_server::first_answer(std::size_t n) noexcept {
    if (n % 200 == 99) return fault::not_found;
    if (n % 50 == 7) return fault::hang;
    if (n % 50 == 21) return fault::unavailable;
    return fault::none;
}

demo_http_server::fault demo_http_server::later_answer(std::size_t n) noexcept {
    return n % 200 == 99 ? fault::not_found : fault::none;
}

}  // namespace fanout::cli
