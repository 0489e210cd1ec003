#pragma once
// An in-process HTTP/2 server (h2c, prior knowledge) with faults on demand,
// for the client's HTTP/2 tests, on nghttp2's server API: 127.0.0.1, a port
// chosen by the kernel, one thread accepting and one per connection.
//
// Paths, answered once the request has ended:
//   /ok       200 "ok"
//   /slow     never answered (the stream stays open)
//   /reset    RST_STREAM INTERNAL_ERROR
//   /bomb     200 with a header list of about 100 KB (in few enough
//             CONTINUATION frames for nghttp2 to take it)
//   /upload   200 "ok" once its body has arrived; the server never opens
//             its flow-control windows past the initial 1 KiB, so a
//             larger body stalls
//   other     404
// With goaway_first_connection, the first connection answers its first
// request with GOAWAY (last stream id 0) and closes after it is sent;
// goaway_connection = N does the same on the N-th connection accepted
// instead (a client that connects once to check the server first).
// With no_ping_ack, PINGs are counted and never acknowledged (a connection
// gone dead to a liveness check, still answering requests).
//
// Errors: the constructor throws std::runtime_error when it cannot listen.
// Cancellation: none; the destructor shuts every socket and joins the threads.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fanout::test {

struct h2_fault_options {
    std::uint32_t max_concurrent_streams = 100;
    bool goaway_first_connection = false;
    std::size_t goaway_connection = 0;  ///< 1: the first connection accepted
    bool no_ping_ack = false;
};

class h2_fault_server {
  public:
    explicit h2_fault_server(h2_fault_options options = {});
    ~h2_fault_server();
    h2_fault_server(const h2_fault_server&) = delete;
    h2_fault_server& operator=(const h2_fault_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    /// "http://127.0.0.1:<port><path>"
    std::string url(const std::string& path) const;

    std::size_t connections() const noexcept { return connections_.load(); }
    /// RST_STREAM frames received from clients so far.
    std::size_t resets_received() const noexcept { return resets_.load(); }
    /// Requests answered (200 or 404) so far.
    std::size_t answered() const noexcept { return answered_.load(); }
    /// PING frames (not ACKs) received from clients so far.
    std::size_t pings_received() const noexcept { return pings_.load(); }

  private:
    void accept_loop();
    void serve(int fd, bool goaway);

    h2_fault_options options_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> connections_{0};
    std::atomic<std::size_t> resets_{0};
    std::atomic<std::size_t> answered_{0};
    std::atomic<std::size_t> pings_{0};
    std::mutex mutex_;
    std::vector<int> open_fds_;
    std::vector<std::thread> workers_;
    std::thread acceptor_;

    friend struct h2_fault_session;
};

}  // namespace fanout::test
