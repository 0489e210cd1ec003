#pragma once
// fanout::http::client: HTTP/1.1 requests over pooled keep-alive
// connections, with TLS, per-phase timeouts and redirects.
//
//   send(request) -> awaitable<result<response>>
//   get(url)      -> awaitable<result<response>>
//
// Connections are pooled per origin (scheme, host, port) and reused; at most
// connections_per_origin are open to one origin, and requests beyond that
// wait for one in FIFO order. Names resolve through fanout::dns (TTL cache);
// when a name has several addresses the next is tried if a connect fails.
// A reused connection found closed before any answer arrived is replaced
// once, for idempotent methods.
// Threads: not thread-safe. Use a client from one thread or one strand, the
// one its executor names (debug builds assert it); on an io_context that
// several threads run, make it with a strand's executor.
// Errors: every per-request failure is a value naming the request: system
// codes for refused/reset connections, dns::errc for names, http::errc for
// timeouts (by phase), TLS failures, malformed answers, bodies over the
// limit, redirect loops. A status of 4xx or 5xx is a response, not a
// failure (see expect_success in message.hpp).
// Cancellation: a cancelled send closes its connection (the socket operation
// is aborted) and completes with operation_aborted; the pool stays usable.

#include <fanout/dns/resolver.hpp>
#include <fanout/http/error.hpp>
#include <fanout/http/message.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace fanout::http {

struct tls_options {
    bool verify = true;   ///< check the certificate chain and the host name
    std::string ca_file;  ///< trust this PEM file (empty: the system's CA store)
};

struct client_options {
    std::size_t connections_per_origin = 64;
    std::chrono::milliseconds idle_timeout{30'000};  ///< pooled connections older than this close
    std::chrono::milliseconds resolve_timeout{5'000};
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds tls_timeout{5'000};
    /// Until the answer starts, and then for each wait for more of its body
    /// (a body that keeps coming is bounded by total_timeout only).
    std::chrono::milliseconds first_byte_timeout{30'000};
    std::optional<std::chrono::milliseconds>
        total_timeout;                             ///< the whole request, redirects included
    unsigned max_redirects = 10;                   ///< 0: redirects are returned as they are
    std::size_t max_body_size = 64 * 1024 * 1024;  ///< larger: errc::body_too_large
    std::string user_agent = "fanout/0.1";
    tls_options tls;
    dns::resolver_options dns{.cache_capacity = 1024};
};

class client {
  public:
    using executor_type = boost::asio::any_io_executor;

    explicit client(executor_type executor);
    // Two constructors, not a defaulted options argument: g++ 12 corrupts a
    // defaulted aggregate argument holding strings when the full-expression
    // has a co_await (`client c(co_await this_coro::executor);`).
    client(executor_type executor, client_options options);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    boost::asio::awaitable<result<response>> send(request req);
    boost::asio::awaitable<result<response>> get(std::string url);

    /// Connections opened so far, and those idle in the pool now.
    std::size_t connections_opened() const noexcept;
    std::size_t idle_connections() const noexcept;

    const executor_type& get_executor() const noexcept;
    const client_options& options() const noexcept;

  private:
    class state;
    std::shared_ptr<state> state_;
};

}  // namespace fanout::http
