#pragma once
// Resolve-then-connect of the wire layer (private), shared by the HTTP
// client, the load plan and the TCP probe: a socket connected to the first
// of a host's addresses that accepts, tried in the resolver's order (as
// curl does without happy eyeballs), each try bounded in time.
//
// Errors: the outcome's code is the last try's failure (fanout::errc::timeout
// with timed_out set when it ran out of time). Cancellation of the calling
// coroutine ends the current try with operation_aborted and no other
// address is tried. Nothing throws but std::bad_alloc.

#include <fanout/dns/record.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fanout::http::detail {

struct connect_outcome {
    boost::system::error_code ec;  ///< empty when connected
    bool timed_out = false;        ///< the last try ran out of time
    /// The deadline, not the per-try limit, cut the last try short.
    bool deadline_reached = false;
    boost::asio::ip::tcp::endpoint endpoint;      ///< connected to, or tried last
    std::chrono::steady_clock::duration limit{};  ///< the last try's time limit
};

/// Connects `socket` (closed, or open and unconnected) to the first of
/// `addresses` on `port` that accepts. Each try is bounded by `each` and, when
/// given, by what is left before `deadline`. A socket whose try failed is
/// closed before the next address.
boost::asio::awaitable<connect_outcome> connect_first(
    boost::asio::ip::tcp::socket& socket, const std::vector<dns::address>& addresses,
    std::uint16_t port, std::chrono::steady_clock::duration each,
    std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

/// "a.b.c.d:port" or "[v6]:port": an address as records and answers name it.
std::string endpoint_text(const boost::asio::ip::address& ip, std::uint16_t port);

}  // namespace fanout::http::detail
