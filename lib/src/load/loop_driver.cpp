#include "load/loop_driver.hpp"

#include "http/response_parser.hpp"
#include "http/tls_peer.hpp"
#include "load/loop_connection.hpp"

#include <fanout/error.hpp>
#include <fanout/http/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace fanout::load::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

using http::detail::response_parser;

loop_driver::loop_driver(net::any_io_executor executor, shared_run& shared,
                         std::vector<std::size_t> connection_ids)
    : executor_(std::move(executor)),
      shared_(shared),
      opts_(shared.the_plan.opts),
      watchdog_(executor_) {
    const auto& origins = shared_.the_plan.origins;
    const bool h2 = opts_.version != protocol::http1_1;
    for (const auto id : connection_ids) {
        const auto origin = id % origins.size();
        connections_.push_back(std::make_unique<connection>(executor_, id, origin, origins[origin],
                                                            origins.size(), opts_.pipeline, h2));
        connections_.back()->driver = this;
    }
    if (h2) prepare_h2();
    counts_.connections = connections_.size();
    counts_.protocol = h2 ? "h2" : "http/1.1";
    counts_.threads = 1;
    counts_.pipeline = opts_.pipeline;
    counts_.rate = opts_.rate;
}

loop_driver::~loop_driver() {
    connections_.clear();  // their sessions first
    end_h2();
}

void loop_driver::start(std::function<void()> finished) {
    finished_ = std::move(finished);
    running_ = connections_.size() + 1;
    connections_running_ = connections_.size();
    for (auto& c : connections_)
        net::co_spawn(
            executor_,
            opts_.version == protocol::http1_1 ? run_connection(*c) : run_h2_connection(*c),
            [self = shared_from_this()](std::exception_ptr e) { self->ended(e, true); });
    net::co_spawn(executor_, watch(),
                  [self = shared_from_this()](std::exception_ptr e) { self->ended(e, false); });
}

void loop_driver::drain() {
    draining_ = true;
    for (auto& c : connections_) {
        if (c->in_flight > 0) continue;  // closes once its answers are in
        close(*c);                       // an idle or connecting connection has nothing to wait for
        c->timer.cancel();
    }
}

void loop_driver::stop() {
    stopped_ = true;
    for (auto& c : connections_) {
        close(*c);
        c->timer.cancel();
    }
    watchdog_.cancel();
}

result loop_driver::take_result() {
    if (error_) std::rethrow_exception(error_);
    for (unsigned status = 0; status < status_counts_.size(); ++status)
        if (status_counts_[status] > 0) counts_.status_counts[status] = status_counts_[status];
    return std::move(counts_);
}

bool loop_driver::stopping() const noexcept {
    return stopped_ || shared_.stop.load(std::memory_order_relaxed);
}

bool loop_driver::claim() noexcept {
    if (!opts_.requests) return true;
    return shared_.remaining.fetch_sub(1, std::memory_order_relaxed) > 0;
}

clock::time_point loop_driver::intended_start(const connection& c, std::uint64_t k) const noexcept {
    // Connection j of C sends its k-th request at (k * C + j) / rate: each
    // connection keeps rate / C, and together they interleave evenly.
    const double slot =
        static_cast<double>(k) * static_cast<double>(shared_.the_plan.opts.connections) +
        static_cast<double>(c.id);
    // A slow enough rate puts a slot past what the clock holds (1e-10/s:
    // the second request in 300 years): that request is never due, rather
    // than due at once through an overflow.
    const double offset = slot * 1e9 / *opts_.rate;
    const auto room = clock::time_point::max() - shared_.start;
    if (!(offset < static_cast<double>(room.count()) / 2)) return clock::time_point::max();
    return shared_.start + std::chrono::nanoseconds(std::llround(offset));
}

void loop_driver::queue_requests(connection& c, clock::time_point now) {
    const auto& requests = c.origin->requests;
    c.writes.clear();
    while (c.in_flight < c.ring.size() && !c.exhausted) {
        clock::time_point intended = now;
        if (opts_.rate) {
            intended = intended_start(c, c.scheduled);
            if (intended > now) break;
        }
        if (!claim()) {
            c.exhausted = true;
            break;
        }
        c.push({intended, now});
        c.writes.push_back(net::buffer(requests[c.next_request].bytes));
        c.next_request = c.next_request + 1 == requests.size() ? 0 : c.next_request + 1;
        ++c.scheduled;
    }
}

void loop_driver::make_room(connection& c) noexcept {
    if (c.begin == c.end) {
        c.begin = c.end = 0;
    } else if (c.buffer.size() - c.end < max_head_size / 4) {
        std::memmove(c.buffer.data(), c.buffer.data() + c.begin, c.end - c.begin);
        c.end -= c.begin;
        c.begin = 0;
    }
}

net::awaitable<void> loop_driver::run_connection(connection& c) {
    const bool open_loop = opts_.rate.has_value();
    while (!stopping()) {
        if (draining_ && c.in_flight == 0) break;
        if (!c.lowest().is_open() && !co_await connect(c)) {
            if (sending_over() || c.exhausted) break;
            c.timer.expires_after(reconnect_pause);
            co_await c.timer.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }

        const auto now = clock::now();
        if (draining_)
            c.writes.clear();
        else
            queue_requests(c, now);
        if (!c.writes.empty()) {
            counts_.sent += c.writes.size();
            interval_at(now).sent += c.writes.size();
            // Written at once when the socket takes it all (the usual case:
            // no suspension, no trip through the scheduler), else the rest
            // when it can.
            error_code ec;
            if (c.tls) {
                auto [tls_ec, written] =
                    co_await net::async_write(*c.tls, c.writes, net::as_tuple(net::use_awaitable));
                counts_.bytes_sent += written;
                ec = tls_ec;
            } else if (!write_now(c, ec) && !ec) {
                auto [rest_ec, written] = co_await net::async_write(
                    c.socket, c.writes, net::as_tuple(net::use_awaitable));
                counts_.bytes_sent += written;
                ec = rest_ec;
            }
            if (ec) {
                fail(c, ec);
                continue;
            }
        }

        if (c.in_flight == 0) {
            if (c.exhausted || draining_) break;
            if (open_loop) {
                c.timer.expires_at(intended_start(c, c.scheduled));
                co_await c.timer.async_wait(net::as_tuple(net::use_awaitable));
            }
            continue;
        }

        make_room(c);
        // Wait for the socket to be readable, then read without blocking: an
        // answer is never there just after its request was written, so an
        // attempt to read first would be a wasted system call. A read that
        // filled the buffer may have left bytes: read again before waiting
        // (the reactor is edge-triggered).
        error_code ec;
        std::size_t received = 0;
        if (c.tls) {
            auto [tls_ec, n] = co_await c.tls->async_read_some(
                net::buffer(c.buffer.data() + c.end, c.buffer.size() - c.end),
                net::as_tuple(net::use_awaitable));
            ec = tls_ec;
            received = n;
        }
        while (!c.tls) {
            if (!c.drained) {
                const std::size_t room = c.buffer.size() - c.end;
                received = c.socket.read_some(net::buffer(c.buffer.data() + c.end, room), ec);
                if (ec != net::error::would_block && ec != net::error::try_again) {
                    c.drained = !ec && received < room;
                    break;
                }
                ec = {};
                c.drained = true;
            }
            // Open loop with room in the pipeline: the next request's
            // intended start cuts the wait short, so it is written on time.
            const bool wake_when_due =
                open_loop && c.in_flight < c.ring.size() && !c.exhausted && !draining_;
            if (wake_when_due) wake_when_due_during_read(c);
            c.waiting_to_read = true;
            auto [wait_ec] = co_await c.socket.async_wait(tcp::socket::wait_read,
                                                          net::as_tuple(net::use_awaitable));
            c.waiting_to_read = false;
            if (wake_when_due) c.timer.cancel();
            if (wait_ec) {
                ec = wait_ec;
                break;
            }
            c.drained = false;
        }
        if (c.due && ec == net::error::operation_aborted && c.lowest().is_open()) {
            c.due = false;
            continue;  // write what has come due, then wait again
        }
        if ((ec == net::error::eof || ec == net::ssl::error::stream_truncated) &&
            c.parser.delimited_by_close() && !stopping()) {
            // The answer's body ended with the connection (HTTP/1.0 style):
            // it is whole; what was written after it is not answered.
            c.parser.finish();
            count_answer(c, clock::now());
            count_errors(make_error_code(http::errc::connection_closed), c.in_flight);
            c.in_flight = 0;
            close(c);
            publish();
            continue;
        }
        if (ec) {
            fail(c, ec);
            continue;
        }
        if (stopping()) break;  // answers after a stop are not counted (close counts them)
        c.end += received;
        counts_.bytes_received += received;
        read_answers(c, clock::now());
        publish();
    }
    close(c);
    publish();
}

net::awaitable<bool> loop_driver::connect(connection& c) {
    // No operation is pending on the connection now: a TLS stream can be replaced.
    if (c.origin->tls) c.tls = std::make_unique<tls_stream>(executor_, *shared_.the_plan.tls);
    tcp::socket& socket = c.lowest();
    c.connecting = true;
    c.connect_started = clock::now();
    auto [ec] =
        co_await socket.async_connect(c.origin->endpoint, net::as_tuple(net::use_awaitable));
    if (!ec) socket.set_option(tcp::no_delay(true), ec);
    if (!ec && c.tls) {
        set_tls_peer(*c.tls, c.origin->host, opts_.verify_tls);
        if (opts_.version == protocol::http2) offer_h2(*c.tls);
        auto [handshake_ec] =
            co_await c.tls->async_handshake(tls_stream::client, net::as_tuple(net::use_awaitable));
        if (handshake_ec && http::detail::alpn_refused(handshake_ec))
            ec = make_error_code(http::errc::http2_not_negotiated);
        else if (handshake_ec)
            ec = http::detail::tls_handshake_failure(c.tls->native_handle(), handshake_ec,
                                                     c.origin->host, opts_.verify_tls)
                     .code;
        else if (opts_.version == protocol::http2 &&
                 !http::detail::alpn_picked_h2(c.tls->native_handle()))
            ec = make_error_code(http::errc::http2_not_negotiated);
    }
    // Reads that find nothing say so instead of blocking (h2 reads TLS
    // records that way too; HTTP/1.1 over TLS only reads asynchronously).
    if (!ec && (!c.tls || opts_.version != protocol::http1_1)) c.lowest().non_blocking(true, ec);
    if (!ec && opts_.version != protocol::http1_1) ec = co_await start_h2(c);
    c.connecting = false;
    if (ec) {
        // A failed connect stands for the request it would have carried: it
        // counts as sent and failed, and with a request count uses one up (so
        // a server gone for good ends the run instead of holding it).
        if (!sending_over() && !claim()) c.exhausted = true;
        if (!sending_over() && !c.exhausted) {
            ++counts_.sent;
            ++interval_at(clock::now()).sent;
            ++counts_.connect_errors;
            count_errors(c.timed_out ? make_error_code(errc::timeout) : ec, 1);
        }
        close(c);
        co_return false;
    }
    c.begin = c.end = 0;
    // HTTP/2: the wait for the server's SETTINGS may have left bytes to read.
    c.drained = opts_.version == protocol::http1_1;
    c.parser.reset(c.head);
    co_return true;
}

void loop_driver::wake_when_due_during_read(connection& c) {
    c.due = false;
    c.timer.expires_at(intended_start(c, c.scheduled));
    c.timer.async_wait([self = shared_from_this(), &c](const error_code& ec) {
        // Only a wait to read is cut short, never a write in progress.
        if (ec || !c.waiting_to_read) return;
        c.due = true;
        error_code ignored;
        c.lowest().cancel(ignored);
    });
}

bool loop_driver::write_now(connection& c, error_code& ec) {
    const std::size_t total = net::buffer_size(c.writes);
    std::size_t written = c.socket.write_some(c.writes, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
        ec = {};
        written = 0;
    }
    counts_.bytes_sent += written;
    if (ec || written == total) return !ec;
    // Keep what is left to write.
    auto first = c.writes.begin();
    while (written >= first->size()) {
        written -= first->size();
        ++first;
    }
    c.writes.erase(c.writes.begin(), first);
    c.writes.front() += written;
    return false;
}

void loop_driver::read_answers(connection& c, clock::time_point now) {
    while (c.in_flight > 0) {
        const auto state =
            c.parser.parse(std::string_view(c.buffer.data() + c.begin, c.end - c.begin));
        c.begin += c.parser.consumed();
        if (state == response_parser::state::need_more) return;
        if (state == response_parser::state::error) {
            if (!stopping()) ++counts_.malformed_reasons[c.parser.error_reason()];
            fail(c, make_error_code(http::errc::malformed_response));
            return;
        }
        if (c.in_flight == 1 && c.begin < c.end) {
            // Bytes after the last answer due: the server sent more than it
            // announced (a Content-Length too small...), so this answer is
            // not one to count as such.
            if (!stopping()) ++counts_.malformed_reasons["bytes past the end of the answer"];
            fail(c, make_error_code(http::errc::malformed_response));
            return;
        }
        const bool keep_alive = c.parser.keep_alive();
        count_answer(c, now);
        c.parser.reset(c.head);
        if (!keep_alive) {
            // The server closes after this answer: what was written after
            // it will not be answered.
            count_errors(make_error_code(http::errc::connection_closed), c.in_flight);
            c.in_flight = 0;
            close(c);
            return;
        }
    }
}

void loop_driver::count_answer(connection& c, clock::time_point now) {
    count_answer(now, c.oldest(), c.parser.status());
    c.pop();
}

void loop_driver::count_answer(clock::time_point now, const request_in_flight& answered,
                               unsigned status) {
    record_latency(now, answered);
    ++interval_at(now).answered;
    ++status_counts_[status];
    ++counts_.responses;
}

void loop_driver::record_latency(clock::time_point now, const request_in_flight& r) {
    counts_.latency.record(now - r.sent);
    if (opts_.rate) counts_.corrected_latency.record(now - r.intended);
    auto& interval = interval_at(now);
    interval.latency.record(now - r.sent);
    if (opts_.rate) interval.corrected_latency.record(now - r.intended);
}

void loop_driver::fail(connection& c, error_code ec) {
    if (!stopping()) {
        if (c.timed_out) {
            ec = make_error_code(errc::timeout);
            // A request that timed out took at least this long: latency
            // percentiles must not pass a server that never answers.
            const auto now = clock::now();
            for (std::size_t i = 0; i < c.in_flight; ++i)
                record_latency(now, c.ring[(c.ring_head + i) % c.ring.size()]);
        } else if (ec == net::error::eof) {
            ec = make_error_code(http::errc::connection_closed);
        }
        count_errors(ec, c.in_flight);
        c.in_flight = 0;
    }
    close(c);  // after a stop, what was in flight is counted unanswered
}

void loop_driver::count_errors(const error_code& ec, std::uint64_t n) {
    if (n == 0) return;
    counts_.errors += n;
    const auto kind = error_kind(ec);
    counts_.errors_by_kind[kind] += n;
    auto& interval = interval_at(clock::now());
    interval.errors += n;
    interval.errors_by_kind[kind] += n;
}

void loop_driver::close(connection& c) {
    // Requests still in flight here were neither answered nor failed: the
    // run stopped under them.
    counts_.unanswered += c.in_flight;
    error_code ignored;
    c.lowest().close(ignored);
    if (c.session != nullptr) close_h2(c);
    c.in_flight = 0;
    c.ring_head = 0;
    c.begin = c.end = 0;
    c.timed_out = false;
}

void loop_driver::publish() noexcept {
    live_.sent.store(counts_.sent, std::memory_order_relaxed);
    live_.responses.store(counts_.responses, std::memory_order_relaxed);
    live_.errors.store(counts_.errors, std::memory_order_relaxed);
}

net::awaitable<void> loop_driver::watch() {
    // Timeouts are checked a few times per timeout, not per request: one
    // timer for the whole loop instead of one per operation.
    const auto tick = std::clamp<clock::duration>(opts_.timeout / 10, std::chrono::milliseconds(1),
                                                  std::chrono::milliseconds(50));
    while (!stopped_ && connections_running_ > 0) {
        watchdog_.expires_after(tick);
        co_await watchdog_.async_wait(net::as_tuple(net::use_awaitable));
        const auto now = clock::now();
        for (auto& c : connections_) {
            const bool waiting = c->connecting || c->in_flight > 0;
            if (!waiting || !c->lowest().is_open()) continue;
            if (!c->connecting && c->session != nullptr) {
                time_out_h2_streams(*c, now);  // a stream times out alone
                continue;
            }
            const auto since = c->connecting ? c->connect_started : c->oldest().sent;
            if (now - since >= opts_.timeout) {
                c->timed_out = true;
                error_code ignored;
                c->lowest().close(ignored);  // the pending operation fails; fail() counts it
            }
        }
    }
}

void loop_driver::ended(std::exception_ptr e, bool was_connection) {
    if (e && !error_) error_ = e;
    if (e) stop();
    // The watchdog ends once no connection runs.
    if (was_connection && --connections_running_ == 0) watchdog_.cancel();
    if (--running_ == 0 && finished_) finished_();
}

}  // namespace fanout::load::detail
