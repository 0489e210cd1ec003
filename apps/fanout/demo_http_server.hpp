#pragma once
// demo_http_server: the HTTP/1.1 server `fanout demo` sends its requests to,
// so the HTTP part needs no network and no setup.
//
// TCP on 127.0.0.1, port chosen at run time, on the executor it is given
// (the demo's loop; nothing here blocks), with keep-alive. GET /item/<N>
// answers 200 with the body "item <N>" after a short pause (N % 4 ms).
// Faults are set by N, deterministically, so the demo's summary can be
// checked:
//   - N % 50 == 7:   the first request for N never gets an answer (the
//                    client's timeout closes the connection), later ones do;
//   - N % 50 == 21:  the first request for N gets 503 with Retry-After: 0;
//   - N % 200 == 99: every request for N gets 404.
// Any other path gets 404; a request that is not HTTP closes its connection.
//
// Errors: the constructor throws system_error when it cannot bind; a
// connection's errors end that connection only. Cancellation: stop() (and
// the destructor) closes the listening socket and every connection; their
// coroutines end as aborted.

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace fanout::cli {

class demo_http_server {
  public:
    explicit demo_http_server(boost::asio::any_io_executor executor);
    ~demo_http_server();
    demo_http_server(const demo_http_server&) = delete;
    demo_http_server& operator=(const demo_http_server&) = delete;

    std::uint16_t port() const noexcept;
    void stop();

    /// Connections accepted and requests answered (or held) so far.
    std::size_t connections_accepted() const noexcept;
    std::size_t requests_received() const noexcept;

    /// What the server does with the first request for item `n`, and with
    /// the later ones (the answer to a retry).
    enum class fault { none, hang, unavailable, not_found };
    static fault first_answer(std::size_t n) noexcept;
    static fault later_answer(std::size_t n) noexcept;

  private:
    struct state;
    std::shared_ptr<state> state_;
    std::uint16_t port_ = 0;
};

}  // namespace fanout::cli
