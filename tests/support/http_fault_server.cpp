#include "http_fault_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fanout::test {

namespace {

namespace net = boost::asio;
using net::ip::tcp;
using clock = std::chrono::steady_clock;
using boost::system::error_code;
using namespace std::chrono_literals;
using namespace std::string_view_literals;
using namespace net::experimental::awaitable_operators;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

constexpr std::size_t max_head_size = 64 * 1024;
constexpr std::size_t max_request_body = 64 * 1024 * 1024;
constexpr std::size_t write_chunk = 64 * 1024;
constexpr std::uint64_t max_huge_mb = 1024;
constexpr std::size_t partial_body = 10;        // bytes sent of a body cut short
constexpr std::size_t claimed_body = 100;       // the Content-Length of a body cut short
constexpr auto idle_close_after = 50ms;         // /idle-close
constexpr auto early_hints_lead = 20ms;         // /early-hints: the 103 comes alone
constexpr auto reset_after = 20ms;              // /reset-mid-body: the head arrives first
constexpr std::chrono::seconds drain_limit{2};  // a clean close waits this long for the peer
constexpr std::string_view cut_short = "0123456789";

// What the server counts, the stall and the /item history; shared by
// every connection.
struct counters {
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};
    std::atomic<std::size_t> max_open{0};
    std::atomic<std::size_t> requests{0};
    std::atomic<clock::rep> stall_until{0};  // a steady_clock time since its epoch
    // The /item/<N> whose first request has come, of those whose first answer
    // differs from the later ones; touched only on the server's thread.
    std::unordered_set<std::uint64_t> items_asked;

    void opened() {
        ++accepted;
        const std::size_t now_open = ++open;
        std::size_t seen = max_open.load();
        while (seen < now_open && !max_open.compare_exchange_weak(seen, now_open)) {
        }
    }
};

bool iequals(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

std::optional<std::uint64_t> to_number(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

struct request {
    std::string method;
    std::string target;
    std::vector<std::string> header_lines;  // "Name: value", as received
    std::size_t content_length = 0;
    bool chunked = false;  // a request body in chunked coding: not supported, 501
    bool close = false;    // the connection closes after the answer
    std::string body;
};

// The request line and header fields of `head` (without its final empty
// line); nothing when it is not an HTTP/1.x request head.
std::optional<request> parse_head(std::string_view head) {
    request out;
    auto next_line = [&head]() {
        const std::size_t end = std::min(head.find("\r\n"), head.size());
        const auto line = head.substr(0, end);
        head.remove_prefix(std::min(end + 2, head.size()));
        return line;
    };
    const auto request_line = next_line();
    const std::size_t first_space = request_line.find(' ');
    const std::size_t second_space = request_line.find(' ', first_space + 1);
    if (first_space == 0 || first_space == std::string_view::npos ||
        second_space == std::string_view::npos || second_space == first_space + 1)
        return std::nullopt;
    out.method = request_line.substr(0, first_space);
    out.target = request_line.substr(first_space + 1, second_space - first_space - 1);
    const auto version = request_line.substr(second_space + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;
    bool keep_alive = version == "HTTP/1.1";

    while (!head.empty()) {
        const auto line = next_line();
        const std::size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
        const auto name = line.substr(0, colon);
        if (name.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
        const auto value = trim(line.substr(colon + 1));
        if (iequals(name, "Content-Length")) {
            const auto length = to_number(value);
            if (!length || *length > max_request_body) return std::nullopt;
            out.content_length = static_cast<std::size_t>(*length);
        } else if (iequals(name, "Transfer-Encoding")) {
            out.chunked = true;
        } else if (iequals(name, "Connection")) {
            if (iequals(value, "close")) keep_alive = false;
            if (iequals(value, "keep-alive")) keep_alive = true;
        }
        out.header_lines.emplace_back(line);
    }
    out.close = !keep_alive;
    return out;
}

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

// The value of `name` in the target's query (taken as it is, not decoded).
std::optional<std::string_view> query_value(std::string_view target, std::string_view name) {
    const std::size_t question = target.find('?');
    if (question == std::string_view::npos) return std::nullopt;
    auto query = target.substr(question + 1);
    while (!query.empty()) {
        const std::size_t end = std::min(query.find('&'), query.size());
        const auto pair = query.substr(0, end);
        query.remove_prefix(std::min(end + 1, query.size()));
        const std::size_t equals = pair.find('=');
        if (pair.substr(0, equals) == name)
            return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    }
    return std::nullopt;
}

std::uint64_t query_number(std::string_view target, std::string_view name, std::uint64_t fallback) {
    const auto text = query_value(target, name);
    if (!text) return fallback;
    return to_number(*text).value_or(fallback);
}

std::string_view reason_of(unsigned status) {
    switch (status) {
        case 103:
            return "Early Hints";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

bool has_no_body(unsigned status) {
    return status == 204 || status == 304;
}

using field_list = std::vector<std::pair<std::string_view, std::string>>;

// A response head; Content-Length is left out when `content_length` is empty.
std::string head_of(unsigned status, const field_list& fields,
                    std::optional<std::size_t> content_length, bool close) {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " ";
    head.append(reason_of(status)).append("\r\n");
    for (const auto& [name, value] : fields) head.append(name).append(": ").append(value) += "\r\n";
    if (content_length)
        head.append("Content-Length: ").append(std::to_string(*content_length)) += "\r\n";
    if (close) head += "Connection: close\r\n";
    head += "\r\n";
    return head;
}

// What happens to a connection after an answer.
enum class then {
    keep,        // read the next request
    idle_close,  // read the next request, but close if none comes within 50 ms
    close,       // close cleanly
    done,        // nothing: the connection is already finished (reset, or closed by the peer)
};

// One connection: reads requests in order and answers each.
class connection {
  public:
    connection(tcp::socket socket, counters& stats) : socket_(std::move(socket)), stats_(stats) {
        stats_.opened();
    }
    ~connection() { --stats_.open; }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    net::awaitable<void> run() {
        auto after = then::keep;
        while (after == then::keep || after == then::idle_close) {
            auto next = co_await read_request(after == then::idle_close);
            if (!next) {
                after = then::close;
                break;
            }
            after = co_await answer(*next);
        }
        if (after == then::close) co_await close_cleanly();
    }

  private:
    // The next whole request, body included; nothing when the peer closed,
    // the idle limit passed, or the head was malformed (then 400 was sent).
    net::awaitable<std::optional<request>> read_request(bool idle_limit) {
        std::size_t head_end = std::string::npos;
        for (;;) {
            // Empty lines before a request line are ignored (RFC 9112, 2.2).
            while (inbox_.starts_with("\r\n")) inbox_.erase(0, 2);
            head_end = inbox_.find("\r\n\r\n");
            if (head_end != std::string::npos) break;
            if (inbox_.size() > max_head_size) {
                ++stats_.requests;
                co_await send(head_of(431, {}, 0, true));
                co_return std::nullopt;
            }
            if (!co_await read_more(idle_limit)) co_return std::nullopt;
        }
        ++stats_.requests;
        auto parsed = parse_head(std::string_view(inbox_).substr(0, head_end));
        inbox_.erase(0, head_end + 4);
        if (!parsed) {
            co_await send(head_of(400, {}, 0, true));
            co_return std::nullopt;
        }
        if (parsed->chunked) co_return parsed;  // answered 501, the body not read
        while (inbox_.size() < parsed->content_length)
            if (!co_await read_more(false)) co_return std::nullopt;
        parsed->body = inbox_.substr(0, parsed->content_length);
        inbox_.erase(0, parsed->content_length);
        co_return parsed;
    }

    // Appends what the peer sends next to the inbox; false on EOF, error or,
    // with `idle_limit`, no byte within 50 ms.
    net::awaitable<bool> read_more(bool idle_limit) {
        std::array<char, 16 * 1024> chunk;
        std::size_t received = 0;
        if (idle_limit) {
            net::steady_timer idle(socket_.get_executor(), idle_close_after);
            auto first = co_await (socket_.async_read_some(net::buffer(chunk), use_tuple) ||
                                   idle.async_wait(use_tuple));
            if (first.index() == 1) co_return false;
            const auto [ec, size] = std::get<0>(first);
            if (ec) co_return false;
            received = size;
        } else {
            const auto [ec, size] = co_await socket_.async_read_some(net::buffer(chunk), use_tuple);
            if (ec) co_return false;
            received = size;
        }
        inbox_.append(chunk.data(), received);
        co_return true;
    }

    // Writes `data` at once; a failed write throws, which ends the connection.
    net::awaitable<void> send(std::string_view data) {
        co_await net::async_write(socket_, net::buffer(data), net::use_awaitable);
    }

    // Waits while the server stalls (stall_for).
    net::awaitable<void> wait_out_stall() {
        for (;;) {
            const clock::time_point until(clock::duration(stats_.stall_until.load()));
            if (until <= clock::now()) co_return;
            net::steady_timer timer(socket_.get_executor(), until);
            co_await timer.async_wait(use_tuple);
        }
    }

    net::awaitable<void> sleep(std::chrono::milliseconds d) {
        net::steady_timer timer(socket_.get_executor(), d);
        co_await timer.async_wait(net::use_awaitable);
    }

    // Reads and drops what the peer sends until it closes (or `limit` passes).
    net::awaitable<void> drain(std::optional<clock::duration> limit) {
        std::array<char, 4096> sink;
        if (!limit) {
            for (;;) {
                const auto [ec, size] =
                    co_await socket_.async_read_some(net::buffer(sink), use_tuple);
                if (ec) co_return;
            }
        }
        net::steady_timer timer(socket_.get_executor(), *limit);
        for (;;) {
            auto got = co_await (socket_.async_read_some(net::buffer(sink), use_tuple) ||
                                 timer.async_wait(use_tuple));
            if (got.index() == 1 || std::get<0>(std::get<0>(got))) co_return;
        }
    }

    // FIN first, then wait for the peer's: closing with unread bytes in the
    // receive buffer would send RST and lose what was sent.
    net::awaitable<void> close_cleanly() {
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        co_await drain(drain_limit);
        socket_.close(ignored);
    }

    // A complete answer: head (Content-Length unless the status has no
    // body) and the body, which a HEAD does not get.
    net::awaitable<then> reply(const request& req, unsigned status, std::string_view body,
                               const field_list& fields = {}, bool close = false) {
        close = close || req.close;
        const bool bodiless = has_no_body(status);
        auto message =
            head_of(status, fields, bodiless ? std::nullopt : std::optional(body.size()), close);
        if (req.method != "HEAD" && !bodiless) message.append(body);
        co_await wait_out_stall();
        co_await send(message);
        co_return close ? then::close : then::keep;
    }

    // A body of `size` bytes of 'x', written in pieces.
    net::awaitable<then> reply_sized(const request& req, std::uint64_t size) {
        co_await wait_out_stall();
        co_await send(head_of(200, {}, static_cast<std::size_t>(size), req.close));
        if (req.method != "HEAD") {
            const std::string filler(
                static_cast<std::size_t>(std::min<std::uint64_t>(size, write_chunk)), 'x');
            for (std::uint64_t left = size; left > 0;) {
                const auto piece =
                    static_cast<std::size_t>(std::min<std::uint64_t>(left, filler.size()));
                co_await send(std::string_view(filler).substr(0, piece));
                left -= piece;
            }
        }
        co_return req.close ? then::close : then::keep;
    }

    // The head of a 100-byte body and its first 10 bytes.
    net::awaitable<void> send_cut_short() {
        co_await wait_out_stall();
        co_await send(head_of(200, {}, claimed_body, false).append(cut_short));
    }

    // /item/<N>: `fanout demo`'s numbered items, each fault set by N (see the
    // header).
    net::awaitable<then> item(const request& req, std::string_view number) {
        const auto n = to_number(number);
        if (!n || *n % 200 == 99) co_return co_await reply(req, 404, "no such item"sv);
        const bool faulty_first = *n % 50 == 7 || *n % 50 == 21;
        if (faulty_first && stats_.items_asked.insert(*n).second) {
            if (*n % 50 == 7) {  // held: the client's timeout ends it
                co_await drain(std::nullopt);
                co_return then::done;
            }
            const field_list fields{{"Retry-After", "0"}};
            co_return co_await reply(req, 503, "busy"sv, fields);
        }
        co_await sleep(std::chrono::milliseconds(*n % 4));
        const field_list fields{{"Content-Type", "text/plain"}};
        const std::string body = "item " + std::to_string(*n);
        co_return co_await reply(req, 200, body, fields);
    }

    // String literals in a co_await expression are written as string_view
    // literals: g++ 12 fails on a plain array argument to a coroutine there.
    net::awaitable<then> answer(const request& req) {
        const auto path = path_of(req.target);
        const auto& target = req.target;
        if (req.chunked)
            co_return co_await reply(req, 501, "chunked request bodies are not supported\n"sv, {},
                                     true);
        if (path == "/ok") co_return co_await reply(req, 200, "ok"sv);
        if (path.starts_with("/item/")) co_return co_await item(req, path.substr(6));
        if (path == "/echo") {
            std::string body = req.method + " " + req.target + "\n";
            for (const auto& line : req.header_lines) body.append(line) += '\n';
            body.append("\n").append(req.body);
            co_return co_await reply(req, 200, body);
        }
        if (path == "/delay") {
            const auto delay = std::chrono::milliseconds(query_number(target, "ms", 0));
            co_await sleep(delay);
            co_return co_await reply(req, 200, "ok"sv);
        }
        if (path == "/hang") {
            co_await drain(std::nullopt);
            co_return then::done;
        }
        if (path == "/hang-body") {
            co_await send_cut_short();
            co_await drain(std::nullopt);
            co_return then::done;
        }
        if (path == "/reset-mid-body") {
            co_await send_cut_short();
            co_await sleep(reset_after);
            error_code ignored;
            socket_.set_option(net::socket_base::linger(true, 0), ignored);
            socket_.close(ignored);
            co_return then::done;
        }
        if (path == "/close-mid-body") {
            co_await send_cut_short();
            co_return then::close;
        }
        if (path == "/lie-length") {
            co_await wait_out_stall();
            const auto message = head_of(200, {}, 1000, true) + "this body is shorter than it says";
            co_await send(message);
            co_return then::close;
        }
        if (path == "/too-long") {
            co_await wait_out_stall();
            const auto message = head_of(200, {}, 2, req.close) + "ok and bytes past the end";
            co_await send(message);
            co_return req.close ? then::close : then::keep;
        }
        if (path == "/early-hints") {
            co_await wait_out_stall();
            co_await send("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"sv);
            co_await sleep(early_hints_lead);
            co_return co_await reply(req, 200, "ok"sv);
        }
        if (path == "/garbage") {
            co_await wait_out_stall();
            co_await send("this is not an HTTP response\r\n\r\n"sv);
            co_return then::close;
        }
        if (path == "/huge") {
            const auto size = std::min(query_number(target, "mb", 1), max_huge_mb) * 1024 * 1024;
            co_return co_await reply_sized(req, size);
        }
        if (path == "/size") {
            const auto size = query_number(target, "bytes", 0);
            co_return co_await reply_sized(req, size);
        }
        if (path == "/loop-a" || path == "/loop-b") {
            const field_list fields{{"Location", path == "/loop-a" ? "/loop-b" : "/loop-a"}};
            co_return co_await reply(req, 302, ""sv, fields);
        }
        if (path == "/redirect-count") {
            const auto n = query_number(target, "n", 0);
            if (n == 0) co_return co_await reply(req, 200, "done"sv);
            const field_list fields{{"Location", "/redirect-count?n=" + std::to_string(n - 1)}};
            co_return co_await reply(req, 302, ""sv, fields);
        }
        if (path == "/redirect") {
            const auto status = static_cast<unsigned>(query_number(target, "status", 302));
            const field_list fields{
                {"Location", std::string(query_value(target, "to").value_or("/ok"))}};
            co_return co_await reply(req, status, ""sv, fields);
        }
        if (path == "/trickle") {
            const auto every = std::chrono::milliseconds(query_number(target, "ms", 10));
            const auto size = query_number(target, "bytes", 20);
            co_await wait_out_stall();
            const auto head = head_of(200, {}, static_cast<std::size_t>(size), req.close);
            co_await send(head);
            if (req.method != "HEAD") {
                for (std::uint64_t i = 0; i < size; ++i) {
                    co_await sleep(every);
                    co_await send("x"sv);
                }
            }
            co_return req.close ? then::close : then::keep;
        }
        if (path == "/idle-close") {
            const auto after = co_await reply(req, 200, "ok"sv);
            co_return after == then::keep ? then::idle_close : after;
        }
        if (path == "/status") {
            const auto code = query_number(target, "code", 200);
            if (code < 200 || code > 599)
                co_return co_await reply(req, 400, "code must be 200 to 599\n"sv);
            field_list fields;
            if (const auto retry_after = query_value(target, "retry_after"))
                fields.emplace_back("Retry-After", std::string(*retry_after));
            const auto status = static_cast<unsigned>(code);
            const auto body = std::string(reason_of(status)) + "\n";
            co_return co_await reply(req, status, body, fields);
        }
        if (path == "/chunked") {
            co_await wait_out_stall();
            auto message =
                head_of(200, {{"Transfer-Encoding", "chunked"}}, std::nullopt, req.close);
            if (req.method != "HEAD") message += "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
            co_await send(message);
            co_return req.close ? then::close : then::keep;
        }
        if (path == "/close") co_return co_await reply(req, 200, "ok"sv, {}, true);
        if (path == "/until-close") {
            co_await wait_out_stall();
            co_await send(
                "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body ends with the connection"sv);
            co_return then::close;
        }
        co_return co_await reply(req, 404, "not found\n"sv);
    }

    tcp::socket socket_;
    counters& stats_;
    std::string inbox_;  // received, not yet parsed: pipelined requests wait here
};

net::awaitable<void> serve(tcp::socket socket, counters& stats) {
    connection peer(std::move(socket), stats);
    try {
        co_await peer.run();
    } catch (const boost::system::system_error&) {
        // A write failed: the peer has gone. The socket closes with `peer`.
    }
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, counters& stats) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of descriptors, most likely: try again a little later.
            net::steady_timer pause(acceptor.get_executor(), 10ms);
            co_await pause.async_wait(use_tuple);
            continue;
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        net::co_spawn(acceptor.get_executor(), serve(std::move(socket), stats), net::detached);
    }
}

// Opens `acceptor` on address:port; false if that cannot be bound.
bool listen_on(tcp::acceptor& acceptor, const net::ip::address& address, std::uint16_t port) {
    const tcp::endpoint endpoint(address, port);
    error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return false;
    if (address.is_v6()) acceptor.set_option(net::ip::v6_only(true), ec);
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        acceptor.close();
        return false;
    }
    return true;
}

}  // namespace

struct http_fault_server::state {
    counters stats;  // first: the connections still open count down as the loop goes
    net::io_context io{1};
    tcp::acceptor v4{io};
    tcp::acceptor v6{io};
    std::uint16_t port = 0;
    bool has_v6 = false;
    std::thread thread;

    state() {
        const auto v4_loopback = net::ip::address_v4::loopback();
        const auto v6_loopback = net::ip::address_v6::loopback();
        // IPv6 too when the machine has ::1 (containers may not).
        bool want_v6 = false;
        {
            tcp::acceptor probe(io);
            want_v6 = listen_on(probe, v6_loopback, 0);
        }
        // A port whose ::1 twin is taken stays bound until a pair is found,
        // so the next attempt gets a different one.
        std::vector<tcp::acceptor> rejected;
        constexpr int attempts = 10;
        for (int attempt = 0; attempt < attempts && port == 0; ++attempt) {
            tcp::acceptor candidate(io);
            if (!listen_on(candidate, v4_loopback, 0))
                throw std::runtime_error("http_fault_server: cannot listen on 127.0.0.1");
            const auto candidate_port = candidate.local_endpoint().port();
            if (want_v6 && !listen_on(v6, v6_loopback, candidate_port)) {
                rejected.push_back(std::move(candidate));
                continue;
            }
            v4 = std::move(candidate);
            port = candidate_port;
        }
        if (port == 0)
            throw std::runtime_error("http_fault_server: no port free on both 127.0.0.1 and ::1");
        net::co_spawn(io, accept_loop(v4, stats), net::detached);
        has_v6 = v6.is_open();
        if (has_v6) net::co_spawn(io, accept_loop(v6, stats), net::detached);
        thread = std::thread([this] { io.run(); });
    }

    ~state() {
        io.stop();
        thread.join();
    }
};

http_fault_server::http_fault_server() : state_(std::make_unique<state>()) {}

http_fault_server::~http_fault_server() = default;

std::uint16_t http_fault_server::port() const noexcept {
    return state_->port;
}

std::string http_fault_server::url(std::string_view path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path_and_query);
}

bool http_fault_server::listens_on_ipv6() const noexcept {
    return state_->has_v6;
}

std::string http_fault_server::url_v6(std::string_view path_and_query) const {
    return "http://[::1]:" + std::to_string(port()) + std::string(path_and_query);
}

std::size_t http_fault_server::connections_accepted() const noexcept {
    return state_->stats.accepted.load();
}

std::size_t http_fault_server::open_connections() const noexcept {
    return state_->stats.open.load();
}

std::size_t http_fault_server::max_open_connections() const noexcept {
    return state_->stats.max_open.load();
}

std::size_t http_fault_server::requests_served() const noexcept {
    return state_->stats.requests.load();
}

void http_fault_server::stall_for(std::chrono::milliseconds d) {
    state_->stats.stall_until.store((clock::now() + d).time_since_epoch().count());
}

}  // namespace fanout::test
