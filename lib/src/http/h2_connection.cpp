#include "http/h2_connection.hpp"

#include "http/h2_memory.hpp"

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
#include <charconv>
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

constexpr auto never = clock::time_point::max();

}  // namespace

struct h2_connection::request_fields {
    std::vector<nghttp2_nv> list;
    std::string names;  // the lower-cased field names the list points into
};

// One request on the connection, from its submission until both nghttp2
// has closed it and its caller's stream_hold has ended (`holders` counts them);
// then it goes back to the connection's free list, its timer and buffers
// kept for the next request.
struct h2_connection::stream {
    explicit stream(const net::any_io_executor& executor) : wake(executor) {
        wake.expires_at(never);
    }
    std::int32_t id = -1;
    int holders = 0;
    std::size_t slot = 0;  // its index in active_ while nghttp2 has it open
    response answer;
    std::string body;  // the request body, kept until the stream closes
    std::size_t body_sent = 0;
    std::size_t header_bytes = 0;
    bool head_done = false;
    bool done = false;
    bool expired = false;  // the watchdog found it past its deadline
    bool retry_elsewhere = false;
    std::optional<failure> error;
    // Waited on by the caller and never expires: cancelled when done, when
    // expired, or by the exchange's cancellation.
    net::steady_timer wake;
    clock::time_point sent{};
    clock::time_point last_progress{};
    clock::time_point first_byte_at{};
    std::optional<clock::time_point> deadline;  // the request's total deadline

    void recycle() {
        id = -1;
        answer = response{};
        body.clear();
        body_sent = 0;
        header_bytes = 0;
        head_done = done = expired = retry_elsewhere = false;
        error.reset();
        deadline.reset();
    }
};

// nghttp2's callbacks, as functions that see the connection's privates.
struct h2_callbacks {
    static h2_connection& self(void* user) { return *static_cast<h2_connection*>(user); }

    static h2_connection::stream* find(h2_connection& c, std::int32_t id) {
        if (c.dead_) return nullptr;  // fail_all() let go of every stream
        return static_cast<h2_connection::stream*>(
            nghttp2_session_get_stream_user_data(c.session_, id));
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
            s->answer.headers.reserve(c.header_hint_);
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
        s->last_progress = c.now_;
        if (frame->hd.type == NGHTTP2_HEADERS && !s->head_done) {
            if (s->answer.status >= 100 && s->answer.status < 200) {
                s->answer.status = 0;  // an interim answer: the final one follows
                s->answer.headers.clear();
                return 0;
            }
            s->head_done = true;
            s->first_byte_at = s->last_progress;
            c.header_hint_ = std::max<std::size_t>(s->answer.headers.size(), 4);
        }
        if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) c.finish(*s);
        return 0;
    }

    static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                             const std::uint8_t* data, std::size_t len, void* user) {
        auto& c = self(user);
        auto* s = find(c, id);
        if (s == nullptr || s->done) return 0;
        s->last_progress = c.now_;
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
        auto* found = find(c, id);
        if (found == nullptr) return 0;
        auto& s = *found;
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
        // Out of active_ (the last one takes its place) and let go by nghttp2.
        c.active_[s.slot] = c.active_.back();
        c.active_[s.slot]->slot = s.slot;
        c.active_.pop_back();
        c.release(s);
        if (c.active_.empty()) {
            c.idle_since_ = clock::now();
            c.watch_at_ = never;
            c.watchdog_.cancel();
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
      memory_(std::make_unique<h2_memory>()),
      fields_(std::make_unique<request_fields>()),
      watchdog_(lowest().get_executor()),
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
    nghttp2_mem allocator = memory_->allocator();  // copied by nghttp2
    const int rv = nghttp2_session_client_new3(&session_, callbacks, this, nullptr, &allocator);
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
    return usable() && settings_received_ && !checking_ && active_.size() < stream_limit();
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

h2_connection::stream& h2_connection::acquire() {
    if (free_.empty()) {
        all_.push_back(std::make_unique<stream>(lowest().get_executor()));
        free_.push_back(all_.back().get());
    }
    auto& s = *free_.back();
    free_.pop_back();
    return s;
}

void h2_connection::release(stream& s) {
    if (--s.holders > 0) return;
    s.recycle();
    free_.push_back(&s);
}

clock::time_point h2_connection::deadline_of(const stream& s) const {
    const auto by_progress = s.last_progress + limits_.first_byte_timeout;
    return s.deadline && *s.deadline < by_progress ? *s.deadline : by_progress;
}

// Makes sure the watchdog fires by `at`: it is never set later than the
// earliest deadline of a stream, and deadlines only move later (with
// progress), so a stream past its deadline is found when it fires.
void h2_connection::watch(clock::time_point at) {
    if (watch_at_ <= at) return;  // armed for sooner already
    watch_at_ = at;
    watchdog_.expires_at(at);  // a wait set earlier ends as operation_aborted
    watchdog_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->on_watchdog();
    });
}

void h2_connection::on_watchdog() {
    watch_at_ = never;
    if (dead_) return;
    const auto now = clock::now();
    auto next = never;
    for (auto* s : active_) {
        if (s->done || s->expired) continue;
        const auto at = deadline_of(*s);
        if (at <= now) {
            s->expired = true;
            s->wake.cancel();
        } else {
            next = std::min(next, at);
        }
    }
    if (next != never) watch(next);
}

void h2_connection::fail_all(const failure& why, bool retryable_if_unanswered) {
    if (dead_) return;
    dead_ = true;
    death_ = why;
    for (auto* s : active_) {
        nghttp2_session_set_stream_user_data(session_, s->id, nullptr);
        if (!s->done) {
            s->retry_elsewhere = retryable_if_unanswered && !s->head_done;
            s->error = why;
            finish(*s);
        }
        release(*s);
    }
    active_.clear();
    watch_at_ = never;
    watchdog_.cancel();
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
    if (dead_ || !reading_ || !active_.empty() || !settings_received_ || checking_) return;
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
            now_ = last_heard_;
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

h2_connection::stream* h2_connection::submit(const target& where, const request& req,
                                             std::optional<clock::time_point> deadline,
                                             clock::time_point now, exchange_result& refused) {
    auto& s = acquire();
    s.holders = 1;  // the caller's; nghttp2's once submitted
    s.body = req.body;
    s.deadline = deadline;

    // The request HEADERS: pseudo-headers first, then lower-case names
    // without the connection-specific ones; the framing is the stream's.
    // The list and the lower-cased names are the connection's, reused;
    // nghttp2 copies them when the request is submitted.
    std::string_view authority = where.host_header;
    bool has_agent = false;
    std::size_t names_size = 0;
    for (const auto& [name, value] : req.headers) {
        if (iequals(name, "Host")) authority = value;
        has_agent = has_agent || iequals(name, "User-Agent");
        names_size += name.size();
    }
    auto& fields = fields_->list;
    fields.clear();
    fields.push_back(pair(":method", req.method));
    fields.push_back(pair(":scheme", where.tls ? "https" : "http"));
    fields.push_back(pair(":authority", authority));
    fields.push_back(pair(":path", where.path));
    auto& names = fields_->names;
    names.clear();
    names.reserve(names_size);  // the names below no longer move
    for (const auto& [name, value] : req.headers) {
        if (h2_omitted_header(name, value)) continue;
        const auto at = names.size();
        append_h2_field_name(names, name);
        fields.push_back(pair(std::string_view(names).substr(at, name.size()), value));
    }
    if (!has_agent && !limits_.user_agent.empty())
        fields.push_back(pair("user-agent", limits_.user_agent));
    char digits[24];
    const auto digits_end = std::to_chars(digits, digits + sizeof digits, req.body.size()).ptr;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT")
        fields.push_back(pair("content-length", std::string_view(digits, digits_end - digits)));

    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = &h2_callbacks::read_body;
    const bool with_body = !req.body.empty();
    const auto id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                           with_body ? &provider : nullptr, &s);
    if (id < 0) {
        release(s);
        refused.retry_elsewhere = id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE;
        refused.answer = failure{make_error_code(errc::protocol_error),
                                 fmt::format("HTTP/2: {}", nghttp2_strerror(id))};
        return nullptr;
    }
    s.id = id;
    ++s.holders;
    s.slot = active_.size();
    active_.push_back(&s);
    ++started_;
    start_reading();
    s.sent = now;
    s.last_progress = now;
    watch(deadline_of(s));
    pump();
    return &s;
}

// Waits for the end of the answer: the first-byte timeout bounds the wait
// for the head, then each wait for more of the body; the deadline bounds it
// all. The watchdog marks the stream expired when it is past either and
// wakes it.
net::awaitable<std::tuple<error_code>> h2_connection::wait(stream& s) {
    return s.wake.async_wait(net::as_tuple(net::use_awaitable));
}

bool h2_connection::settled(const stream& s) const noexcept {
    return s.done || s.expired;
}

h2_connection::exchange_result h2_connection::outcome(stream& s, bool cancelled, timings& timing) {
    const auto reset = [&] {
        if (!dead_ && s.id > 0 && !s.done) {
            s.done = true;
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
            pump();
        }
    };
    exchange_result out;
    if (!s.done && s.expired) {
        const bool by_total =
            s.deadline && *s.deadline < s.last_progress + limits_.first_byte_timeout;
        const auto phase = s.head_done ? "reading the body" : "waiting for the response";
        std::string why = by_total && limits_.total_timeout
                              ? fmt::format("{} ran past the total timeout of {}", phase,
                                            format_duration(*limits_.total_timeout))
                              : fmt::format("{} timed out after {}", phase,
                                            format_duration(limits_.first_byte_timeout));
        const bool stalled = s.body_sent < s.body.size() &&
                             (nghttp2_session_get_stream_remote_window_size(session_, s.id) <= 0 ||
                              nghttp2_session_get_remote_window_size(session_) <= 0);
        reset();
        if (stalled)
            out.answer = failure{make_error_code(errc::flow_control_stall),
                                 fmt::format("sending the request body: {}: the server's "
                                             "flow-control window stayed shut",
                                             why)};
        else
            out.answer = failure{make_error_code(fanout::errc::timeout), std::move(why)};
        return out;
    }
    if (!s.done || cancelled) {
        // Neither answered nor timed out: the exchange was cancelled.
        reset();
        out.answer = failure{net::error::operation_aborted};
        return out;
    }
    if (s.error) {
        out.retry_elsewhere = s.retry_elsewhere;
        out.answer = std::move(*s.error);
        return out;
    }
    if (s.head_done) timing.first_byte = s.first_byte_at - s.sent;
    s.answer.http_version = "2";
    out.answer = std::move(s.answer);
    return out;
}

}  // namespace fanout::http::detail
