#pragma once
// fanout::dns::resolver: DNS lookups on c-ares, driven by the loop's reactor.
//
//   query(name, type) -> awaitable<result<answer>>        records of one type
//   resolve(host)     -> awaitable<result<std::vector<address>>>   A and AAAA
//
// One resolver is one c-ares channel on one loop: no thread per query and no
// polling; its sockets are watched by the loop and its timeouts kept by one
// timer. Threads: not thread-safe; use a resolver from one thread or one
// strand, the one its executor names (debug builds assert it): one per loop
// thread, or a strand's executor on an io_context that several threads run.
// Errors: a lookup's failure is a value whose code is a dns::errc
// (nxdomain, servfail, no_data...), fanout::errc::timeout when every try
// timed out, and whose message names the query. Constructing a resolver with
// unusable options throws system_error (an infrastructure fault).
// Cancellation: a cancelled lookup completes at once with operation_aborted;
// its query is abandoned (its answer, if one comes, is dropped) and the
// channel's other queries go on. When every query left is abandoned, the
// channel drops them all, so it is idle afterwards. Destroying the resolver
// completes every pending lookup with operation_aborted.

#include <fanout/dns/error.hpp>
#include <fanout/dns/record.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::dns {

/// A name server to ask.
struct server {
    std::string address;  ///< an IPv4 or IPv6 address
    std::uint16_t port = 53;
    friend bool operator==(const server&, const server&) = default;
};

/// "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353"; a failure with
/// errc::invalid_input naming the text when it is none of those.
result<server> parse_server(std::string_view text);

/// "127.0.0.1:5353", "[::1]:53".
std::string to_string(const server& s);

/// The servers a resolver asks, in order: a vector of server. Braces of up
/// to four servers make one without a std::initializer_list, whose array
/// g++ 12 cannot keep in a coroutine frame ("array used as initializer"
/// for `resolver r(co_await this_coro::executor, {.servers = {addr}})`).
class server_list : public std::vector<server> {
  public:
    server_list() = default;
    server_list(std::vector<server> servers) : std::vector<server>(std::move(servers)) {}
    server_list(server first) { push_back(std::move(first)); }
    server_list(server first, server second) : server_list(std::move(first)) {
        push_back(std::move(second));
    }
    server_list(server first, server second, server third)
        : server_list(std::move(first), std::move(second)) {
        push_back(std::move(third));
    }
    server_list(server first, server second, server third, server fourth)
        : server_list(std::move(first), std::move(second), std::move(third)) {
        push_back(std::move(fourth));
    }
};

struct resolver_options {
    /// Servers to ask, in order; empty: those of /etc/resolv.conf.
    server_list servers;
    /// How long one try waits for an answer. c-ares doubles it for each
    /// round after all servers were tried once, so with one server a lookup
    /// that gets no answer ends after timeout * (2^tries - 1) (2 s and 2
    /// tries: 6 s), as fanout::errc::timeout whose message says the tries
    /// and the timeout. A caller's shorter limit (the HTTP client's
    /// resolve_timeout, gather's per-attempt timeout) ends it first.
    std::chrono::milliseconds timeout{2000};
    /// Tries per server before a lookup times out.
    unsigned tries = 2;
    /// Apply resolv.conf's search domains to names with few dots (off: every
    /// name is taken as fully qualified).
    bool search_domains = false;
    /// Ask over TCP only (otherwise UDP, and TCP when an answer is truncated).
    bool tcp_only = false;
    /// resolve() reads /etc/hosts before asking the servers.
    bool use_hosts_file = true;
    /// resolve() keeps up to this many names' addresses until their TTL runs
    /// out, and joins concurrent lookups of the same name; 0: no cache.
    std::size_t cache_capacity = 0;
};

class resolver {
  public:
    using executor_type = boost::asio::any_io_executor;

    explicit resolver(executor_type executor);
    // Two constructors, not a defaulted options argument: g++ 12 corrupts a
    // defaulted aggregate argument holding strings when the full-expression
    // has a co_await (`resolver r(co_await this_coro::executor);`).
    resolver(executor_type executor, resolver_options options);
    ~resolver();
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    /// The records of `type` for `name` (no search domains unless enabled).
    boost::asio::awaitable<result<answer>> query(std::string name, record_type type);

    /// The IPv4 and IPv6 addresses of `host`: an IP literal as itself,
    /// "localhost" as the loopback addresses, then /etc/hosts (when enabled),
    /// the cache (when enabled), and A and AAAA queries asked together.
    /// Succeeds when either finds an address.
    boost::asio::awaitable<result<std::vector<address>>> resolve(std::string host);

    /// Queries the channel still holds, abandoned ones included (0: idle).
    std::size_t pending() const noexcept;

    /// Names held by resolve()'s cache.
    std::size_t cached() const noexcept;

    const executor_type& get_executor() const noexcept;
    const resolver_options& options() const noexcept;

  private:
    class channel;
    std::shared_ptr<channel> channel_;
};

}  // namespace fanout::dns
