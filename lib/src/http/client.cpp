#include <fanout/http/client.hpp>

#include "executor_check.hpp"
#include "http/connect.hpp"
#include "http/h2_connection.hpp"
#include "http/request_head.hpp"
#include "http/response_parser.hpp"
#include "http/target.hpp"
#include "http/tls_context.hpp"
#include "http/tls_peer.hpp"
#include "text.hpp"

#include <fanout/duration.hpp>
#include <fanout/semaphore.hpp>
#include <fanout/timeout.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fanout::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = net::ssl;
using clock = std::chrono::steady_clock;
using boost::system::error_code;
using fanout::detail::iequals;

namespace {

using socket_type = net::ip::tcp::socket;
using tls_stream = ssl::stream<socket_type>;
using deadline_type = std::optional<clock::time_point>;

// One connection to an origin, plain or TLS, with its read buffer.
struct connection {
    std::unique_ptr<socket_type> plain;
    std::unique_ptr<tls_stream> tls;
    beast::flat_buffer buffer;
    std::string head;                // the request head being written, reused
    detail::response_parser parser;  // one answer at a time per connection
    // Plain connections: the last read left nothing in the socket, so the
    // next read waits for readability first (the reactor is edge-triggered).
    bool drained = true;
    clock::time_point idle_since{};
    std::optional<std::chrono::system_clock::time_point> certificate_expiry;  // https only
    std::string peer;            // the address connected to, as endpoint_text writes it
    bool session_saved = false;  // its TLS session is the pool's to resume
    bool alpn_h2 = false;        // the TLS handshake picked h2 by ALPN
    // While an operation runs on it, the watchdog's entry: the deadline, and
    // whether the watchdog cut the operation short.
    clock::time_point deadline = clock::time_point::max();
    bool timed_out = false;
    std::size_t watched = not_watched;  // index in the client's watched list
    static constexpr std::size_t not_watched = static_cast<std::size_t>(-1);

    socket_type& lowest() { return tls ? tls->next_layer() : *plain; }

    // Closes a connection that failed: its TLS session, if any, is not
    // resumed (OpenSSL drops a session freed without a shutdown).
    void close() {
        error_code ignored;
        lowest().shutdown(net::socket_base::shutdown_both, ignored);
        lowest().close(ignored);
    }

    // Closes a connection that ended well (no longer wanted, or closed by
    // the server after a whole answer): its TLS session stays resumable.
    // No close_notify is sent; the server sees the TCP connection end.
    void close_cleanly() {
        if (tls) SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        close();
    }
};

// When the peer's certificate stops being valid; nothing when it has none
// or its notAfter cannot be read.
std::optional<std::chrono::system_clock::time_point> certificate_expiry_of(SSL* native) {
    X509* certificate = SSL_get1_peer_certificate(native);
    if (certificate == nullptr) return std::nullopt;
    std::optional<std::chrono::system_clock::time_point> expiry;
    std::tm when{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &when) == 1)
        expiry = std::chrono::system_clock::from_time_t(timegm(&when));
    X509_free(certificate);
    return expiry;
}

// How long a phase may take: its own timeout, or what is left of the total
// when that is shorter (and then a timeout is the total's, which its message
// names).
struct phase_limit {
    clock::duration limit;
    bool total = false;
};

phase_limit limit_for(std::chrono::milliseconds phase, const deadline_type& deadline) {
    if (deadline) {
        const auto left = *deadline - clock::now();
        if (left < phase) return {std::max(left, clock::duration(1)), true};
    }
    return {phase, false};
}

bool idempotent(std::string_view method) {
    static constexpr std::array<std::string_view, 6> methods{"GET",    "HEAD",    "PUT",
                                                             "DELETE", "OPTIONS", "TRACE"};
    return std::ranges::find(methods, method) != methods.end();
}

bool is_redirect(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The failure of a read or write on a connection, by what went wrong.
error_code classify(error_code ec, bool timed_out) {
    if (timed_out) return make_error_code(fanout::errc::timeout);
    if (ec == net::error::eof || ec == ssl::error::stream_truncated)
        return make_error_code(errc::connection_closed);
    return ec;
}

// A tenth of the shortest socket timeout, between 1 and 50 ms.
clock::duration watchdog_tick(const client_options& options) {
    auto shortest =
        std::min({options.connect_timeout, options.tls_timeout, options.first_byte_timeout});
    if (options.total_timeout) shortest = std::min(shortest, *options.total_timeout);
    return std::clamp<clock::duration>(shortest / 10, std::chrono::milliseconds(1),
                                       std::chrono::milliseconds(50));
}

struct exchange_result {
    result<response> answer;
    bool keep_alive = false;
    bool nothing_received = false;  // the peer closed before any byte: a stale pooled connection
};

}  // namespace

// A request waiting for its turn at an HTTP/2 stream to the origin.
struct h2_waiter {
    explicit h2_waiter(const net::any_io_executor& executor) : timer(executor) {}
    net::steady_timer timer;  // cancelled to wake it
    bool woken = false;
};

// An HTTP/2 connection of the pool, holding one of the origin's connection
// permits while it lives.
struct h2_entry {
    std::shared_ptr<detail::h2_connection> conn;
    semaphore_permit permit;
};

struct origin_pool {
    origin_pool(const net::any_io_executor& executor, std::size_t limit) : limit(executor, limit) {}
    ~origin_pool() {
        if (session != nullptr) SSL_SESSION_free(session);
    }
    semaphore limit;
    std::vector<std::unique_ptr<connection>> idle;  // the most recently used last
    SSL_SESSION* session = nullptr;                 // the last TLS session, to resume
    // HTTP/2: the open connections, and the requests waiting for a stream
    // in the order they came. Only the first of them acts (takes a stream,
    // opens a connection, checks one with a PING): it keeps its place until
    // it has a stream, then leaves and the next one looks. A request that
    // comes while others wait queues behind them, even if a stream is free.
    std::vector<h2_entry> h2;
    std::deque<h2_waiter*> h2_waiters;
    // With version::automatic on https: the server answered ALPN with
    // http/1.1 (or nothing); its requests take the HTTP/1.1 path.
    bool alpn_http1 = false;

    // Wakes the first waiter not woken yet to look again (it keeps its
    // place). Called once per stream freed, so the answers of one read wake
    // as many waiters, which look in their order (each is first when it
    // runs): the queue drains in one turn of the loop rather than one
    // waiter per turn, which let new requests queue behind it for ever.
    void wake() {
        for (auto* w : h2_waiters) {
            if (w->woken) continue;
            w->woken = true;
            w->timer.cancel();
            return;
        }
    }

    // `w` gives up its place; when it was first, the next one looks.
    void leave(h2_waiter& w) {
        if (!h2_waiters.empty() && h2_waiters.front() == &w) {
            h2_waiters.pop_front();
            if (!h2_waiters.empty() && !h2_waiters.front()->woken) wake();
            return;
        }
        std::erase(h2_waiters, &w);
    }
};

class client::state : public std::enable_shared_from_this<state> {
  public:
    state(executor_type executor, client_options options)
        : executor_(std::move(executor)),
          options_(std::move(options)),
          resolver_(executor_, options_.dns),
          watchdog_(executor_),
          tick_(watchdog_tick(options_)) {
        if (options_.connections_per_origin == 0)
            throw std::invalid_argument("http client: connections_per_origin must be at least 1");
        if (!options_.tls.ca_file.empty() && !std::ifstream(options_.tls.ca_file))
            throw std::invalid_argument("http client: cannot read CA file " + options_.tls.ca_file);
    }

    // The TLS context, made on the first https request: loading the CA store
    // takes milliseconds a plain-HTTP client need not spend.
    ssl::context& tls_context() {
        if (!tls_)
            tls_ = detail::make_tls_client_context(options_.tls.verify, options_.tls.ca_file);
        return *tls_;
    }

    ~state() {
        for (auto& [origin, pool] : pools_) {
            for (auto& c : pool->idle) c->close_cleanly();
            for (auto& e : pool->h2) {
                e.conn->on_change = nullptr;
                e.conn->close();
            }
        }
    }

    // `keep_alive` is copied into the frame when called: the state outlives
    // the request even if the client goes first.
    net::awaitable<result<response>> send(request req, std::shared_ptr<state> /*keep_alive*/) {
        FANOUT_ASSERT_ON_EXECUTOR(executor_);
        if (auto bad = req.validate()) co_return std::move(*bad);
        // What a redirected request keeps of the first: its "METHOD URL" to
        // name failures, its origin, the URLs visited. Made on the first
        // redirect only: most requests have none.
        std::string first;
        std::string first_origin;
        std::set<std::pair<std::string, std::string>> visited;
        const auto named = [&](failure f) {
            f.message = (first.empty() ? req.method + " " + req.url : first) + ": " + f.text();
            return f;
        };
        const deadline_type deadline = options_.total_timeout
                                           ? deadline_type(clock::now() + *options_.total_timeout)
                                           : std::nullopt;
        for (unsigned hops = 0;; ++hops) {
            auto where = target_of(req.url);
            if (!where) co_return named(std::move(where.error()));
            auto answer = co_await send_once(**where, req, deadline);
            if (!answer) co_return named(std::move(answer.error()));
            answer->redirects = hops;
            // The URL goes with the answer; moved, not copied, when it is the last.
            const auto location = options_.max_redirects > 0 && is_redirect(answer->status)
                                      ? answer->header("Location")
                                      : std::nullopt;
            if (!location) {
                answer->url = std::move(req.url);
                co_return std::move(answer);
            }
            answer->url = req.url;
            if (hops == 0) {
                first = req.method + " " + req.url;
                first_origin = (*where)->origin;
                visited.emplace(req.method, req.url);
            }
            if (hops >= options_.max_redirects)
                co_return named({make_error_code(errc::too_many_redirects),
                                 fmt::format("more than {} redirects", options_.max_redirects)});
            auto next = detail::resolve_location(req.url, *location);
            if (!next) co_return named(std::move(next.error()));
            // As curl -L: 303 turns any method but HEAD into GET; 301 and
            // 302 turn POST into GET; 307 and 308 keep method and body.
            const auto status = answer->status;
            if ((status == 303 && req.method != "HEAD") ||
                ((status == 301 || status == 302) && req.method == "POST")) {
                req.method = "GET";
                req.body.clear();
                std::erase_if(req.headers, [](const auto& h) {
                    return iequals(h.first, "Content-Length") || iequals(h.first, "Content-Type");
                });
            }
            req.url = std::move(*next);
            // Credentials stay with the origin they were meant for.
            if (auto moved = detail::parse_target(req.url); moved && moved->origin != first_origin)
                std::erase_if(req.headers, [](const auto& h) {
                    return iequals(h.first, "Authorization") || iequals(h.first, "Cookie");
                });
            if (!visited.emplace(req.method, req.url).second)
                co_return named({make_error_code(errc::redirect_loop),
                                 fmt::format("redirect loop: back to {}", req.url)});
        }
    }

    std::size_t connections_opened() const noexcept { return opened_; }
    std::size_t idle_connections() const noexcept {
        std::size_t n = 0;
        for (const auto& [origin, pool] : pools_) {
            n += pool->idle.size();
            for (const auto& e : pool->h2) n += e.conn->usable() && e.conn->active_streams() == 0;
        }
        return n;
    }
    const executor_type& executor() const noexcept { return executor_; }
    const client_options& options() const noexcept { return options_; }

  private:
    // Why a phase ended: "<phase> timed out after 2s", or, when what was left
    // of the total timeout was the shorter, "<phase> ran past the total
    // timeout of 5s" (the time left then is no limit anyone configured).
    std::string timed_out(std::string_view phase, const phase_limit& limit) const {
        if (limit.total && options_.total_timeout)
            return fmt::format("{} ran past the total timeout of {}", phase,
                               format_duration(*options_.total_timeout));
        return fmt::format("{} timed out after {}", phase, format_duration(limit.limit));
    }

    // Timeouts of socket operations: a connection under way is on the
    // watched list with its deadline, and one timer per client ticks while
    // the list is not empty, cancelling the socket operations of connections
    // past their deadline. No timer is set per operation (a load generator
    // sends hundreds of thousands a second); a timeout fires within one tick
    // of its deadline.
    void watch(connection& c, clock::duration limit, clock::time_point now = clock::now()) {
        c.deadline = now + limit;
        c.timed_out = false;
        if (c.watched == connection::not_watched) {
            c.watched = watched_.size();
            watched_.push_back(&c);
        }
        if (!watchdog_running_) tick();
    }

    void unwatch(connection& c) noexcept {
        if (c.watched == connection::not_watched) return;
        // Swap with the last: O(1), and no allocation per request.
        watched_[c.watched] = watched_.back();
        watched_[c.watched]->watched = c.watched;
        watched_.pop_back();
        c.watched = connection::not_watched;
    }

    struct watch_guard {
        state& owner;
        connection& conn;
        ~watch_guard() { owner.unwatch(conn); }
    };

    void tick() {
        watchdog_running_ = true;
        watchdog_.expires_after(tick_);
        watchdog_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->watched_.empty()) {
                self->watchdog_running_ = false;
                return;
            }
            const auto now = clock::now();
            for (auto* c : self->watched_) {
                if (c->timed_out || c->deadline > now) continue;
                c->timed_out = true;
                error_code ignored;
                c->lowest().cancel(ignored);
            }
            self->tick();
        });
    }

    // The last URL's target is kept: a fan-out often sends many requests to
    // one URL, and parsing it each time costs more than a comparison.
    // The target is shared, not copied: it holds four strings.
    result<std::shared_ptr<const detail::target>> target_of(const std::string& url) {
        if (last_target_ && last_url_ == url) return last_target_;
        auto parsed = detail::parse_target(url);
        if (!parsed) return std::move(parsed.error());
        last_url_ = url;
        last_target_ = std::make_shared<const detail::target>(std::move(*parsed));
        return last_target_;
    }

    origin_pool& pool_for(const std::string& origin) {
        auto& pool = pools_[origin];
        if (!pool) pool = std::make_unique<origin_pool>(executor_, options_.connections_per_origin);
        return *pool;
    }

    std::unique_ptr<connection> take_idle(origin_pool& pool) {
        const auto now = clock::now();
        while (!pool.idle.empty()) {
            auto c = std::move(pool.idle.back());
            pool.idle.pop_back();
            if (now - c->idle_since < options_.idle_timeout) return c;
            c->close_cleanly();  // idle too long: the server has likely dropped it
        }
        return nullptr;
    }

    // One request to one origin: a pooled or new connection, the exchange,
    // and one more try on a new connection when a pooled one was stale.
    // Not a coroutine itself (one frame less per request): the awaitable it
    // returns refers to `where`, `req` and `deadline`, which the caller's
    // frame holds while it awaits it.
    net::awaitable<result<response>> send_once(const detail::target& where, const request& req,
                                               const deadline_type& deadline) {
        auto& pool = pool_for(where.origin);
        const auto wanted = req.http_version.value_or(options_.http_version);
        if (where.tls
                ? wanted == version::http1_1 || (wanted == version::automatic && pool.alpn_http1)
                : wanted != version::http2_prior_knowledge)
            return send_http1(where, pool, req, deadline, nullptr, semaphore_permit{},
                              wanted == version::automatic ? alpn_both : std::string_view{},
                              timings{}, clock::now());
        return send_http2(where, pool, req, deadline, wanted);
    }

    // The ALPN protocol lists offered on TLS (RFC 7301 wire format).
    static constexpr std::string_view alpn_both{"\x02h2\x08http/1.1", 12};
    static constexpr std::string_view alpn_h2{"\x02h2", 3};

    // One request on HTTP/2: a stream on an open connection of the origin,
    // or on a new one when all are full (up to connections_per_origin), or a
    // wait for one in FIFO order (see origin_pool). A connection with no
    // stream open that has been quiet for ping_after_idle is checked with a
    // PING first. With version::automatic on https, a server that picks
    // http/1.1 sends the request there on HTTP/1.1.
    net::awaitable<result<response>> send_http2(const detail::target& where, origin_pool& pool,
                                                const request& req, const deadline_type& deadline,
                                                version wanted) {
        const auto started = clock::now();
        // The clock as last read, after the last suspension: the time the
        // request is sent, when it takes a stream at once.
        auto now = started;
        timings timing;
        for (unsigned tries = 0;; ++tries) {
            std::shared_ptr<detail::h2_connection> chosen;
            std::shared_ptr<detail::h2_connection> pinged;  // answered this request's PING
            // Made only when the request has to wait its turn (its timer
            // costs a service look-up).
            std::optional<h2_waiter> me;
            bool queued = false;
            const auto queue = [&] {
                if (!me) me.emplace(executor_);
                if (!queued) pool.h2_waiters.push_back(&*me);
                queued = true;
            };
            const auto leave = [&] {
                if (queued) pool.leave(*me);
                queued = false;
            };
            for (bool first = true;; first = false) {
                if (!first || tries > 0) now = clock::now();
                // Dropped: connections that ended, those closing (GOAWAY)
                // with no stream left, and those idle too long (the server
                // has likely dropped them). A dropped one is closed and no
                // longer tells the pool anything.
                std::erase_if(pool.h2, [&](h2_entry& e) {
                    const bool unused = e.conn->active_streams() == 0;
                    const bool drop =
                        e.conn->dead() || (unused && !e.conn->usable()) ||
                        (unused && now - e.conn->idle_since() >= options_.idle_timeout);
                    if (drop) {
                        e.conn->on_change = nullptr;
                        e.conn->close();
                    }
                    return drop;
                });
                if (pool.h2_waiters.empty() || (me && pool.h2_waiters.front() == &*me)) {
                    for (auto& e : pool.h2)
                        if (e.conn->accepts_streams()) {
                            chosen = e.conn;
                            break;
                        }
                    if (chosen && chosen != pinged && needs_ping(*chosen, now)) {
                        queue();  // holds the turn while the PING is out
                        const auto ping_limit = limit_for(options_.ping_timeout, deadline);
                        const bool alive = co_await chosen->check_alive(ping_limit.limit);
                        if (alive) pinged = chosen;
                        chosen.reset();
                        if (!alive && (co_await net::this_coro::cancellation_state).cancelled() !=
                                          net::cancellation_type::none) {
                            leave();
                            co_return failure{net::error::operation_aborted};
                        }
                        continue;  // alive: taken now; else dropped above and replaced
                    }
                    if (chosen) {
                        leave();
                        break;
                    }
                    if (where.tls && wanted == version::automatic && pool.alpn_http1) {
                        leave();
                        co_return co_await send_http1(where, pool, req, deadline, nullptr,
                                                      semaphore_permit{}, alpn_both, timings{},
                                                      clock::now());
                    }
                    if (pool.h2.empty() || pool.limit.available() > 0) {
                        queue();  // holds the turn while the connection opens
                        auto opened = co_await open_http2(where, pool, timing, deadline, wanted);
                        if (!opened || opened->http1) leave();
                        if (!opened) co_return std::move(opened.error());
                        if (opened->http1) {
                            pool.alpn_http1 = true;
                            co_return co_await send_http1(
                                where, pool, req, deadline, std::move(opened->http1),
                                std::move(opened->permit), alpn_both, timing, started);
                        }
                        continue;
                    }
                }
                queue();
                me->woken = false;
                me->timer.expires_at(clock::time_point::max());
                co_await me->timer.async_wait(net::as_tuple(net::use_awaitable));
                if (!me->woken) {
                    leave();
                    co_return failure{net::error::operation_aborted};
                }
            }
            timing.reused_connection = chosen->streams_started() > 0;
            // The exchange, waited for here (see h2_connection::submit).
            detail::h2_connection::exchange_result done;
            if (auto* stream = chosen->submit(where, req, deadline, now, done)) {
                detail::h2_connection::stream_hold held(*chosen, *stream);
                bool cancelled = false;
                while (!cancelled && !chosen->settled(*stream)) {
                    co_await chosen->wait(*stream);
                    cancelled = !chosen->settled(*stream);
                }
                done = chosen->outcome(*stream, cancelled, timing);
            }
            if (!done.answer && done.retry_elsewhere && idempotent(req.method) && tries < 2)
                continue;
            if (done.answer) {
                timing.total = clock::now() - started;
                done.answer->timing = timing;
                done.answer->certificate_expiry = chosen->certificate_expiry;
                done.answer->peer_address = chosen->peer_address;
            }
            co_return std::move(done.answer);
        }
    }

    // A connection with no stream open, that has carried some, and whose
    // server has been quiet for ping_after_idle: it may have gone (a NAT or
    // a load balancer dropping idle connections says nothing).
    bool needs_ping(const detail::h2_connection& c, clock::time_point now) const {
        return c.active_streams() == 0 && c.streams_started() > 0 &&
               now - c.last_heard() >= options_.ping_after_idle;
    }

    struct opened_http2 {
        std::unique_ptr<connection> http1;  // ALPN picked http/1.1 (version::automatic)
        semaphore_permit permit;            // the connection's, for http1
    };

    // Opens an HTTP/2 connection to the origin and adds it to the pool once
    // the server's SETTINGS came; or, when ALPN picked http/1.1 and that is
    // allowed, the HTTP/1.1 connection with its permit.
    net::awaitable<result<opened_http2>> open_http2(const detail::target& where, origin_pool& pool,
                                                    timings& timing, const deadline_type& deadline,
                                                    version wanted) {
        if (!pool.limit.try_acquire()) {
            auto [ec] = co_await pool.limit.async_acquire(net::as_tuple(net::use_awaitable));
            if (ec) co_return failure{ec};
        }
        semaphore_permit permit(pool.limit);
        const bool automatic = wanted == version::automatic;
        auto opened =
            co_await open(where, pool, timing, deadline,
                          where.tls ? (automatic ? alpn_both : alpn_h2) : std::string_view{});
        if (!opened) co_return std::move(opened.error());
        auto conn = std::move(*opened);
        if (where.tls && !conn->alpn_h2) {
            if (automatic) co_return opened_http2{std::move(conn), std::move(permit)};
            conn->close_cleanly();
            co_return failure{
                make_error_code(errc::http2_not_negotiated),
                fmt::format("TLS handshake with {}: the server did not pick h2 by ALPN",
                            where.host)};
        }
        detail::h2_limits limits{.max_body_size = options_.max_body_size,
                                 .truncate_body = options_.truncate_body,
                                 .max_header_list_size = options_.max_header_list_size,
                                 .max_concurrent_streams = options_.max_concurrent_streams,
                                 .user_agent = options_.user_agent,
                                 .first_byte_timeout = options_.first_byte_timeout,
                                 .total_timeout = options_.total_timeout};
        auto h2 = std::make_shared<detail::h2_connection>(std::move(conn->plain),
                                                          std::move(conn->tls), std::move(limits));
        h2->certificate_expiry = conn->certificate_expiry;
        h2->peer_address = std::move(conn->peer);
        const auto settings_limit = limit_for(options_.first_byte_timeout, deadline);
        auto problem = co_await h2->start(settings_limit.limit, where.host);
        if (problem) co_return std::move(*problem);
        h2->on_change = [p = &pool](bool) { p->wake(); };
        pool.h2.push_back({h2, std::move(permit)});
        co_return opened_http2{};
    }

    // One request on HTTP/1.1 (given a connection and its permit, the one
    // ALPN just settled, with the phases its opening took since `started`;
    // else a pooled or new one).
    net::awaitable<result<response>> send_http1(const detail::target& where, origin_pool& pool,
                                                const request& req, const deadline_type& deadline,
                                                std::unique_ptr<connection> given,
                                                semaphore_permit given_permit,
                                                std::string_view alpn, timings so_far,
                                                clock::time_point started) {
        if (given) {
            co_return co_await exchange_http1(where, pool, req, deadline, std::move(given),
                                              std::move(given_permit), alpn, false, so_far,
                                              started);
        }
        if (!pool.limit.try_acquire()) {
            auto [ec] = co_await pool.limit.async_acquire(net::as_tuple(net::use_awaitable));
            if (ec) co_return failure{ec};
        }
        co_return co_await exchange_http1(where, pool, req, deadline, take_idle(pool),
                                          semaphore_permit(pool.limit), alpn, true, timings{},
                                          clock::now());
    }

    net::awaitable<result<response>> exchange_http1(const detail::target& where, origin_pool& pool,
                                                    const request& req,
                                                    const deadline_type& deadline,
                                                    std::unique_ptr<connection> conn,
                                                    semaphore_permit /*held until the answer*/,
                                                    std::string_view alpn, bool from_pool,
                                                    timings timing, clock::time_point started) {
        for (bool reused = from_pool && conn != nullptr;; reused = false) {
            if (!conn) {
                auto opened = co_await open(where, pool, timing, deadline, alpn);
                if (!opened) co_return std::move(opened.error());
                conn = std::move(*opened);
            }
            // Two statements, not one conditional expression: g++ 12 mishandles
            // co_await in the arms of ?: (the result is copied bitwise).
            exchange_result done;
            if (conn->tls)
                done = co_await exchange(*conn->tls, *conn, where, req, timing, deadline);
            else
                done = co_await exchange(*conn->plain, *conn, where, req, timing, deadline);
            if (!done.answer && reused && done.nothing_received && idempotent(req.method)) {
                conn->close();
                conn.reset();
                continue;
            }
            if (done.answer && conn->tls && !conn->session_saved) save_session(*conn, pool);
            if (done.answer) {
                timing.reused_connection = reused;
                timing.total = clock::now() - started;
                done.answer->timing = timing;
                done.answer->certificate_expiry = conn->certificate_expiry;
                done.answer->http_version = "1.1";
                done.answer->peer_address = conn->peer;
            }
            if (done.answer && done.keep_alive) {
                conn->idle_since = clock::now();
                pool.idle.push_back(std::move(conn));
            } else if (done.answer) {
                conn->close_cleanly();
            } else {
                conn->close();
            }
            co_return std::move(done.answer);
        }
    }

    // Keeps the connection's TLS session for the origin's next connection to
    // resume. Taken after the first answer, not after the handshake: a TLS
    // 1.3 server sends its session ticket after the handshake, and the
    // session taken before it arrived cannot be resumed.
    static void save_session(connection& conn, origin_pool& pool) {
        conn.session_saved = true;
        SSL_SESSION* session = SSL_get1_session(conn.tls->native_handle());
        if (session == nullptr) return;
        if (SSL_SESSION_is_resumable(session) != 1) {
            SSL_SESSION_free(session);
            return;
        }
        if (pool.session != nullptr) SSL_SESSION_free(pool.session);
        pool.session = session;
    }

    // Opens a connection to the origin; on https, offering `alpn` (RFC 7301
    // wire format) when not empty.
    net::awaitable<result<std::unique_ptr<connection>>> open(const detail::target& where,
                                                             origin_pool& pool, timings& timing,
                                                             const deadline_type& deadline,
                                                             std::string_view alpn) {
        auto phase_started = clock::now();
        const auto resolve_limit = limit_for(options_.resolve_timeout, deadline);
        auto resolved = co_await with_timeout(resolver_.resolve(where.host), resolve_limit.limit);
        if (!resolved)
            co_return failure{make_error_code(fanout::errc::timeout),
                              timed_out(fmt::format("resolving {}", where.host), resolve_limit)};
        if (!*resolved) co_return std::move(resolved->error());
        timing.dns = clock::now() - phase_started;

        auto conn = std::make_unique<connection>();
        if (where.tls)
            conn->tls = std::make_unique<tls_stream>(executor_, tls_context());
        else
            conn->plain = std::make_unique<socket_type>(executor_);
        phase_started = clock::now();
        const auto connected = co_await detail::connect_first(
            conn->lowest(), **resolved, where.port, options_.connect_timeout, deadline);
        if (connected.ec) {
            const auto code = classify(connected.ec, connected.timed_out);
            const auto phase = fmt::format("connect to {}:{}", where.host, where.port);
            co_return failure{code,
                              connected.timed_out
                                  ? timed_out(phase, {connected.limit, connected.deadline_reached})
                                  : fmt::format("{}: {}", phase, code.message())};
        }
        conn->peer = detail::endpoint_text(connected.endpoint.address(), where.port);
        conn->lowest().set_option(net::ip::tcp::no_delay(true));
        if (!where.tls) conn->plain->non_blocking(true);  // read without a wasted call (exchange)
        timing.connect = clock::now() - phase_started;
        ++opened_;

        if (where.tls) {
            watch_guard watching{*this, *conn};
            phase_started = clock::now();
            auto* native = conn->tls->native_handle();
            detail::set_tls_peer(native, where.host, options_.tls.verify);
            if (pool.session != nullptr) SSL_set_session(native, pool.session);
            if (!alpn.empty())
                SSL_set_alpn_protos(native, reinterpret_cast<const unsigned char*>(alpn.data()),
                                    static_cast<unsigned>(alpn.size()));
            const auto tls_limit = limit_for(options_.tls_timeout, deadline);
            watch(*conn, tls_limit.limit);
            auto [ec] = co_await conn->tls->async_handshake(ssl::stream_base::client,
                                                            net::as_tuple(net::use_awaitable));
            if (ec) {
                if (conn->timed_out)
                    co_return failure{
                        make_error_code(fanout::errc::timeout),
                        timed_out(fmt::format("TLS handshake with {}", where.host), tls_limit)};
                if (ec == net::error::operation_aborted) co_return failure{ec};
                // A server without h2 may refuse the handshake rather than
                // pick nothing (nginx does).
                if (alpn == alpn_h2 && detail::alpn_refused(ec))
                    co_return failure{
                        make_error_code(errc::http2_not_negotiated),
                        fmt::format("TLS handshake with {}: the server refused ALPN h2",
                                    where.host)};
                co_return detail::tls_handshake_failure(native, ec, where.host,
                                                        options_.tls.verify);
            }
            conn->certificate_expiry = certificate_expiry_of(native);
            conn->alpn_h2 = detail::alpn_picked_h2(native);
            timing.tls = clock::now() - phase_started;
        }
        co_return std::move(conn);
    }

    template <class Stream>
    net::awaitable<exchange_result> exchange(Stream& stream, connection& conn,
                                             const detail::target& where, const request& req,
                                             timings& timing, const deadline_type& deadline) {
        // The request was validated (tokens, no CR, LF or NUL in values).
        std::string& head = conn.head;  // one request at a time per connection
        head.clear();
        detail::write_request_head(head, {.method = req.method,
                                          .target = where.path,
                                          .host_header = where.host_header,
                                          .headers = &req.headers,
                                          .body_size = req.body.size(),
                                          .user_agent = options_.user_agent});
        const std::array<net::const_buffer, 2> message{net::buffer(head), net::buffer(req.body)};

        exchange_result out;
        const auto fail = [&](error_code ec, const phase_limit& limit, std::string_view phase) {
            const auto code = classify(ec, conn.timed_out);
            out.answer =
                failure{code, conn.timed_out ? timed_out(phase, limit)
                                             : fmt::format("{}: {}", phase, code.message())};
            return std::move(out);
        };

        auto limit = limit_for(options_.first_byte_timeout, deadline);
        watch_guard watching{*this, conn};
        const auto sent = clock::now();
        watch(conn, limit.limit, sent);
        auto [write_ec, written] =
            co_await net::async_write(stream, message, net::as_tuple(net::use_awaitable));
        if (write_ec) {
            out.nothing_received = write_ec == net::error::broken_pipe ||
                                   write_ec == net::error::connection_reset ||
                                   write_ec == net::error::eof;
            co_return fail(write_ec, limit, "sending the request");
        }

        // The answer, read and framed by the wire layer's parser; interim
        // answers (100 Continue, 103 Early Hints) are skipped by it. The
        // first-byte timeout bounds each wait for more bytes, not the whole
        // body (only the total timeout does that).
        response answer;
        auto& parser = conn.parser;
        parser.reset(req.method == "HEAD");
        parser.keep(answer, options_.max_body_size, options_.truncate_body);
        bool head_seen = false;
        const auto phase = [&] {
            return head_seen ? "reading the body" : "waiting for the response";
        };
        for (;;) {
            if (conn.buffer.size() > 0) {
                const auto data = conn.buffer.data();
                const auto state =
                    parser.parse({static_cast<const char*>(data.data()), data.size()});
                conn.buffer.consume(parser.consumed());
                if (!head_seen && parser.head_done()) {
                    head_seen = true;
                    timing.first_byte = clock::now() - sent;
                }
                if (state == detail::response_parser::state::done) break;
                if (state == detail::response_parser::state::error) {
                    if (parser.body_too_large()) {
                        out.answer =
                            failure{make_error_code(errc::body_too_large),
                                    fmt::format("{}: the body is over the limit of {} bytes",
                                                phase(), options_.max_body_size)};
                        co_return std::move(out);
                    }
                    out.answer =
                        failure{make_error_code(errc::malformed_response),
                                fmt::format("{}: {}: {}", phase(),
                                            make_error_code(errc::malformed_response).message(),
                                            parser.error_reason())};
                    co_return std::move(out);
                }
            }
            if (head_seen) {
                // The first-byte timeout bounds the head as a whole, then
                // each wait for more of the body.
                limit = limit_for(options_.first_byte_timeout, deadline);
                watch(conn, limit.limit);
            }
            const std::size_t room = head_seen ? 64 * 1024 : 16 * 1024;
            error_code read_ec;
            std::size_t received = 0;
            if constexpr (std::is_same_v<Stream, tls_stream>) {
                auto [ec, n] = co_await stream.async_read_some(conn.buffer.prepare(room),
                                                               net::as_tuple(net::use_awaitable));
                read_ec = ec;
                received = n;
            } else {
                // An answer is never there just after its request was
                // written: wait for it, then read without blocking, rather
                // than try a read bound to fail first.
                if (conn.drained) {
                    auto [wait_ec] = co_await stream.async_wait(socket_type::wait_read,
                                                                net::as_tuple(net::use_awaitable));
                    read_ec = wait_ec;
                }
                if (!read_ec) received = stream.read_some(conn.buffer.prepare(room), read_ec);
                if (read_ec == net::error::would_block || read_ec == net::error::try_again) {
                    conn.drained = true;
                    continue;
                }
                conn.drained = !read_ec && received < room;
            }
            conn.buffer.commit(received);
            if (received > 0 && !read_ec) continue;
            const bool closed =
                read_ec == net::error::eof || read_ec == ssl::error::stream_truncated;
            if (closed && !conn.timed_out &&
                parser.finish() == detail::response_parser::state::done) {
                out.keep_alive = false;  // the body ended with the connection
                out.answer = std::move(answer);
                co_return std::move(out);
            }
            if (!read_ec) read_ec = net::error::eof;
            out.nothing_received =
                !parser.got_some() && (closed || read_ec == net::error::connection_reset);
            co_return fail(read_ec, limit, phase());
        }
        // A body cut at the limit: what was kept is the answer, and the
        // connection (with the rest of the body in it) is dropped.
        answer.body_truncated = parser.truncated();
        // Bytes past the end of the answer (a Content-Length that was too
        // small...) would be read as the next request's answer.
        out.keep_alive = parser.keep_alive() && conn.buffer.size() == 0;
        out.answer = std::move(answer);
        co_return std::move(out);
    }

    executor_type executor_;
    client_options options_;
    dns::resolver resolver_;
    std::shared_ptr<ssl::context> tls_;
    std::unordered_map<std::string, std::unique_ptr<origin_pool>> pools_;
    std::size_t opened_ = 0;
    std::vector<connection*> watched_;
    net::steady_timer watchdog_;
    clock::duration tick_;
    bool watchdog_running_ = false;
    std::string last_url_;
    std::shared_ptr<const detail::target> last_target_;
};

client::client(executor_type executor) : client(std::move(executor), client_options{}) {}

client::client(executor_type executor, client_options options)
    : state_(std::make_shared<state>(std::move(executor), std::move(options))) {}

client::~client() = default;

net::awaitable<result<response>> client::send(request req) {
    return state_->send(std::move(req), state_);
}

net::awaitable<result<response>> client::get(std::string url) {
    request req;
    req.url = std::move(url);
    return state_->send(std::move(req), state_);
}

std::size_t client::connections_opened() const noexcept {
    return state_->connections_opened();
}
std::size_t client::idle_connections() const noexcept {
    return state_->idle_connections();
}
const client::executor_type& client::get_executor() const noexcept {
    return state_->executor();
}
const client_options& client::options() const noexcept {
    return state_->options();
}

}  // namespace fanout::http
