#pragma once
// One HTTP/2 connection of the client (private), on nghttp2: a plain (h2c)
// or TLS socket, the nghttp2 session, a read loop and a write pump on the
// socket's executor, and the streams open on it.
//
// The read loop feeds every byte read to nghttp2_session_mem_recv (over
// TLS, every record already read from the socket before it writes); the
// write pump drains nghttp2_session_mem_send into one buffer of up to
// 16 KiB per write (as h2load does), and runs only while nghttp2 has
// something to send. The read loop runs while a stream is open (or the
// server's SETTINGS are awaited) and stops when the last stream ends, as an
// idle HTTP/1.1 connection has no read pending: a loop whose requests are
// done has no work left and io_context::run() returns. Whatever the server
// sent meanwhile (a GOAWAY, its close) is read with the next stream's
// answer, or with a liveness check (check_alive: a PING, reading until its
// ACK). Flow control is nghttp2's: the client opens generous
// windows (8 MiB per stream, 32 MiB for the connection) and the body bytes
// are consumed as they are kept, so WINDOW_UPDATE follows the reading.
//
// Timeouts: one watchdog timer per connection, set for the earliest
// deadline of its streams (a stream's is its last progress plus the
// first-byte timeout, or the request's total deadline when sooner). When it
// fires, the streams past their deadline are timed out and it is set for
// the next; a stream's own wait is a timer that never expires, cancelled to
// wake it. Stream state is pooled per connection (found by nghttp2's stream
// user data), and the callbacks take the time of the read that brought
// their bytes: a request costs no timer of its own, no map node and few
// clock reads. nghttp2 allocates from free lists of the connection's (blocks
// of up to 1 KiB by 16-byte size class, kept until the connection ends): its
// dozen allocations per stream do not go through malloc each time.
//
// Errors: outcome() gives one per request: the response, or a
// failure: fanout::errc::timeout (the phase and limit named), errc::
// stream_reset (the server's RST_STREAM, its h2 error code named), goaway
// (the server will not process the stream: retry_elsewhere is set),
// protocol_error (nghttp2 refused the peer's bytes), flow_control_stall
// (timed out with the server's window shut while sending the body),
// header_list_too_large, body_too_large, connection_closed (the connection
// ended first; retry_elsewhere when nothing of the answer had arrived).
// A failure of the connection fails every stream on it.
// Cancellation: a cancelled exchange resets its stream (RST_STREAM CANCEL)
// and completes with operation_aborted; the connection and its other
// streams go on. A timeout does the same.
// Threads: everything runs on the socket's executor (the client's).

#include <fanout/http/message.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

struct nghttp2_session;

namespace fanout::http::detail {

struct target;
class h2_memory;

struct h2_limits {
    std::size_t max_body_size = 0;
    bool truncate_body = false;
    std::size_t max_header_list_size = 64 * 1024;
    std::size_t max_concurrent_streams = 100;  ///< the client's cap
    std::string user_agent;
    std::chrono::milliseconds first_byte_timeout{30'000};
    std::optional<std::chrono::milliseconds> total_timeout;  ///< named in timeout messages
};

class h2_connection : public std::enable_shared_from_this<h2_connection> {
  public:
    using clock = std::chrono::steady_clock;
    using socket_type = boost::asio::ip::tcp::socket;
    using tls_stream = boost::asio::ssl::stream<socket_type>;

    /// One of `plain` and `tls`, connected (and the TLS handshake done).
    h2_connection(std::unique_ptr<socket_type> plain, std::unique_ptr<tls_stream> tls,
                  h2_limits limits);
    ~h2_connection();
    h2_connection(const h2_connection&) = delete;
    h2_connection& operator=(const h2_connection&) = delete;

    /// Sends the connection preface and the client's SETTINGS, starts the
    /// read loop and waits for the server's SETTINGS, at most `limit`: a
    /// failure naming `host` when they do not come.
    boost::asio::awaitable<std::optional<failure>> start(clock::duration limit, std::string host);

    struct exchange_result {
        result<response> answer;
        /// The server did not process the request (GOAWAY above its last
        /// stream id, REFUSED_STREAM, or the connection ended before any of
        /// the answer): another connection may be tried.
        bool retry_elsewhere = false;
    };

    struct stream;  // one request on the connection

    /// The caller's hold on a stream it submitted: the stream's state is
    /// kept (and not reused) until the hold ends.
    class stream_hold {
      public:
        stream_hold() = default;
        stream_hold(h2_connection& c, stream& s) : conn_(&c), stream_(&s) {}
        stream_hold(const stream_hold&) = delete;
        stream_hold& operator=(const stream_hold&) = delete;
        ~stream_hold() {
            if (stream_ != nullptr) conn_->release(*stream_);
        }

      private:
        h2_connection* conn_ = nullptr;
        stream* stream_ = nullptr;
    };

    /// One exchange is submit(), then wait() until settled(), then
    /// outcome(), with a stream_hold on the stream meanwhile. The waiting is
    /// done by the caller's coroutine: a request costs no coroutine frame of
    /// this class's.
    ///
    /// Sends `req` on a new stream, before any suspension (accepts_streams()
    /// checked just before counts it). `now` is the caller's last reading of
    /// the clock, taken after its last suspension: the time it is sent.
    /// Nothing when nghttp2 refused the stream; `refused` then says why.
    stream* submit(const target& where, const request& req,
                   std::optional<clock::time_point> deadline, clock::time_point now,
                   exchange_result& refused);
    /// Waits until the stream is woken: answered, failed, past its deadline,
    /// or the wait cancelled (the caller's cancellation).
    boost::asio::awaitable<std::tuple<boost::system::error_code>> wait(stream& s);
    /// Answered, failed or past its deadline.
    bool settled(const stream& s) const noexcept;
    /// The stream's outcome once settled(); when a wait ended without that,
    /// the caller was cancelled (`cancelled`): the stream is reset, and the
    /// outcome is operation_aborted. A stream past its deadline is reset too.
    exchange_result outcome(stream& s, bool cancelled, timings& timing);

    /// Sends a PING and reads until its ACK comes, at most `limit`: true
    /// when it came. When it did not (and the caller was not cancelled) the
    /// connection is closed. No stream is accepted meanwhile.
    boost::asio::awaitable<bool> check_alive(clock::duration limit);

    /// Open, no GOAWAY received, no PING under way, and fewer streams than
    /// the stream limit.
    bool accepts_streams() const noexcept;
    /// The read loop still runs and no GOAWAY came.
    bool usable() const noexcept { return !dead_ && !goaway_; }
    bool dead() const noexcept { return dead_; }
    std::size_t active_streams() const noexcept { return active_.size(); }
    /// min(the server's SETTINGS_MAX_CONCURRENT_STREAMS, the client's cap).
    std::size_t stream_limit() const noexcept;
    /// Streams started on it so far.
    std::size_t streams_started() const noexcept { return started_; }
    clock::time_point idle_since() const noexcept { return idle_since_; }
    /// When bytes from the server last arrived.
    clock::time_point last_heard() const noexcept { return last_heard_; }

    /// Ends the connection: every stream on it fails with connection_closed.
    void close();

    /// Called when a stream ends (`all` false: one slot freed) or the
    /// connection changes (ready, GOAWAY, closed: `all` true). Runs inside
    /// nghttp2's callbacks: it must only wake waiters.
    std::function<void(bool all)> on_change;

    std::optional<std::chrono::system_clock::time_point> certificate_expiry;
    std::string peer_address;  ///< "ip:port", for the responses

  private:
    boost::asio::awaitable<void> read_loop(std::shared_ptr<h2_connection> self);
    boost::asio::awaitable<void> write_loop(std::shared_ptr<h2_connection> self);
    void pump();
    void start_reading();
    void stop_reading_when_idle();
    void fail_all(const failure& why, bool retryable_if_unanswered);
    void finish(stream& s);
    stream& acquire();
    void release(stream& s);
    void watch(clock::time_point at);
    void on_watchdog();
    clock::time_point deadline_of(const stream& s) const;
    void notify(bool all) {
        if (on_change) on_change(all);
    }
    socket_type& lowest() { return tls_ ? tls_->next_layer() : *plain_; }

    friend struct h2_callbacks;

    std::unique_ptr<socket_type> plain_;
    std::unique_ptr<tls_stream> tls_;
    h2_limits limits_;
    nghttp2_session* session_ = nullptr;
    // The streams open in nghttp2 (each knows its index here), every stream
    // object made so far, and those free for the next request.
    std::vector<stream*> active_;
    std::vector<std::unique_ptr<stream>> all_;
    std::vector<stream*> free_;
    std::unique_ptr<h2_memory> memory_;       // nghttp2's allocations (h2_memory.hpp)
    struct request_fields;                    // the request being submitted, reused
    std::unique_ptr<request_fields> fields_;  // (nghttp2_nv is not declared here)
    std::size_t header_hint_ = 4;             // header fields of the last answer
    // The watchdog: armed for watch_at_, unless that is time_point::max().
    boost::asio::steady_timer watchdog_;
    clock::time_point watch_at_ = clock::time_point::max();
    clock::time_point now_ = clock::now();  // when the bytes being read came
    std::string out_;
    std::unique_ptr<std::uint8_t[]> in_;
    boost::asio::steady_timer settings_wait_;
    boost::asio::steady_timer ping_wait_;  // cancelled by the PING's ACK
    bool settings_received_ = false;
    bool checking_ = false;  // a PING of check_alive() is under way
    bool ping_acked_ = false;
    bool writing_ = false;
    bool reading_ = false;
    bool idle_stop_ = false;  // the read loop ends at its next turn (no stream left)
    bool dead_ = false;
    std::optional<failure> death_;  // why fail_all() ended the connection
    bool goaway_ = false;
    std::int32_t last_stream_id_ = 0;  // the GOAWAY's
    std::size_t started_ = 0;
    clock::time_point idle_since_ = clock::now();
    clock::time_point last_heard_ = clock::now();
};

}  // namespace fanout::http::detail
