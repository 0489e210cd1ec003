#pragma once
// fanout::dns::resolver: DNS lookups driven by the loop's reactor.
//
//   query(name, type) -> awaitable<result<answer>>        records of one type
//   async_query(name, type, handler)                      the same, a callback
//   resolve(host)     -> awaitable<result<std::vector<address>>>   A and AAAA
//
// One resolver is one transport on one loop: no thread per query and no
// polling. Queries are encoded once and sent in batches on a few UDP sockets
// of its own, answers read in batches and matched by id, source address and
// question (anything else is ignored), TCP used when an answer is
// truncated; one timer keeps every timeout. With several servers the pool
// policy spreads the tries and fails over (resolver_options::pool). c-ares
// reads /etc/resolv.conf and does the lookups that use its search domains.
// Threads: not thread-safe; use a resolver from one thread or one
// strand, the one its executor names (debug builds assert it): one per loop
// thread, or a strand's executor on an io_context that several threads run.
// Errors: a lookup's failure is a value whose code is a dns::errc
// (nxdomain, servfail, no_data...), fanout::errc::timeout when every try
// timed out, and whose message names the query. Constructing a resolver with
// unusable options throws system_error (an infrastructure fault).
// Cancellation: a cancelled lookup completes at once with operation_aborted;
// its query leaves the resolver (an answer that still comes is ignored) and
// the other queries go on. Destroying the resolver completes every pending
// lookup with operation_aborted.

#include <fanout/dns/error.hpp>
#include <fanout/dns/record.hpp>
#include <fanout/dns/server.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/any_completion_handler.hpp>
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

struct resolver_options {
    /// Servers to ask; empty: those of /etc/resolv.conf.
    std::vector<server> servers;
    /// How queries spread over the servers, fail over and set a failing
    /// server aside (see server_pool_policy).
    server_pool_policy pool;
    /// How long one try waits for an answer. It doubles for each
    /// round after all servers were tried once, so with one server a lookup
    /// that gets no answer ends after timeout * (2^tries - 1) (2 s and 2
    /// tries: 6 s), as fanout::errc::timeout whose message says the tries
    /// and the timeout. A caller's shorter limit (the HTTP client's
    /// resolve_timeout, gather's per-attempt timeout) ends it first.
    std::chrono::milliseconds timeout{2000};
    /// Tries per server before a lookup times out: a lookup makes up to
    /// tries * servers.size() tries, each to the server the pool chooses.
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
    // has a co_await (`resolver r(co_await this_coro::executor);`). For the
    // same reason give options as a named variable, or with the executor
    // in a variable, never braced beside a co_await: g++ 12 rejects
    // `resolver r(co_await ex, {.servers = {a}})` ("array used as
    // initializer") and destroys other braced temporaries there twice.
    resolver(executor_type executor, resolver_options options);
    ~resolver();
    resolver(const resolver&) = delete;
    resolver& operator=(const resolver&) = delete;

    /// The records of `type` for `name` (no search domains unless enabled).
    /// The name is copied at once (without allocating): the awaitable may
    /// be awaited after the caller's string is gone.
    boost::asio::awaitable<result<answer>> query(std::string_view name, record_type type);

    /// query() for callers that keep many lookups in flight without a
    /// coroutine each: starts the lookup now (call it from the resolver's
    /// executor), and calls `done` once with its result, from that executor
    /// and never inside this call. A cancellation slot associated with
    /// `done` cancels the lookup as it does query's; an allocator associated
    /// with it holds `done`.
    void async_query(std::string_view name, record_type type,
                     boost::asio::any_completion_handler<void(result<answer>)> done);

    /// Gives back an answer's memory once its caller is done with it: the
    /// next answers are read into its records (their strings keep their
    /// room), so a bulk caller costs no allocation per answer. Optional;
    /// call it from the resolver's executor.
    void recycle(answer&& used);

    /// The IPv4 and IPv6 addresses of `host`: an IP literal as itself,
    /// "localhost" as the loopback addresses, then /etc/hosts (when enabled),
    /// the cache (when enabled), and A and AAAA queries asked together.
    /// Succeeds when either finds an address.
    boost::asio::awaitable<result<std::vector<address>>> resolve(std::string host);

    /// Lookups not yet completed (0: idle).
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
