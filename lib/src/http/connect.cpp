#include "http/connect.hpp"

#include <fanout/error.hpp>
#include <fanout/timeout.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace fanout::http::detail {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

// A connect's code, wrapped: a result<error_code> would take the code for a failure.
struct connected {
    boost::system::error_code ec;
};

net::awaitable<connected> connect_once(tcp::socket& socket, tcp::endpoint to) {
    auto [ec] = co_await socket.async_connect(to, net::as_tuple(net::use_awaitable));
    co_return connected{ec};
}

}  // namespace

std::string endpoint_text(const boost::asio::ip::address& ip, std::uint16_t port) {
    return ip.is_v6() ? fmt::format("[{}]:{}", ip.to_string(), port)
                      : fmt::format("{}:{}", ip.to_string(), port);
}

net::awaitable<connect_outcome> connect_first(tcp::socket& socket,
                                              const std::vector<dns::address>& addresses,
                                              std::uint16_t port, clock::duration each,
                                              std::optional<clock::time_point> deadline) {
    connect_outcome out;
    out.ec = net::error::host_not_found;
    for (const auto& address : addresses) {
        out.endpoint = tcp::endpoint(address.ip, port);
        out.limit = each;
        out.deadline_reached = false;
        if (deadline) {
            const auto left = *deadline - clock::now();
            if (left < each) {
                out.limit = std::max(left, clock::duration(std::chrono::milliseconds(1)));
                out.deadline_reached = true;
            }
        }
        boost::system::error_code ignored;
        if (socket.is_open()) socket.close(ignored);  // each try gets a fresh socket
        auto done =
            co_await with_timeout(connect_once(socket, out.endpoint),
                                  std::chrono::duration_cast<std::chrono::nanoseconds>(out.limit));
        out.timed_out = !done;
        out.ec = done ? done->ec : make_error_code(fanout::errc::timeout);
        if (!out.ec) co_return out;
        if (out.ec == net::error::operation_aborted) co_return out;  // the caller was cancelled
    }
    if (socket.is_open()) {
        boost::system::error_code ignored;
        socket.close(ignored);
    }
    co_return out;
}

}  // namespace fanout::http::detail
