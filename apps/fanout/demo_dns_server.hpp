#pragma once
// demo_dns_server: the authoritative server `fanout demo` resolves against,
// so the DNS part needs no network and no setup.
//
// UDP on 127.0.0.1, port chosen at run time, on the executor it is given
// (the demo's loop; nothing here blocks). It answers A queries for
// host<N>.demo.test with 10.(N>>16).(N>>8).N (each & 255), TTL 300; other
// types for those names get NOERROR with no answer; any other name gets
// NXDOMAIN. A deterministic share of queries is dropped unanswered, so the
// client's timeouts and retries have something to do.
//
// Errors: the constructor throws system_error when it cannot bind. A
// datagram that cannot be parsed is ignored; a reply the socket cannot take
// at once is dropped (the client retries). Cancellation: stop() (and the
// destructor) closes the socket; the pending receive ends as aborted.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address_v4.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace fanout::cli {

class demo_dns_server {
  public:
    /// Drops `drop_share` (0 to 1) of the queries it receives, evenly
    /// spread: with 0.02, the 50th, 100th, 150th...
    explicit demo_dns_server(boost::asio::any_io_executor executor, double drop_share = 0.0);
    ~demo_dns_server();
    demo_dns_server(const demo_dns_server&) = delete;
    demo_dns_server& operator=(const demo_dns_server&) = delete;

    std::uint16_t port() const noexcept;
    void stop();

    /// The address the server gives `name` (host<N>.demo.test, any case);
    /// nothing for a name it does not know.
    static std::optional<boost::asio::ip::address_v4> address_of(std::string_view name);

  private:
    struct state;
    std::shared_ptr<state> state_;
    std::uint16_t port_ = 0;
};

}  // namespace fanout::cli
