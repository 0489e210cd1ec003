#pragma once
// fanout::http::client: HTTP/1.1 and HTTP/2 requests over pooled keep-alive
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
// HTTP/2 (see http::version; ALPN picks it on https by default): one
// connection per origin carries up to min(the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams) requests at once;
// another is opened only when all streams of the open ones are taken, up to
// connections_per_origin, and requests beyond wait in FIFO order (one that
// comes while others wait queues behind them). Idle HTTP/2 connections: one
// with no stream open closes after idle_timeout, like an HTTP/1.1 one; one
// reused after its server has been quiet for ping_after_idle is first
// checked with a PING, and when no ACK comes within ping_timeout it is
// closed and the request goes to another connection (nothing of it was
// sent). No PING is sent on a connection nobody uses: a loop whose requests
// are done has no work left. A timeout
// or a cancellation resets only its stream (RST_STREAM CANCEL). After a
// GOAWAY no new request goes to that connection, and idempotent requests
// the server did not process (above its last stream id, or refused) are
// sent again on another. HTTP/2 failures: errc::stream_reset (the h2 error
// code named), goaway, protocol_error, flow_control_stall (a timeout while
// the server's window stayed shut), header_list_too_large,
// http2_not_negotiated.
// Threads: not thread-safe. Use a client from one thread or one strand, the
// one its executor names (debug builds assert it); on an io_context that
// several threads run, make it with a strand's executor.
// Errors: every per-request failure is a value naming the request: system
// codes for refused/reset connections, dns::errc for names, http::errc for
// timeouts (fanout::errc::timeout, the phase and its limit in the message),
// TLS failures (a failed certificate verification by
// its reason: certificate_expired, _not_yet_valid, _name_mismatch,
// _untrusted, _self_signed), malformed answers (the message names the rule
// broken), bodies over the limit (unless truncate_body), redirect loops, and
// URLs that cannot be requested (invalid_url: a port outside 1-65535...,
// also for a redirect's Location). A status of 4xx or 5xx is a response, not a
// failure (see expect_success in message.hpp).
// Timeouts: a timeout of any phase is fanout::errc::timeout, its message
// naming the phase and the limit ("connect to host:443 timed out after 5s",
// "waiting for the response ran past the total timeout of 10s"). Each phase
// has its own limit below; total_timeout bounds them all (a phase gets what
// is left of it when that is shorter). Under gather, the per-attempt timeout
// bounds the whole send as well, and the first limit to run out wins: with
// equal limits the per-attempt one, started first, usually fires first (its
// message: "attempt N timed out after ..."). Either way the kind is "timeout".
// Name resolution waits at most resolve_timeout, however long the resolver's
// own tries would take (see dns::resolver_options).
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
    /// Instead of failing, a body larger than max_body_size is cut there:
    /// the response has its first max_body_size bytes, body_truncated set,
    /// and its connection is closed (the rest is never read).
    bool truncate_body = false;
    std::string user_agent = "fanout/0.1";
    version http_version = version::automatic;  ///< a request's http_version overrides it
    /// HTTP/2: the most streams one connection carries at once (the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS lowers it).
    std::size_t max_concurrent_streams = 100;
    /// HTTP/2: the largest response header list accepted (names, values and
    /// 32 bytes each, as SETTINGS_MAX_HEADER_LIST_SIZE counts them).
    std::size_t max_header_list_size = 64 * 1024;
    /// HTTP/2: a pooled connection whose server has sent nothing for this
    /// long is checked with a PING before it carries a request (0: at every
    /// reuse of a connection with no stream open).
    std::chrono::milliseconds ping_after_idle{5'000};
    /// HTTP/2: how long that PING's ACK may take; past it the connection is
    /// closed and the request goes to another.
    std::chrono::milliseconds ping_timeout{2'000};
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
