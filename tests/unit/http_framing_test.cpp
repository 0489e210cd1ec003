// The framing table: bytes a server sends, and what must be read of them
// (an answer with its status and body, a malformed answer, or an answer cut
// short by the close). Each case runs through the wire layer's parser (bytes
// whole, one at a time, and in odd reads; keeping the answer, as the client
// does, and skipping it, as the load driver does), then through the HTTP
// client and the load driver against a server that sends exactly those bytes.
// The reference is RFC 9112; where it allows a choice, the choice is curl's
// (see lib/src/http/response_parser.hpp).
#include "http/response_parser.hpp"

#include "test_loop.hpp"

#include <fanout/http/client.hpp>
#include <fanout/load/run.hpp>
#include <fanout/runtime.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_view_literals;
namespace net = boost::asio;
namespace http = fanout::http;
using http::detail::response_parser;
using state = response_parser::state;

namespace {

enum class verdict { answer, malformed, cut_short };

struct framing_case {
    const char* name;
    std::string_view wire;
    verdict expect;
    unsigned status = 0;
    std::string_view body = {};
    bool server_closes = false;  // after the bytes; else the connection stays open
    bool head = false;           // the answer to a HEAD request
};

const std::vector<framing_case>& cases() {
    static const std::vector<framing_case> table = {
        // Answers.
        {"Content-Length 0, a value after a tab",
         "HTTP/1.1 200 OK\r\nHeader1: Value1\r\nHeader2:\t Value2\r\nContent-Length: 0\r\n\r\n"sv,
         verdict::answer, 200},
        {"Content-Length with spaces around it",
         "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\nContent-Length:  5  \r\n\r\nhello"sv,
         verdict::answer, 301, "hello"},
        {"Content-Length with tabs around it",
         "HTTP/1.1 200 OK\r\nContent-Length:\t2\t\r\n\r\nok"sv, verdict::answer, 200, "ok"},
        {"two equal Content-Lengths",
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"sv, verdict::answer,
         200, "ok"},
        {"a header that only starts like Content-Length",
         "HTTP/1.1 200 OK\r\nContent-Length-X: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\nOK\r\n0\r\n\r\n"sv,
         verdict::answer, 200, "OK"},
        {"chunks with extensions",
         "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n"
         "5;ilovew3;somuchlove=aretheseparametersfor\r\nhello\r\n6;blahblah;blah\r\n world\r\n"
         "0\r\n\r\n"sv,
         verdict::answer, 200, "hello world"},
        {"chunk extensions with quoted values",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ilovew3=\"I love; extensions\";somuchlove=\"aretheseparametersfor\";blah;foo=bar\r\n"
         "hello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n"sv,
         verdict::answer, 200, "hello world"},
        {"a chunk extension with whitespace around ; and =",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ; a = \"b\\\"c\"\r\nhello\r\n"
         "0\r\n\r\n"sv,
         verdict::answer, 200, "hello"},
        {"upper-case chunk sizes and trailers",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n"
         "Trailer: x\r\nOther: y\r\n\r\n"sv,
         verdict::answer, 200, "0123456789"},
        {"Transfer-Encoding chunked wins over Content-Length",
         "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\nok\r\n0\r\n\r\n"sv,
         verdict::answer, 200, "ok"},
        {"neither length nor chunks: the body runs to the close",
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world"sv, verdict::answer, 200,
         "hello world", true},
        {"Connection: close without a length",
         "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<xml/>\n"sv, verdict::answer, 200, "<xml/>\n",
         true},
        {"HTTP/1.0 keep-alive without a length still runs to the close",
         "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nHTTP/1.0 200 OK"sv, verdict::answer, 200,
         "HTTP/1.0 200 OK", true},
        {"an HTTP/1.1 answer that looks like two runs to the close",
         "HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK"sv, verdict::answer, 200, "HTTP/1.1 200 OK", true},
        {"chunked before another coding: the body runs to the close",
         "HTTP/1.1 200 OK\r\nAccept: */*\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld"sv,
         verdict::answer, 200, "World", true},
        {"two Transfer-Encodings, chunked not the last",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
         "World"sv,
         verdict::answer, 200, "World", true},
        {"chunkedchunked is not chunked",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedchunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"sv,
         verdict::answer, 200, "2\r\nOK\r\n0\r\n\r\n", true},
        {"a status line without a reason phrase or its space",
         "HTTP/1.1 301\r\nContent-Length: 0\r\n\r\n"sv, verdict::answer, 301},
        {"a status line without a reason phrase, body to the close", "HTTP/1.1 301\r\n\r\n"sv,
         verdict::answer, 301, "", true},
        {"an empty reason phrase after the space", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"sv,
         verdict::answer, 200},
        {"a reason phrase after two spaces", "HTTP/1.1 200  OK\r\nContent-Length: 0\r\n\r\n"sv,
         verdict::answer, 200},
        {"a reason phrase that is not ASCII",
         "HTTP/1.1 500 Ori\xc3\xabntatieprobleem\r\nContent-Length: 0\r\n\r\n"sv, verdict::answer,
         500},
        {"an empty line before the status line",
         "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"sv, verdict::answer, 200},
        {"100 Continue, an empty line, then the answer",
         "HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"sv,
         verdict::answer, 200, "ok"},
        {"103 Early Hints with headers, then the answer",
         "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
         "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx"sv,
         verdict::answer, 404, "x"},
        {"204 has no body", "HTTP/1.1 204 No content\r\n\r\n"sv, verdict::answer, 204},
        {"304 has no body whatever its length",
         "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"sv, verdict::answer, 304},
        {"a HEAD answer has no body whatever its length",
         "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"sv, verdict::answer, 200, "", false, true},
        {"header names with $, _ and .",
         "HTTP/1.1 200 OK\r\nX-$Prototype-Version: 1.6\r\nDCLK_imp: v7;x;1\r\n.et-Cookie: a=b\r\n"
         "Content-Length: 0\r\n\r\n"sv,
         verdict::answer, 200},
        {"an empty header value",
         "HTTP/1.0 301 Moved Permanently\r\nPragma: \r\nLocation: /\r\nContent-Length: 0\r\n"
         "Connection: keep-alive\r\n\r\n"sv,
         verdict::answer, 301},
        {"an obsolete line fold is joined",
         "HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\n\tc\r\nContent-Length: 2\r\n\r\nok"sv,
         verdict::answer, 200, "ok"},
        {"Proxy-Connection: close is not Connection",
         "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nProxy-Connection: close\r\n\r\nhello world"sv,
         verdict::answer, 200, "hello world"},
        {"Upgrade on a 200 is an ordinary header",
         "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 4\r\n\r\nbody"sv,
         verdict::answer, 200, "body"},

        // Malformed: each known without waiting for more bytes or the close.
        {"bare LF line ends",
         "HTTP/1.1 200 OK\nContent-Type: text/html\nConnection: close\n\nthese headers"sv,
         verdict::malformed},
        {"only LFs and no body", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"sv, verdict::malformed},
        {"a bare LF in the headers", "HTTP/1.1 200 OK\r\nFoo: 1\nContent-Length: 0\r\n\r\n"sv,
         verdict::malformed},
        {"headers separated by a CR", "HTTP/1.1 200 OK\r\nFoo: 1\rBar: 2\r\n\r\n"sv,
         verdict::malformed},
        {"whitespace right after the status line", "HTTP/1.1 200 OK\r\n Host: foo\r\n"sv,
         verdict::malformed},
        {"a space in a header name",
         "HTTP/1.1 200 OK\r\nServer: IIS\r\nen-US Content-Type: text/xml\r\nContent-Length: 0\r\n"
         "\r\n"sv,
         verdict::malformed},
        {"a space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"sv,
         verdict::malformed},
        {"a header line without a colon",
         "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n"sv, verdict::malformed},
        {"a NUL in a header value", "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 0\r\n\r\n"sv,
         verdict::malformed},
        {"trailing spaces after a chunk size",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n25  \r\n"
         "This is the data in the first chunk\r\n\r\n0\r\n\r\n"sv,
         verdict::malformed},
        {"a chunk size followed by text without ;",
         "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n2 erfrferferf\r\naa\r\n0 rrrr\r\n"
         "\r\n"sv,
         verdict::malformed},
        {"a chunk extension with nothing after ;",
         "HTTP/1.1 200 OK\r\nTransfer-encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n"sv,
         verdict::malformed},
        {"a chunk extension with an unbalanced quote",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;ilovew3=\"abc\";somuchlove=\"def; ghi\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n"
         "\r\n"sv,
         verdict::malformed},
        {"a chunk size that is not hex",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"sv, verdict::malformed},
        {"a chunk not followed by CRLF",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY"sv, verdict::malformed},
        {"a chunk size line ending in a bare LF",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n"sv,
         verdict::malformed},
        {"an empty Transfer-Encoding with Content-Length",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello"sv,
         verdict::malformed},
        {"chunked applied twice",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"sv,
         verdict::malformed},
        {"two different Content-Lengths",
         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok"sv,
         verdict::malformed},
        {"a Content-Length that is not a number",
         "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\nok"sv, verdict::malformed},
        {"a Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"sv,
         verdict::malformed},
        {"an RTSP status line", "RTSP/1.1 200 OK\r\n\r\n"sv, verdict::malformed},
        {"an ICE status line", "ICE/1.1 200 OK\r\n\r\n"sv, verdict::malformed},
        {"HTTP/0.9", "HTTP/0.9 200 OK\r\n\r\n"sv, verdict::malformed},
        {"HTTP/2 in an HTTP/1 status line", "HTTP/2 200 OK\r\n\r\n"sv, verdict::malformed},
        {"HTTPER", "HTTPER/1.1 200 OK\r\n\r\n"sv, verdict::malformed},
        {"HTP", "HTP/1.1 200 OK\r\n\r\n"sv, verdict::malformed},
        {"an extra digit in the major version", "HTTP/01.1 200 OK\r\n\r\n"sv, verdict::malformed},
        {"an extra digit in the minor version", "HTTP/1.01 200 OK\r\n\r\n"sv, verdict::malformed},
        {"HTTP/5.6", "HTTP/5.6 200 OK\r\n\r\n"sv, verdict::malformed},
        {"a tab after the version", "HTTP/1.1\t200 OK\r\n\r\n"sv, verdict::malformed},
        {"a CR, then a tab after the version", "\rHTTP/1.1\t200 OK\r\n\r\n"sv, verdict::malformed},
        {"two spaces before the status code", "HTTP/1.1  200 OK\r\n\r\n"sv, verdict::malformed},
        {"a one-digit status code", "HTTP/1.1 2 OK\r\n\r\n"sv, verdict::malformed},
        {"a status code over 599", "HTTP/1.1 700 Odd\r\nContent-Length: 0\r\n\r\n"sv,
         verdict::malformed},
        {"a protocol switch nobody asked for",
         "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nproto"sv,
         verdict::malformed},
        {"bytes that are not HTTP, with no line end", "garbage that is not HTTP"sv,
         verdict::malformed},

        // Cut short: known at the close.
        {"a body shorter than its Content-Length",
         "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"sv, verdict::cut_short, 0, "", true},
        {"a chunked body without its last chunk",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"sv,
         verdict::cut_short, 0, "", true},
        {"a head without its end", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"sv, verdict::cut_short,
         0, "", true},
    };
    return table;
}

struct parsed {
    state last = state::need_more;
    bool needed_the_close = false;
    unsigned status = 0;
    std::string body;
    const char* reason = "";
};

// Feeds `c.wire` `step` bytes at a time (0: all at once) as reads would,
// keeping what was not consumed; then the close when the server closes.
parsed feed(const framing_case& c, std::size_t step, bool keep) {
    response_parser parser;
    http::response answer;
    parser.reset(c.head);
    if (keep) parser.keep(answer, 1 << 20, false);
    std::string buffer;
    parsed out;
    const auto wire = c.wire;
    for (std::size_t at = 0; at < wire.size() && out.last == state::need_more;) {
        const auto n = step == 0 ? wire.size() : std::min(step, wire.size() - at);
        buffer.append(wire.substr(at, n));
        at += n;
        out.last = parser.parse(buffer);
        buffer.erase(0, parser.consumed());
    }
    if (out.last == state::need_more && c.server_closes) {
        out.needed_the_close = true;
        out.last = parser.finish();
    }
    out.status = parser.status();
    out.body = answer.body;
    out.reason = parser.error_reason();
    return out;
}

// A server that answers each request with the bytes of the case its path
// names ("/3" is case 3), then closes or keeps the connection, as the case
// says. Its own thread and io_context; stops with its destructor.
class canned_server {
  public:
    canned_server() : acceptor_(io_, {net::ip::address_v4::loopback(), 0}) {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~canned_server() {
        io_.stop();
        thread_.join();
    }
    std::string url(std::size_t index) const {
        return fmt::format("http://127.0.0.1:{}/{}", acceptor_.local_endpoint().port(), index);
    }

  private:
    struct session : std::enable_shared_from_this<session> {
        explicit session(net::ip::tcp::socket s) : socket(std::move(s)) {}
        net::ip::tcp::socket socket;
        net::streambuf in;
        void read() {
            net::async_read_until(
                socket, in, "\r\n\r\n",
                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                    if (ec) return;
                    const std::string head(static_cast<const char*>(self->in.data().data()), n);
                    self->in.consume(n);
                    const auto slash = head.find('/');
                    const auto index = std::stoul(head.substr(slash + 1));
                    const auto& c = cases().at(index);
                    net::async_write(self->socket, net::buffer(c.wire.data(), c.wire.size()),
                                     [self, closes = c.server_closes](boost::system::error_code ec,
                                                                      std::size_t) {
                                         if (ec) return;
                                         if (closes) {
                                             self->socket.shutdown(net::socket_base::shutdown_send,
                                                                   ec);
                                             self->drain();
                                         } else {
                                             self->read();
                                         }
                                     });
                });
        }
        // After a close of its side: reads until the client closes.
        void drain() {
            socket.async_read_some(
                net::buffer(sink),
                [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                    if (!ec) self->drain();
                });
        }
        char sink[512];
    };

    void accept() {
        acceptor_.async_accept([this](boost::system::error_code ec, net::ip::tcp::socket socket) {
            if (ec) return;
            std::make_shared<session>(std::move(socket))->read();
            accept();
        });
    }

    net::io_context io_;
    net::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

std::string describe(const framing_case& c) {
    std::string wire;
    for (const char ch : c.wire) {
        if (ch == '\r')
            wire += "\\r";
        else if (ch == '\n')
            wire += "\\n";
        else if (static_cast<unsigned char>(ch) < 0x20)
            wire += fmt::format("\\x{:02x}", static_cast<unsigned char>(ch));
        else
            wire += ch;
    }
    return std::string(c.name) + ": " + wire;
}

}  // namespace

TEST_CASE("framing: the parser reads each case of the table, however the bytes arrive") {
    for (const auto& c : cases()) {
        for (const bool keep : {true, false}) {
            for (const std::size_t step : {0, 1, 2, 7}) {
                INFO(describe(c) << " | keep " << keep << " | step " << step);
                const auto r = feed(c, step, keep);
                switch (c.expect) {
                    case verdict::answer:
                        CHECK(r.last == state::done);
                        CHECK(r.status == c.status);
                        if (keep) CHECK(r.body == c.body);
                        // Only a body delimited by the close waits for it.
                        CHECK(r.needed_the_close == (c.server_closes && !c.head));
                        break;
                    case verdict::malformed:
                        CHECK(r.last == state::error);
                        CHECK_FALSE(r.needed_the_close);
                        CHECK(std::string_view(r.reason).size() > 0);
                        break;
                    case verdict::cut_short:
                        CHECK(r.last == state::error);
                        CHECK(r.needed_the_close);
                        break;
                }
            }
        }
    }
}

TEST_CASE("framing: the HTTP client reads each case of the table from a server") {
    canned_server server;
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        INFO(describe(c));
        net::io_context io;
        http::client_options options;
        options.first_byte_timeout = 10s;  // longer than any verdict should take
        options.max_redirects = 0;
        http::client client(io.get_executor(), options);
        http::request req;
        req.url = server.url(i);
        if (c.head) req.method = "HEAD";
        const auto got = fanout::test::run_bounded(io, client.send(req), 30s);
        switch (c.expect) {
            case verdict::answer:
                REQUIRE(got);
                CHECK(got->status == c.status);
                CHECK(got->body == c.body);
                break;
            case verdict::malformed:
                REQUIRE_FALSE(got);
                CHECK(got.error().code == http::errc::malformed_response);
                break;
            case verdict::cut_short:
                REQUIRE_FALSE(got);
                CHECK(got.error().code == http::errc::connection_closed);
                break;
        }
    }
}

TEST_CASE("framing: the load driver reads each case of the table from a server") {
    canned_server server;
    for (std::size_t i = 0; i < cases().size(); ++i) {
        const auto& c = cases()[i];
        INFO(describe(c));
        fanout::load::options opts;
        opts.urls = {server.url(i)};
        opts.requests = 1;
        opts.connections = 1;
        opts.threads = 1;
        opts.timeout = 10s;  // longer than any verdict should take
        opts.duration = 30s;
        if (c.head) opts.method = "HEAD";
        fanout::runtime rt(fanout::runtime_options{.loop_threads = 1});
        const auto r = rt.run(fanout::load::run(rt, std::move(opts)));
        REQUIRE(r);
        CHECK(r->sent == 1);
        switch (c.expect) {
            case verdict::answer:
                CHECK(r->responses == 1);
                CHECK(r->errors == 0);
                CHECK(r->status_counts.count(c.status) == 1);
                break;
            case verdict::malformed:
                CHECK(r->responses == 0);
                CHECK(r->errors_by_kind.count("malformed_response") == 1);
                break;
            case verdict::cut_short:
                CHECK(r->responses == 0);
                CHECK(r->errors_by_kind.count("connection_closed") == 1);
                break;
        }
    }
}
