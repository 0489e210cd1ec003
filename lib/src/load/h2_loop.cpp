// The HTTP/2 side of loop_driver: per connect one nghttp2 session, fed from
// the socket by nghttp2_session_mem_recv and drained to it by
// nghttp2_session_mem_send in batches of about 16 KiB (as h2load does); -p
// streams at once, capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS.
//
// Accounting is that of HTTP/1.1 (every request once: answered, an error or
// unanswered), with these HTTP/2 cases: a stream the server resets is a
// stream_reset error, counted by its h2 error code in reset_codes; a stream
// the server did not process (above a GOAWAY's last stream id, or
// REFUSED_STREAM) is sent again on the connection's next connect, counted
// once (its latency from its new send; in open loop its corrected latency
// still from its intended start), and a goaway error when sending has
// stopped before it could be; a stream past the timeout is reset alone
// (RST_STREAM CANCEL) and is a timeout error, the connection goes on.

#include "http/tls_peer.hpp"
#include "load/loop_connection.hpp"
#include "load/loop_driver.hpp"

#include <fanout/error.hpp>
#include <fanout/http/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace fanout::load::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t write_batch = 16 * 1024;  // write once this much is ready
// At most this much is read over TLS before what is due is written.
constexpr std::size_t max_read_turn = 256 * 1024;
// Windows large enough that flow control never holds a load run back.
constexpr std::int32_t stream_window = (1 << 30) - 1;
constexpr std::int32_t connection_window = (1 << 30) - 1;

// Reads what the TLS stream can give from input already read, without
// touching the socket (see http::detail::tls_read_buffered).
std::size_t read_buffered(tls_stream& stream, std::vector<char>& buffer) {
    return http::detail::tls_read_buffered(stream.native_handle(), buffer.data(), buffer.size());
}

nghttp2_nv field(const h2_field& f) {
    // nghttp2 copies names and values when a request is submitted... but
    // these live as long as the plan, so no copy is asked for.
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(),
            f.value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

}  // namespace

// nghttp2's callbacks, as functions that see the driver's privates.
struct h2_callbacks {
    using connection = loop_driver::connection;

    static connection& self(void* user) { return *static_cast<connection*>(user); }

    static h2_stream* find(nghttp2_session* session, std::int32_t id) {
        return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session, id));
    }

    static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                         const std::uint8_t* name, std::size_t namelen, const std::uint8_t* value,
                         std::size_t valuelen, std::uint8_t, void*) {
        if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 ||
            std::memcmp(name, ":status", 7) != 0)
            return 0;
        auto* s = find(session, frame->hd.stream_id);
        if (s == nullptr || s->ended) return 0;
        unsigned status = 0;
        for (std::size_t i = 0; i < valuelen; ++i)
            status = status * 10 + static_cast<unsigned>(value[i] - '0');
        s->status = status;  // nghttp2 checked three digits
        return 0;
    }

    static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
        auto& c = self(user);
        switch (frame->hd.type) {
            case NGHTTP2_SETTINGS:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) c.settings_received = true;
                return 0;
            case NGHTTP2_GOAWAY:
                c.goaway = true;
                c.last_stream_id = frame->goaway.last_stream_id;
                return 0;
            case NGHTTP2_HEADERS:
            case NGHTTP2_DATA:
                break;
            default:
                return 0;
        }
        auto* s = find(session, frame->hd.stream_id);
        if (s == nullptr) return 0;
        if (frame->hd.type == NGHTTP2_HEADERS && s->status >= 100 && s->status < 200 &&
            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
            s->status = 0;  // an interim answer: the final one follows
            return 0;
        }
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 && s->status >= 200) s->ended = true;
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
        auto& c = self(user);
        c.driver->h2_stream_closed(c, id, code);
        return 0;
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void* user) {
        auto& s = *static_cast<h2_stream*>(source->ptr);
        const std::string& body = self(user).driver->opts_.body;
        const auto n = std::min(length, body.size() - s.body_sent);
        std::memcpy(buf, body.data() + s.body_sent, n);
        s.body_sent += n;
        if (s.body_sent == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }
};

void loop_driver::prepare_h2() {
    if (nghttp2_session_callbacks_new(&h2_callbacks_) != 0) throw std::bad_alloc();
    nghttp2_session_callbacks_set_on_header_callback(h2_callbacks_, &h2_callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2_callbacks_,
                                                         &h2_callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2_callbacks_,
                                                           &h2_callbacks::on_stream_close);
    // The fields of each request, made once: a stream submits them as they are.
    for (const auto& origin : shared_.the_plan.origins) {
        auto& per_request = h2_fields_.emplace_back();
        for (const auto& request : origin.requests) {
            auto& fields = per_request.emplace_back();
            for (const auto& f : request.h2_fields) fields.push_back(field(f));
        }
    }
}

void loop_driver::end_h2() noexcept {
    if (h2_callbacks_ != nullptr) nghttp2_session_callbacks_del(h2_callbacks_);
    h2_callbacks_ = nullptr;
}

void loop_driver::close_h2(connection& c) noexcept {
    // Deleting the session calls no callback: what was in flight has been
    // counted by the caller (close()).
    nghttp2_session_del(c.session);
    c.session = nullptr;
    c.free_streams.clear();
    for (std::size_t i = c.streams.size(); i > 0; --i) {
        c.streams[i - 1].open = false;
        c.free_streams.push_back(i - 1);
    }
    c.settings_received = false;
    c.goaway = false;
    c.last_stream_id = 0;
}

net::awaitable<error_code> loop_driver::start_h2(connection& c) {
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) throw std::bad_alloc();
    // The run's limit is -p, the server's SETTINGS cap it; nghttp2 keeps no
    // closed streams for priorities.
    nghttp2_option_set_no_closed_streams(option, 1);
    nghttp2_mem allocator = c.h2_allocations.allocator();  // copied by nghttp2
    const int rv = nghttp2_session_client_new3(&c.session, h2_callbacks_, &c, option, &allocator);
    nghttp2_option_del(option);
    if (rv != 0) throw std::bad_alloc();
    const std::array<nghttp2_settings_entry, 2> settings{{
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(stream_window)},
    }};
    nghttp2_submit_settings(c.session, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(c.session, NGHTTP2_FLAG_NONE, 0, connection_window);
    if (auto ec = co_await write_h2(c)) co_return ec;
    // The first streams wait for the server's SETTINGS, so that its
    // MAX_CONCURRENT_STREAMS caps them (the watchdog bounds the wait).
    while (!c.settings_received) {
        tcp::socket& socket = c.lowest();
        auto [ec, received] = c.tls ? co_await c.tls->async_read_some(
                                          net::buffer(c.buffer), net::as_tuple(net::use_awaitable))
                                    : co_await socket.async_read_some(
                                          net::buffer(c.buffer), net::as_tuple(net::use_awaitable));
        if (ec == net::error::eof || ec == net::ssl::error::stream_truncated)
            co_return make_error_code(http::errc::connection_closed);
        if (ec) co_return ec;
        counts_.bytes_received += received;
        if (nghttp2_session_mem_recv(
                c.session, reinterpret_cast<const std::uint8_t*>(c.buffer.data()), received) < 0)
            co_return make_error_code(http::errc::protocol_error);
        if (auto write_ec = co_await write_h2(c)) co_return write_ec;
    }
    co_return error_code{};
}

std::size_t loop_driver::h2_stream_limit(const connection& c) const noexcept {
    const auto server =
        nghttp2_session_get_remote_settings(c.session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return std::max<std::size_t>(1, std::min<std::size_t>(server, c.streams.size()));
}

void loop_driver::submit_h2(connection& c, clock::time_point now) {
    const auto& fields = h2_fields_[c.origin_index];
    const std::size_t limit = h2_stream_limit(c);
    const bool with_body = !opts_.body.empty();
    while (!c.goaway && c.streams_open() < limit) {
        h2_retry next{now, c.next_request};
        const bool retry = !c.retries.empty();
        if (retry) {
            next = c.retries.front();
            c.retries.pop_front();
        } else {
            if (c.exhausted) break;
            if (opts_.rate) {
                next.intended = intended_start(c, c.scheduled);
                if (next.intended > now) break;
            }
            if (!claim()) {
                c.exhausted = true;
                break;
            }
            ++c.scheduled;
            ++counts_.sent;
            ++interval_at(now).sent;
            c.next_request = c.next_request + 1 == fields.size() ? 0 : c.next_request + 1;
        }
        const auto slot = c.free_streams.back();
        auto& s = c.streams[slot];
        s = h2_stream{.intended = next.intended, .sent = now, .request = next.request};
        nghttp2_data_provider body{};
        body.source.ptr = &s;
        body.read_callback = &h2_callbacks::read_body;
        const auto& nv = fields[next.request];
        const auto id = nghttp2_submit_request(c.session, nullptr, nv.data(), nv.size(),
                                               with_body ? &body : nullptr, &s);
        if (id < 0) {
            // Stream ids used up (about a billion streams): the request goes
            // on the next connect.
            c.retries.push_front(next);
            c.goaway = true;
            break;
        }
        c.free_streams.pop_back();
        s.id = id;
        s.open = true;
        ++c.in_flight;
    }
}

void loop_driver::h2_stream_closed(connection& c, std::int32_t stream_id, std::uint32_t code) {
    auto* s = h2_callbacks::find(c.session, stream_id);
    if (s == nullptr || !s->open) return;
    s->open = false;
    c.free_streams.push_back(static_cast<std::size_t>(s - c.streams.data()));
    // After a stop nothing more is counted: close() counts what was in flight.
    if (s->timed_out || stopping()) return;
    --c.in_flight;
    const auto now = clock::now();
    if (s->ended) {
        if (s->status >= status_counts_.size()) {
            ++counts_.malformed_reasons["status code over 599"];
            count_errors(make_error_code(http::errc::malformed_response), 1);
            return;
        }
        count_answer(now, {s->intended, s->sent}, s->status);
        return;
    }
    if (code == NGHTTP2_REFUSED_STREAM || (c.goaway && stream_id > c.last_stream_id)) {
        // Not processed by the server: safe to send again.
        if (sending_over())
            count_errors(make_error_code(http::errc::goaway), 1);
        else
            c.retries.push_back({s->intended, s->request});
        return;
    }
    ++counts_.reset_codes[nghttp2_http2_strerror(code)];
    count_errors(make_error_code(http::errc::stream_reset), 1);
}

void loop_driver::time_out_h2_streams(connection& c, clock::time_point now) {
    bool reset = false;
    for (auto& s : c.streams) {
        if (!s.open || s.timed_out || now - s.sent < opts_.timeout) continue;
        s.timed_out = true;
        --c.in_flight;
        // A request that timed out took at least this long.
        record_latency(now, {s.intended, s.sent});
        count_errors(make_error_code(errc::timeout), 1);
        nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
        reset = true;
    }
    if (reset && c.waiting_to_read) {
        // The connection's loop writes the RST_STREAM frames.
        c.due = true;
        error_code ignored;
        c.lowest().cancel(ignored);
    }
}

net::awaitable<error_code> loop_driver::write_h2(connection& c) {
    for (;;) {
        c.out.clear();
        while (c.out.size() < write_batch) {
            const std::uint8_t* data = nullptr;
            const auto n = nghttp2_session_mem_send(c.session, &data);
            if (n < 0) co_return make_error_code(http::errc::protocol_error);
            if (n == 0) break;
            c.out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (c.out.empty()) co_return error_code{};
        error_code ec;
        std::size_t written = 0;
        if (c.tls) {
            auto [tls_ec, n] = co_await net::async_write(*c.tls, net::buffer(c.out),
                                                         net::as_tuple(net::use_awaitable));
            ec = tls_ec;
            written = n;
        } else {
            // At once when the socket takes it all (the usual case), else
            // the rest when it can.
            written = c.socket.write_some(net::buffer(c.out), ec);
            if (ec == net::error::would_block || ec == net::error::try_again) {
                ec = {};
                written = 0;
            }
            if (!ec && written < c.out.size()) {
                auto [rest_ec, n] = co_await net::async_write(
                    c.socket, net::buffer(c.out.data() + written, c.out.size() - written),
                    net::as_tuple(net::use_awaitable));
                ec = rest_ec;
                written += n;
            }
        }
        counts_.bytes_sent += written;
        if (ec) co_return ec;
    }
}

net::awaitable<error_code> loop_driver::read_h2(connection& c, bool wake_when_due, bool wait) {
    // Reads what has come and feeds it to nghttp2, waiting for the socket
    // to be readable first when nothing is there (the reactor is
    // edge-triggered). Over TLS it reads without blocking until the socket
    // has nothing more (or max_read_turn is read), as h2load does: the
    // answers of a batch of streams are all taken before anything is
    // written, so that one write carries the streams that replace them,
    // and the server gets them in one segment too.
    std::size_t turn = 0;
    for (;;) {
        error_code ec;
        std::size_t received = 0;
        if (c.tls && (received = read_buffered(*c.tls, c.buffer)) > 0) {
            // Decrypted from what was already read: no system call.
        } else {
            if (c.drained) {
                if (turn > 0 || !wait) co_return error_code{};
                if (wake_when_due) wake_when_due_during_read(c);
                c.waiting_to_read = true;
                auto [wait_ec] = co_await c.lowest().async_wait(tcp::socket::wait_read,
                                                                net::as_tuple(net::use_awaitable));
                c.waiting_to_read = false;
                if (wake_when_due) c.timer.cancel();
                if (wait_ec) co_return wait_ec;
                c.drained = false;
            }
            // The socket is non-blocking (connect): a read with nothing
            // there says would_block, and a TLS stream keeps its state.
            received = c.tls ? c.tls->read_some(net::buffer(c.buffer), ec)
                             : c.socket.read_some(net::buffer(c.buffer), ec);
            if (ec == net::error::would_block || ec == net::error::try_again) {
                c.drained = true;
                continue;
            }
            if (!c.tls) c.drained = !ec && received < c.buffer.size();
        }
        if (ec == net::error::eof || ec == net::ssl::error::stream_truncated)
            co_return make_error_code(http::errc::connection_closed);
        if (ec) co_return ec;
        if (stopping()) co_return error_code{};
        counts_.bytes_received += received;
        if (nghttp2_session_mem_recv(
                c.session, reinterpret_cast<const std::uint8_t*>(c.buffer.data()), received) < 0)
            co_return make_error_code(http::errc::protocol_error);
        turn += received;
        if (c.tls && turn < max_read_turn) continue;
        co_return error_code{};
    }
}

net::awaitable<void> loop_driver::run_h2_connection(connection& c) {
    const bool open_loop = opts_.rate.has_value();
    while (!stopping()) {
        if (draining_ && c.in_flight == 0) break;
        if (!c.lowest().is_open() && !co_await connect(c)) {
            if (sending_over() || (c.exhausted && c.retries.empty())) break;
            c.timer.expires_after(reconnect_pause);
            co_await c.timer.async_wait(net::as_tuple(net::use_awaitable));
            continue;
        }
        // After a GOAWAY (or with stream ids used up) the connection ends
        // with its last stream; the next connect takes what is to be sent again.
        if (c.goaway && c.in_flight == 0) {
            close(c);
            continue;
        }
        if (!draining_) submit_h2(c, clock::now());
        if (auto ec = co_await write_h2(c)) {
            fail(c, ec);
            continue;
        }
        if (c.in_flight == 0) {
            if (c.goaway) continue;
            if ((c.exhausted && c.retries.empty()) || draining_) break;
            if (open_loop && c.retries.empty()) {
                c.timer.expires_at(intended_start(c, c.scheduled));
                co_await c.timer.async_wait(net::as_tuple(net::use_awaitable));
            }
            continue;
        }
        // Open loop with a stream free: the next request's intended start
        // cuts the wait short, so it is sent on time.
        const bool wake_when_due = open_loop && c.streams_open() < h2_stream_limit(c) &&
                                   !c.exhausted && !draining_ && !c.goaway;
        const auto in_flight_before = c.in_flight;
        auto ec = co_await read_h2(c, wake_when_due);
        // Closed loop over TLS: a read that answered few streams (under a
        // quarter of -p) goes once through the reactor before anything is
        // written (an expired timer), then takes what has come meanwhile,
        // so that those answers' streams leave in the same write. Left
        // alone, the loop settles where each write carries two or three
        // streams and each answer costs a read of its own; h2load, whose
        // writes wait for the next turn of its event loop, sends 32.
        if (!ec && c.tls && !open_loop && !stopping() && c.in_flight > 0 &&
            in_flight_before - c.in_flight < c.streams.size() / 4) {
            c.timer.expires_at(clock::time_point::min());
            co_await c.timer.async_wait(net::as_tuple(net::use_awaitable));
            // A stop meanwhile has closed the connection (and its session).
            if (!stopping() && c.lowest().is_open()) {
                c.drained = false;
                ec = co_await read_h2(c, false, /*wait=*/false);
            }
        }
        if (c.due && ec == net::error::operation_aborted && c.lowest().is_open()) {
            c.due = false;
            continue;  // submit what has come due, write what is to be written
        }
        if (ec) {
            fail(c, ec);
            continue;
        }
        publish();
    }
    // Requests the server did not process and that could not be sent again.
    if (!c.retries.empty()) {
        if (stopping())
            counts_.unanswered += c.retries.size();
        else
            count_errors(make_error_code(http::errc::goaway), c.retries.size());
        c.retries.clear();
    }
    close(c);
    publish();
}

}  // namespace fanout::load::detail
