#pragma once
// An in-process HTTP/1.1 server for tests and for `fanout demo`, with faults
// on demand. It listens on 127.0.0.1 (and on ::1, same port, when the machine
// has IPv6 loopback), port chosen at run time, and answers on its own thread
// and io_context, so a client under test on another loop gets its answers
// truly asynchronously.
// Written on raw Asio sockets (no Beast): what it sends is exactly what the
// endpoint below says, faults included.
//
// Connections are kept alive (HTTP/1.1, unless the request says
// "Connection: close"), requests may be pipelined (several in one read are
// answered in order), request bodies are read by Content-Length. A HEAD gets
// the head a GET would get, without the body.
//
// Endpoints:
//   /ok                    200 "ok"
//   /echo                  200, body "<METHOD> <target>\n", the request's
//                          header lines ("Name: value\n" each), "\n", the body
//   /delay?ms=N            200 "ok" after N ms
//   /hang                  never answers (the connection stays open)
//   /hang-body             head with Content-Length 100, 10 bytes, then nothing
//   /reset-mid-body        head with Content-Length 100, 10 bytes, then RST
//   /close-mid-body        head with Content-Length 100, 10 bytes, then a clean close
//   /lie-length            Content-Length 1000, a shorter body, then a clean close
//   /too-long              Content-Length 2, "ok" and more bytes after it
//   /early-hints           103 Early Hints, then 20 ms later 200 "ok"
//   /garbage               bytes that are not HTTP, then a clean close
//   /huge?mb=N             a body of N MiB
//   /size?bytes=N          a body of N bytes
//   /loop-a, /loop-b       302 to each other
//   /redirect-count?n=N    302 to n=N-1; n=0 answers 200 "done"
//   /redirect?status=S&to=PATH   status S, Location PATH
//   /trickle?ms=N[&bytes=B]      a body of B bytes (default 20), one every N ms
//   /idle-close            200 "ok", then closes the connection after 50 ms idle
//   /status?code=C[&retry_after=S]  status C (no body for 1xx, 204, 304)
//   /chunked               "hello world" in chunked transfer coding
//   /close                 200 "ok" with Connection: close, then closes
//   /until-close           HTTP/1.0 200 with neither length nor chunks: the
//                          body ends when the connection closes
//   /item/<N>              `fanout demo`'s items: 200 "item <N>" (text/plain)
//                          after N % 4 ms, with faults set by N:
//                          N % 200 == 99: always 404;
//                          N % 50 == 7: the first request for N is held,
//                          never answered (the client's timeout ends it);
//                          N % 50 == 21: the first request for N gets 503
//                          with Retry-After: 0; later requests get the 200
//   anything else          404
//
// Errors: the constructor throws std::runtime_error when it cannot bind.
// Nothing a client sends makes it throw or crash: a request head it cannot
// parse gets 400 and the connection closes. Every public member function is
// thread-safe.
// Cancellation: the destructor stops the loop, abandoning every connection
// and pending answer (held, delayed or hanging), and joins the thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fanout::test {

class http_fault_server {
  public:
    /// Binds, starts the thread; ready to accept when it returns.
    http_fault_server();
    ~http_fault_server();
    http_fault_server(const http_fault_server&) = delete;
    http_fault_server& operator=(const http_fault_server&) = delete;

    std::uint16_t port() const noexcept;
    /// "http://127.0.0.1:<port>" + path_and_query.
    std::string url(std::string_view path_and_query) const;
    /// Whether it also listens on [::1]:<port>.
    bool listens_on_ipv6() const noexcept;
    /// "http://[::1]:<port>" + path_and_query.
    std::string url_v6(std::string_view path_and_query) const;

    std::size_t connections_accepted() const noexcept;
    std::size_t open_connections() const noexcept;
    /// The most connections open at once so far.
    std::size_t max_open_connections() const noexcept;
    /// Request heads read, each counted once.
    std::size_t requests_served() const noexcept;

    /// Holds every answer not yet sent until now + d (a server-wide stall,
    /// e.g. a GC pause); answers resume afterwards, each connection's in order.
    void stall_for(std::chrono::milliseconds d);

  private:
    struct state;
    std::unique_ptr<state> state_;
};

}  // namespace fanout::test
