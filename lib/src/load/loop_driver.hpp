#pragma once
// One loop thread's share of a load run (private): its connections, each a
// coroutine that writes requests (pre-serialised bytes, up to the pipeline
// depth ahead) and parses the answers from a reused buffer; a watchdog that
// closes connections whose oldest request ran past the timeout; and the
// loop's own counters and histograms, merged by run() at the end.
//
// Every request a loop sends ends counted once: answered, an error of some
// kind, or unanswered (still in flight when the run stopped at once): sent ==
// responses + errors + unanswered. A failed connect counts as a request sent
// and an error (with a request count it uses one up).
//
// Threads: everything but live() is used on the loop's executor only.
// Cancellation: drain() stops sending and lets the answers in flight come
// (the watchdog's timeout still bounds each); stop() closes every connection
// at once, counting what was in flight as unanswered; the coroutines then end.

#include "load/plan.hpp"

#include <fanout/load/result.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <nghttp2/nghttp2.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

namespace fanout::load::detail {

using clock = std::chrono::steady_clock;

struct request_in_flight {
    clock::time_point intended;  // open loop: when the schedule wanted it sent
    clock::time_point sent;
};

/// What every loop of a run shares.
struct shared_run {
    explicit shared_run(const plan& p) : the_plan(p) {}
    const plan& the_plan;
    clock::time_point start;
    std::atomic<bool> stop{false};
    /// Requests left to send when options::requests is set.
    std::atomic<std::int64_t> remaining{0};
};

/// A loop's counts for a progress line, written by the loop only.
struct live_counters {
    alignas(64) std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> responses{0};
    std::atomic<std::uint64_t> errors{0};
};

class loop_driver : public std::enable_shared_from_this<loop_driver> {
  public:
    /// `connection_ids` are the run-wide numbers of this loop's connections
    /// (they pick the origin and the phase of the open-loop schedule).
    loop_driver(boost::asio::any_io_executor executor, shared_run& shared,
                std::vector<std::size_t> connection_ids);
    ~loop_driver();
    loop_driver(const loop_driver&) = delete;
    loop_driver& operator=(const loop_driver&) = delete;

    const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

    /// Starts the connections and the watchdog; `finished` is called on the
    /// loop when all of them have ended. Call on the loop.
    void start(std::function<void()> finished);
    /// Stops sending: idle connections close, the others close once their
    /// answers in flight are read or time out. Call on the loop.
    void drain();
    /// Closes every connection and stops sending. Call on the loop.
    void stop();

    const live_counters& live() const noexcept { return live_; }
    /// The loop's result; read once finished. Rethrows what a connection threw.
    result take_result();

  private:
    struct connection;
    friend struct h2_callbacks;

    bool stopping() const noexcept;
    // No request is to be sent any more (draining or stopped).
    bool sending_over() const noexcept { return draining_ || stopping(); }
    bool claim() noexcept;
    clock::time_point intended_start(const connection& c, std::uint64_t k) const noexcept;
    // Fills c.writes with what may go now: up to the pipeline depth, and in
    // open loop only requests whose intended start has come.
    void queue_requests(connection& c, clock::time_point now);
    // Moves unparsed bytes to the front of the read buffer when little room is left.
    static void make_room(connection& c) noexcept;
    boost::asio::awaitable<void> run_connection(connection& c);
    boost::asio::awaitable<bool> connect(connection& c);
    // Arms c.timer to cancel the wait to read when the next request is due.
    void wake_when_due_during_read(connection& c);
    // Writes c.writes without blocking; false (and c.writes left with what
    // remains) when the socket did not take it all or failed (ec).
    bool write_now(connection& c, boost::system::error_code& ec);
    void read_answers(connection& c, clock::time_point now);
    // Counts the oldest request in flight as answered (the parser holds its answer).
    void count_answer(connection& c, clock::time_point now);
    void count_answer(clock::time_point now, const request_in_flight& answered, unsigned status);
    // Records a request's latency (and in open loop its corrected latency)
    // in the run's histograms and its interval's.
    void record_latency(clock::time_point now, const request_in_flight& r);
    void fail(connection& c, boost::system::error_code ec);
    void count_errors(const boost::system::error_code& ec, std::uint64_t n);
    void close(connection& c);
    void publish() noexcept;
    // The loop's time-series interval of `t`.
    interval_counts& interval_at(clock::time_point t) {
        return counts_.series.at(t - shared_.start);
    }
    boost::asio::awaitable<void> watch();

    // HTTP/2 (h2_loop.cpp): the same loop over an nghttp2 session per
    // connect, -p streams at once instead of -p requests pipelined.
    void prepare_h2();  // the callbacks, and each request's header fields
    void end_h2() noexcept;
    boost::asio::awaitable<void> run_h2_connection(connection& c);
    // After the connect (and TLS handshake): the preface and SETTINGS
    // written, the server's SETTINGS read.
    boost::asio::awaitable<boost::system::error_code> start_h2(connection& c);
    // Submits streams up to the limit (in open loop, those due).
    void submit_h2(connection& c, clock::time_point now);
    std::size_t h2_stream_limit(const connection& c) const noexcept;
    // Writes what nghttp2 has to send, in batches of about 16 KiB.
    boost::asio::awaitable<boost::system::error_code> write_h2(connection& c);
    // Reads what has come and feeds it to nghttp2; with `wait` false over
    // TLS it returns when the socket has nothing instead of waiting.
    boost::asio::awaitable<boost::system::error_code> read_h2(connection& c, bool wake_when_due,
                                                              bool wait = true);
    void h2_stream_closed(connection& c, std::int32_t stream_id, std::uint32_t code);
    void time_out_h2_streams(connection& c, clock::time_point now);
    void close_h2(connection& c) noexcept;
    nghttp2_session_callbacks* h2_callbacks_ = nullptr;
    // Per origin, per request: its header fields (pointing into the plan).
    std::vector<std::vector<std::vector<nghttp2_nv>>> h2_fields_;
    void ended(std::exception_ptr e, bool was_connection);

    boost::asio::any_io_executor executor_;
    shared_run& shared_;
    const options& opts_;
    std::vector<std::unique_ptr<connection>> connections_;
    boost::asio::steady_timer watchdog_;
    std::function<void()> finished_;
    std::size_t running_ = 0;  // connection coroutines and the watchdog
    std::size_t connections_running_ = 0;
    bool stopped_ = false;
    bool draining_ = false;
    std::exception_ptr error_;

    result counts_;
    std::array<std::uint64_t, 600> status_counts_{};
    live_counters live_;
};

}  // namespace fanout::load::detail
