#pragma once
// One connection of a loop_driver (private): its socket (plain or TLS), the
// requests in flight on it, and its read buffer. HTTP/1.1 keeps the
// requests in a ring, oldest first (answers come in order); HTTP/2 keeps
// one slot per stream (answers come in any order) and the nghttp2 session.
//
// Threads: used on its loop's executor only.

#include "http/h2_memory.hpp"
#include "http/response_parser.hpp"
#include "load/loop_driver.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nghttp2/nghttp2.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace fanout::load::detail {

// The longest response head a load run accepts: a quarter of the client's,
// as the read buffer of each of thousands of connections must hold one.
constexpr std::size_t max_head_size = 16 * 1024;

// Room for a whole response head (the parser's limit) and then some, so
// compaction moves few bytes.
constexpr std::size_t read_buffer_size = 2 * max_head_size;

// How long a connection waits before connecting again after a failed connect.
constexpr auto reconnect_pause = std::chrono::milliseconds(10);

// One HTTP/2 stream of a connection (a slot, reused).
struct h2_stream {
    clock::time_point intended;
    clock::time_point sent;
    std::size_t request = 0;    // which of the origin's requests
    std::size_t body_sent = 0;  // of the request body
    std::int32_t id = -1;
    unsigned status = 0;
    bool open = false;       // the slot holds a stream
    bool ended = false;      // the server ended it after a final status
    bool timed_out = false;  // counted as a timeout already: reset, its close not counted
};

// A request to send again: the server did not process it.
struct h2_retry {
    clock::time_point intended;
    std::size_t request = 0;
};

struct loop_driver::connection {
    connection(const boost::asio::any_io_executor& executor, std::size_t run_id,
               std::size_t origin_index, const origin_plan& to, std::size_t origins,
               std::size_t pipeline, bool h2)
        : id(run_id),
          origin_index(origin_index),
          origin(&to),
          head(!to.requests.empty() && to.requests.front().head),
          // Connection j of an origin starts at its URL j (mod their
          // number): each URL is sent from the start even when a
          // connection gets few turns.
          next_request(to.requests.empty() ? 0 : (run_id / origins) % to.requests.size()),
          socket(executor),
          timer(executor),
          ring(h2 ? 0 : pipeline),
          buffer(read_buffer_size) {
        if (h2) {
            streams.resize(pipeline);
            free_streams.reserve(pipeline);
            for (std::size_t i = pipeline; i > 0; --i) free_streams.push_back(i - 1);
        } else {
            writes.reserve(pipeline);
        }
    }
    ~connection() {
        if (session != nullptr) nghttp2_session_del(session);
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    std::size_t id;
    std::size_t origin_index;
    const origin_plan* origin;
    bool head;
    std::size_t next_request;             // cycles through origin->requests
    boost::asio::ip::tcp::socket socket;  // plain http
    std::unique_ptr<tls_stream> tls;      // https: made afresh for each connect
    boost::asio::steady_timer timer;      // open-loop pacing and reconnect pauses

    std::uint64_t scheduled = 0;  // requests taken from the schedule so far
    bool exhausted = false;       // the run's request count is used up

    // HTTP/1.1: requests written and not answered, oldest first (a ring of
    // `pipeline`). HTTP/2: the streams open and not timed out.
    std::vector<request_in_flight> ring;
    std::size_t ring_head = 0;
    std::size_t in_flight = 0;
    std::vector<boost::asio::const_buffer> writes;

    std::vector<char> buffer;  // read buffer: [begin, end) not parsed yet
    std::size_t begin = 0;
    std::size_t end = 0;
    bool drained = true;  // the last read left nothing in the socket
    bool waiting_to_read = false;
    bool due = false;  // a request came due (or, on h2, a frame is to be written) while reading
    http::detail::response_parser parser{max_head_size};

    // HTTP/2: the session of the current connect, the stream slots, what to
    // send again on the next connect.
    loop_driver* driver = nullptr;
    nghttp2_session* session = nullptr;
    // Its allocations, kept across connects (~connection deletes the
    // session before its members go).
    http::detail::h2_memory h2_allocations;
    std::vector<h2_stream> streams;
    std::vector<std::size_t> free_streams;
    std::deque<h2_retry> retries;
    std::string out;  // what nghttp2 gave to write, up to the write batch
    bool settings_received = false;
    bool goaway = false;  // no new stream on this connect (GOAWAY, or stream ids used up)
    std::int32_t last_stream_id = 0;

    // For the watchdog.
    bool connecting = false;
    clock::time_point connect_started{};
    bool timed_out = false;

    boost::asio::ip::tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
    const request_in_flight& oldest() const { return ring[ring_head]; }
    void push(const request_in_flight& r) {
        ring[(ring_head + in_flight) % ring.size()] = r;
        ++in_flight;
    }
    void pop() {
        ring_head = (ring_head + 1) % ring.size();
        --in_flight;
    }
    std::size_t streams_open() const noexcept { return streams.size() - free_streams.size(); }
};

}  // namespace fanout::load::detail
