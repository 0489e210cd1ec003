#include "http/h2_connection.hpp"

#include "http/request_head.hpp"
#include "http/target.hpp"
#include "http/tls_peer.hpp"
#include "text.hpp"

#include <fanout/duration.hpp>
#include <fanout/http/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <vector>

namespace fanout::http::detail {

namespace net = boost::asio;
using boost::system::error_code;
using fanout::detail::iequals;
using clock = h2_connection::clock;

namespace {

constexpr std::size_t read_size = 64 * 1024;
constexpr std::size_t write_batch = 16 * 1024;  // h2load's back-off: write once this is ready
constexpr std::int32_t stream_window = 8 << 20;
constexpr std::int32_t connection_window = 32 << 20;

nghttp2_nv pair(std::string_view name, std::string_view value) {
    // nghttp2 copies names and values when the request is submitted.
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct h2_connection::stream {
    explicit stream(const net::any_io_executor& executor) : wake(executor) {}
    std::int32_t id = -1;
    response answer;
    std::string body;  // the request body, kept until the stream closes
    std::size_t body_sent = 0;
    std::size_t header_bytes = 0;
    bool head_done = false;
    bool done = false;
    bool retry_elsewhere = false;
    std::optional<failure> error;
    net::steady_timer wake;  // cancelled when done
    clock::time_point last_progress = clock::now();
    clock::time_point first_byte_at{};
};

// nghttp2's callbacks, as functions that see the connection's privates.
struct h2_callbacks {
    static h2_connection& self(void* user) { return *static_cast<h2_connection*>(user); }

    static h2_connection::stream* find(h2_connection& c, std::int32_t id) {
        const auto it = c.streams_.find(id);
        return it == c.streams_.end() ? nullptr : it->second.get();
    }

    static void fail(h2_connection& c, h2_connection::stream& s, failure why) {
        if (s.done) return;
        s.error = std::move(why);
        c.finish(s);
    }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        auto& c = self(user);
        if (auto* s = find(c, frame->hd.stream_id); s != nullptr && !s->head_done) {
            s->header_bytes = 0;
            s->answer.headers.clear();
        }
        return 0;
    }

    static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                         const std::uint8_t* name, std::size_t namelen, const std::uint8_t* value,
                         std::size_t valuelen, std::uint8_t, void* user) {
        auto& c = self(user);
        if (frame->hd.type != NGHTTP2_HEADERS) return 0;
        auto* s = find(c, frame->hd.stream_id);
        if (s == nullptr || s->done || s->head_done) return 0;  // trailers are not kept
        s->header_bytes += namelen + valuelen + 32;
        if (s->header_bytes > c.limits_.max_header_list_size) {
            fail(c, *s,
                 {make_error_code(errc::header_list_too_large),
                  fmt::format("waiting for the response: the header list is over the limit of {} "
                              "bytes",
                              c.limits_.max_header_list_size)});
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
            return 0;
        }
        const std::string_view n(reinterpret_cast<const char*>(name), namelen);
        const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
        if (n == ":status") {
            unsigned status = 0;
            for (char ch : v) status = status * 10 + static_cast<unsigned>(ch - '0');
            s->answer.status = status;  // nghttp2 checked three digits
        } else if (!n.empty() && n.front() != ':') {
            s->answer.headers.emplace_back(n, v);
        }
        return 0;
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
        auto& c = self(user);
        switch (frame->hd.type) {
            case NGHTTP2_SETTINGS:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && !c.settings_received_) {
                    c.settings_received_ = true;
                    c.settings_wait_.cancel();
                    c.stop_reading_when_idle();
                    c.notify(true);
                }
                return 0;
            case NGHTTP2_PING:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 && c.checking_) {
                    c.ping_acked_ = true;
                    c.ping_wait_.cancel();
                }
                return 0;
            case NGHTTP2_GOAWAY:
                c.goaway_ = true;
                c.last_stream_id_ = frame->goaway.last_stream_id;
                c.notify(true);
                return 0;
            case NGHTTP2_HEADERS:
            case NGHTTP2_DATA:
                break;
            default:
                return 0;
        }
        auto* s = find(c, frame->hd.stream_id);
        if (s == nullptr || s->done) return 0;
        s->last_progress = clock::now();
        if (frame->hd.type == NGHTTP2_HEADERS && !s->head_done) {
            if (s->answer.status >= 100 && s->answer.status < 200) {
                s->answer.status = 0;  // an interim answer: the final one follows
                s->answer.headers.clear();
                return 0;
            }
            s->head_done = true;
            s->first_byte_at = s->last_progress;
        }
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) c.finish(*s);
        return 0;
    }

    static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                             const std::uint8_t* data, std::size_t len, void* user) {
        auto& c = self(user);
        auto* s = find(c, id);
        if (s == nullptr || s->done) return 0;
        s->last_progress = clock::now();
        auto& body = s->answer.body;
        const auto limit = c.limits_.max_body_size;
        if (body.size() + len <= limit) {
            body.append(reinterpret_cast<const char*>(data), len);
            return 0;
        }
        // Over the limit: the stream is reset, the connection goes on.
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        if (c.limits_.truncate_body) {
            body.append(reinterpret_cast<const char*>(data), limit - body.size());
            s->answer.body_truncated = true;
            c.finish(*s);
            return 0;
        }
        fail(c, *s,
             {make_error_code(errc::body_too_large),
              fmt::format("reading the body: the body is over the limit of {} bytes", limit)});
        return 0;
    }

    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
        auto& c = self(user);
        const auto it = c.streams_.find(id);
        if (it == c.streams_.end()) return 0;
        auto& s = *it->second;
        if (!s.done) {
            if (code == NGHTTP2_REFUSED_STREAM || (c.goaway_ && id > c.last_stream_id_)) {
                s.retry_elsewhere = true;
                fail(c, s,
                     {make_error_code(errc::goaway),
                      code == NGHTTP2_REFUSED_STREAM
                          ? std::string("the server refused the stream (REFUSED_STREAM)")
                          : fmt::format("the server sent GOAWAY with last stream id {} before "
                                        "stream {}",
                                        c.last_stream_id_, id)});
            } else if (code != NGHTTP2_NO_ERROR) {
                fail(c, s,
                     {make_error_code(errc::stream_reset),
                      fmt::format("{}: the server reset the stream ({})",
                                  s.head_done ? "reading the body" : "waiting for the response",
                                  nghttp2_http2_strerror(code))});
            } else {
                fail(c, s,
                     {make_error_code(errc::connection_closed),
                      "the stream closed before the response ended"});
            }
        }
        c.streams_.erase(it);
        if (c.streams_.empty()) {
            c.idle_since_ = clock::now();
            c.stop_reading_when_idle();
        }
        c.notify(false);
        return 0;
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void*) {
        auto& s = *static_cast<h2_connection::stream*>(source->ptr);
        const auto n = std::min(length, s.body.size() - s.body_sent);
        std::memcpy(buf, s.body.data() + s.body_sent, n);
        s.body_sent += n;
        if (s.body_sent == s.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }
};

h2_connection::h2_connection(std::unique_ptr<socket_type> plain, std::unique_ptr<tls_stream> tls,
                             h2_limits limits)
    : plain_(std::move(plain)),
      tls_(std::move(tls)),
      limits_(std::move(limits)),
      in_(new std::uint8_t[read_size]),
      settings_wait_(lowest().get_executor()),
      ping_wait_(lowest().get_executor()) {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) throw std::bad_alloc();
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                            &h2_callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &h2_callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &h2_callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                              &h2_callbacks::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                           &h2_callbacks::on_stream_close);
    const int rv = nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) throw std::bad_alloc();
}

h2_connection::~h2_connection() {
    nghttp2_session_del(session_);
}

net::awaitable<std::optional<failure>> h2_connection::start(clock::duration limit,
                                                            std::string host) {
    const std::array<nghttp2_settings_entry, 4> settings{{
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(stream_window)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         static_cast<std::uint32_t>(std::min<std::size_t>(limits_.max_header_list_size, 1u << 30))},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
    }};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, connection_window);
    start_reading();
    pump();
    if (!settings_received_ && !dead_) {
        settings_wait_.expires_after(limit);
        co_await settings_wait_.async_wait(net::as_tuple(net::use_awaitable));
    }
    if (settings_received_ && !dead_) co_return std::nullopt;
    const auto cancelled = (co_await net::this_coro::cancellation_state).cancelled();
    // The server closed the connection or broke the protocol before (or
    // right after) its SETTINGS: that is the failure, not a timeout. Taken
    // before close(), which records a reason of its own.
    const auto died = death_;
    close();
    if (cancelled != net::cancellation_type::none) co_return failure{net::error::operation_aborted};
    if (died) co_return *died;
    co_return failure{
        make_error_code(fanout::errc::timeout),
        fmt::format("HTTP/2 SETTINGS from {} timed out after {}", host, format_duration(limit))};
}

bool h2_connection::accepts_streams() const noexcept {
    return usable() && settings_received_ && !checking_ && streams_.size() < stream_limit();
}

net::awaitable<bool> h2_connection::check_alive(clock::duration limit) {
    if (dead_) co_return false;
    auto self = shared_from_this();
    checking_ = true;
    ping_acked_ = false;
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    start_reading();
    pump();
    if (!dead_) {
        ping_wait_.expires_after(limit);
        co_await ping_wait_.async_wait(net::as_tuple(net::use_awaitable));
    }
    checking_ = false;
    const bool alive = ping_acked_ && !dead_;
    const auto cancelled = (co_await net::this_coro::cancellation_state).cancelled();
    if (!alive && cancelled == net::cancellation_type::none)
        fail_all(
            {make_error_code(errc::connection_closed),
             fmt::format("the server did not answer a PING within {}", format_duration(limit))},
            false);
    stop_reading_when_idle();
    co_return alive;
}

std::size_t h2_connection::stream_limit() const noexcept {
    const auto server =
        nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return std::max<std::size_t>(1, std::min<std::size_t>(server, limits_.max_concurrent_streams));
}

void h2_connection::close() {
    fail_all({make_error_code(errc::connection_closed), "the HTTP/2 connection was closed"}, false);
}

void h2_connection::finish(stream& s) {
    s.done = true;
    s.wake.cancel();
}

void h2_connection::fail_all(const failure& why, bool retryable_if_unanswered) {
    if (dead_) return;
    dead_ = true;
    death_ = why;
    for (auto& [id, s] : streams_) {
        if (s->done) continue;
        s->retry_elsewhere = retryable_if_unanswered && !s->head_done;
        s->error = why;
        finish(*s);
    }
    streams_.clear();
    settings_wait_.cancel();
    ping_wait_.cancel();
    error_code ignored;
    lowest().shutdown(net::socket_base::shutdown_both, ignored);
    lowest().close(ignored);
    notify(true);
}

void h2_connection::start_reading() {
    idle_stop_ = false;
    if (reading_ || dead_) return;
    reading_ = true;
    net::co_spawn(lowest().get_executor(), read_loop(shared_from_this()), net::detached);
}

void h2_connection::stop_reading_when_idle() {
    if (dead_ || !reading_ || !streams_.empty() || !settings_received_ || checking_) return;
    idle_stop_ = true;
    // A read pending now is cancelled; one about to start sees idle_stop_.
    // Not while writing: the write loop calls again when it ends.
    if (writing_ || nghttp2_session_want_write(session_) != 0) return;
    error_code ignored;
    lowest().cancel(ignored);
}

void h2_connection::pump() {
    if (writing_ || dead_) return;
    if (nghttp2_session_want_write(session_) == 0) return;
    writing_ = true;
    net::co_spawn(lowest().get_executor(), write_loop(shared_from_this()), net::detached);
}

net::awaitable<void> h2_connection::write_loop(std::shared_ptr<h2_connection> /*keep_alive*/) {
    for (;;) {
        out_.clear();
        while (out_.size() < write_batch) {
            const std::uint8_t* data = nullptr;
            const auto n = nghttp2_session_mem_send(session_, &data);
            if (n < 0) {
                writing_ = false;
                fail_all({make_error_code(errc::protocol_error),
                          fmt::format("HTTP/2: {}", nghttp2_strerror(static_cast<int>(n)))},
                         true);
                co_return;
            }
            if (n == 0) break;
            out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (out_.empty() || dead_) break;
        error_code ec;
        if (tls_) {
            auto [e, n] = co_await net::async_write(*tls_, net::buffer(out_),
                                                    net::as_tuple(net::use_awaitable));
            ec = e;
        } else {
            auto [e, n] = co_await net::async_write(*plain_, net::buffer(out_),
                                                    net::as_tuple(net::use_awaitable));
            ec = e;
        }
        if (ec) {
            writing_ = false;
            fail_all({make_error_code(errc::connection_closed),
                      fmt::format("sending on the HTTP/2 connection: {}", ec.message())},
                     true);
            co_return;
        }
    }
    writing_ = false;
    if (!dead_ && nghttp2_session_want_read(session_) == 0 &&
        nghttp2_session_want_write(session_) == 0)
        close();
    else if (idle_stop_)
        stop_reading_when_idle();
}

net::awaitable<void> h2_connection::read_loop(std::shared_ptr<h2_connection> /*keep_alive*/) {
    while (!dead_) {
        if (idle_stop_) break;
        error_code ec;
        std::size_t received = 0;
        if (tls_) {
            auto [e, n] = co_await tls_->async_read_some(net::buffer(in_.get(), read_size),
                                                         net::as_tuple(net::use_awaitable));
            ec = e;
            received = n;
        } else {
            auto [e, n] = co_await plain_->async_read_some(net::buffer(in_.get(), read_size),
                                                           net::as_tuple(net::use_awaitable));
            ec = e;
            received = n;
        }
        if (dead_) break;
        if (received > 0) {
            last_heard_ = clock::now();
            // Over TLS, the records already read from the socket are taken
            // too before anything is written (see tls_read_buffered).
            auto rv = nghttp2_session_mem_recv(session_, in_.get(), received);
            while (rv >= 0 && tls_ && !dead_ &&
                   (received = tls_read_buffered(tls_->native_handle(), in_.get(), read_size)) > 0)
                rv = nghttp2_session_mem_recv(session_, in_.get(), received);
            if (dead_) break;
            if (rv < 0) {
                // nghttp2 has queued a GOAWAY for most errors; the connection
                // is given up either way.
                fail_all({make_error_code(errc::protocol_error),
                          fmt::format("HTTP/2: {}", nghttp2_strerror(static_cast<int>(rv)))},
                         false);
                break;
            }
            pump();
        }
        if (ec == net::error::operation_aborted && !dead_) continue;  // idle, or a stream came
        if (ec) {
            const bool closed = ec == net::error::eof || ec == net::ssl::error::stream_truncated;
            fail_all({make_error_code(errc::connection_closed),
                      closed ? std::string("the server closed the HTTP/2 connection")
                             : fmt::format("reading the HTTP/2 connection: {}", ec.message())},
                     true);
            break;
        }
    }
    reading_ = false;
    idle_stop_ = false;
}

net::awaitable<h2_connection::exchange_result> h2_connection::exchange(
    const target& where, const request& req, std::optional<clock::time_point> deadline,
    timings& timing) {
    auto self = shared_from_this();
    auto s = std::make_shared<stream>(lowest().get_executor());
    s->body = req.body;

    // The request HEADERS: pseudo-headers first, then lower-case names
    // without the connection-specific ones; the framing is the stream's.
    std::string authority = where.host_header;
    std::vector<std::string> names;
    names.reserve(req.headers.size());
    std::vector<nghttp2_nv> fields;
    fields.reserve(req.headers.size() + 7);
    bool has_agent = false;
    for (const auto& [name, value] : req.headers) {
        if (iequals(name, "Host")) authority = value;
        has_agent = has_agent || iequals(name, "User-Agent");
    }
    fields.push_back(pair(":method", req.method));
    fields.push_back(pair(":scheme", where.tls ? "https" : "http"));
    fields.push_back(pair(":authority", authority));
    fields.push_back(pair(":path", where.path));
    for (const auto& [name, value] : req.headers)
        if (!h2_omitted_header(name, value)) names.push_back(h2_field_name(name));
    std::size_t next_name = 0;  // names is complete: its strings no longer move
    for (const auto& [name, value] : req.headers)
        if (!h2_omitted_header(name, value)) fields.push_back(pair(names[next_name++], value));
    if (!has_agent && !limits_.user_agent.empty())
        fields.push_back(pair("user-agent", limits_.user_agent));
    const auto length = std::to_string(req.body.size());
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT")
        fields.push_back(pair("content-length", length));

    nghttp2_data_provider provider{};
    provider.source.ptr = s.get();
    provider.read_callback = &h2_callbacks::read_body;
    const bool with_body = !req.body.empty();
    const auto id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                           with_body ? &provider : nullptr, nullptr);
    exchange_result out;
    if (id < 0) {
        out.retry_elsewhere = id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE;
        out.answer = failure{make_error_code(errc::protocol_error),
                             fmt::format("HTTP/2: {}", nghttp2_strerror(id))};
        co_return out;
    }
    s->id = id;
    streams_.emplace(id, s);
    ++started_;
    start_reading();
    const auto sent = clock::now();
    s->last_progress = sent;
    pump();

    // Waits for the end of the answer: the first-byte timeout bounds the
    // wait for the head, then each wait for more of the body; the deadline
    // bounds it all.
    const auto reset = [&] {
        if (!dead_ && s->id > 0 && !s->done) {
            s->done = true;
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
            pump();
        }
    };
    while (!s->done) {
        auto limit_at = s->last_progress + limits_.first_byte_timeout;
        const bool by_total = deadline && *deadline < limit_at;
        if (by_total) limit_at = *deadline;
        if (clock::now() >= limit_at) {
            const auto phase = s->head_done ? "reading the body" : "waiting for the response";
            std::string why = by_total && limits_.total_timeout
                                  ? fmt::format("{} ran past the total timeout of {}", phase,
                                                format_duration(*limits_.total_timeout))
                                  : fmt::format("{} timed out after {}", phase,
                                                format_duration(limits_.first_byte_timeout));
            const bool stalled =
                s->body_sent < s->body.size() &&
                (nghttp2_session_get_stream_remote_window_size(session_, s->id) <= 0 ||
                 nghttp2_session_get_remote_window_size(session_) <= 0);
            reset();
            if (stalled)
                out.answer = failure{make_error_code(errc::flow_control_stall),
                                     fmt::format("sending the request body: {}: the server's "
                                                 "flow-control window stayed shut",
                                                 why)};
            else
                out.answer = failure{make_error_code(fanout::errc::timeout), std::move(why)};
            co_return out;
        }
        s->wake.expires_at(limit_at);
        auto [ec] = co_await s->wake.async_wait(net::as_tuple(net::use_awaitable));
        if (s->done) break;
        if (ec == net::error::operation_aborted) {
            reset();
            out.answer = failure{net::error::operation_aborted};
            co_return out;
        }
    }
    if (s->error) {
        out.retry_elsewhere = s->retry_elsewhere;
        out.answer = std::move(*s->error);
        co_return out;
    }
    if (s->head_done) timing.first_byte = s->first_byte_at - sent;
    s->answer.http_version = "2";
    out.answer = std::move(s->answer);
    co_return out;
}

}  // namespace fanout::http::detail
