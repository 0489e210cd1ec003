#include "http/response_parser.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using fanout::http::detail::response_parser;
using state = response_parser::state;

namespace {

// Feeds `bytes` to a fresh parser `step` bytes at a time, as reads would
// deliver them, keeping what it did not consume; the final state and the
// bytes left over after the answer.
struct fed {
    state last = state::need_more;
    std::string rest;
    unsigned status = 0;
    bool keep_alive = false;
};

fed feed(std::string_view bytes, std::size_t step, bool head_request = false) {
    response_parser parser;
    parser.reset(head_request);
    std::string buffer;
    fed out;
    for (std::size_t at = 0; at < bytes.size();) {
        const auto n = std::min(step, bytes.size() - at);
        buffer.append(bytes.substr(at, n));
        at += n;
        out.last = parser.parse(buffer);
        buffer.erase(0, parser.consumed());
        if (out.last != state::need_more) {
            buffer += bytes.substr(at);
            break;
        }
    }
    out.rest = buffer;
    out.status = parser.status();
    out.keep_alive = parser.keep_alive();
    return out;
}

}  // namespace

TEST_CASE("an answer with a Content-Length is complete after its body, however it is split") {
    const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloNEXT";
    for (std::size_t step : {1, 2, 3, 7, 100}) {
        INFO("step " << step);
        const auto r = feed(answer, step);
        CHECK(r.last == state::done);
        CHECK(r.status == 200);
        CHECK(r.keep_alive);
        CHECK(r.rest == "NEXT");
    }
}

TEST_CASE("a chunked body with extensions and trailers is skipped to its end") {
    const std::string answer =
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (std::size_t step : {1, 4, 1000}) {
        INFO("step " << step);
        const auto r = feed(answer, step);
        CHECK(r.last == state::done);
        CHECK(r.status == 201);
        CHECK(r.rest == "NEXT");
    }
}

TEST_CASE("answers without a body end at their head") {
    CHECK(feed("HTTP/1.1 204 No Content\r\n\r\nNEXT", 3).rest == "NEXT");
    CHECK(feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nNEXT", 3).rest == "NEXT");
    const auto head = feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nNEXT", 5, true);
    CHECK(head.last == state::done);
    CHECK(head.rest == "NEXT");
}

TEST_CASE("an interim 100 Continue is skipped and the final answer parsed") {
    const auto r = feed(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
        "Content-Length: 0\r\n\r\n",
        4);
    CHECK(r.last == state::done);
    CHECK(r.status == 404);
}

TEST_CASE("Connection close and HTTP/1.0 answers do not keep the connection") {
    CHECK_FALSE(
        feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 9).keep_alive);
    CHECK_FALSE(feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 9).keep_alive);
    CHECK(feed("HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 9)
              .keep_alive);
    CHECK_FALSE(
        feed("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 9)
            .keep_alive);
}

TEST_CASE("what the parser does not understand is an error with a reason") {
    const char* bad[] = {
        "garbage that is not HTTP\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 700 Odd\r\nContent-Length: 0\r\n\r\n",
    };
    for (const char* answer : bad) {
        INFO(answer);
        response_parser parser;
        parser.reset();
        CHECK(parser.parse(answer) == state::error);
        CHECK(std::string_view(parser.error_reason()).size() > 0);
    }
}

TEST_CASE("a body with neither length nor chunks runs to the connection's close") {
    response_parser parser;
    parser.reset();
    const std::string_view head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    CHECK(parser.parse(head) == state::need_more);
    CHECK(parser.consumed() == head.size());
    CHECK(parser.delimited_by_close());
    CHECK_FALSE(parser.keep_alive());
    CHECK(parser.parse("some of the body") == state::need_more);
    CHECK(parser.consumed() == 16);
    CHECK(parser.finish() == state::done);
    CHECK(parser.status() == 200);

    response_parser cut;
    cut.reset();
    CHECK(cut.parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") == state::need_more);
    CHECK_FALSE(cut.delimited_by_close());
    CHECK(cut.finish() == state::error);
    CHECK(std::string_view(cut.error_reason()).size() > 0);
}

TEST_CASE("a head larger than the limit is an error, not a wait for ever") {
    response_parser parser;
    parser.reset();
    const std::string head =
        "HTTP/1.1 200 OK\r\nX: " + std::string(response_parser::default_max_head, 'a');
    CHECK(parser.parse(head) == state::error);
}

TEST_CASE("a parser reset after an answer parses the next one") {
    response_parser parser;
    parser.reset();
    std::string two =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 503 Busy\r\nContent-Length: "
        "0\r\n\r\n";
    REQUIRE(parser.parse(two) == state::done);
    two.erase(0, parser.consumed());
    parser.reset();
    REQUIRE(parser.parse(two) == state::done);
    CHECK(parser.status() == 503);
    CHECK(parser.consumed() == two.size());
}

TEST_CASE("another transfer coding last: the body runs to the close") {
    response_parser parser;
    parser.reset();
    CHECK(parser.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc") ==
          state::need_more);
    CHECK(parser.delimited_by_close());
    CHECK_FALSE(parser.keep_alive());
    CHECK(parser.finish() == state::done);
}

TEST_CASE("a kept answer has its reason, headers unfolded, and body") {
    response_parser parser;
    fanout::http::response answer;
    parser.reset();
    parser.keep(answer, 100, false);
    REQUIRE(parser.parse("HTTP/1.1 404 Not Here\r\nX-A: one\r\n  two\r\nX-B:\r\n"
                         "Content-Length: 3\r\n\r\nabc") == state::done);
    CHECK(answer.status == 404);
    CHECK(answer.reason == "Not Here");
    REQUIRE(answer.headers.size() == 3);
    CHECK(answer.headers[0] == std::pair<std::string, std::string>("X-A", "one two"));
    CHECK(answer.headers[1].second.empty());
    CHECK(answer.body == "abc");
}

TEST_CASE("interim answers leave nothing of theirs in a kept answer") {
    response_parser parser;
    fanout::http::response answer;
    parser.reset();
    parser.keep(answer, 100, false);
    REQUIRE(parser.parse("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == state::done);
    CHECK(answer.status == 200);
    CHECK(answer.reason == "OK");
    REQUIRE(answer.headers.size() == 1);
    CHECK(answer.headers[0].first == "Content-Length");
}

TEST_CASE("a kept body over the limit fails, or is cut there when asked") {
    for (const bool chunked : {false, true}) {
        INFO("chunked " << chunked);
        const std::string wire =
            chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n"
                      "0\r\n\r\n"
                    : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef";
        response_parser refuse;
        fanout::http::response a;
        refuse.reset();
        refuse.keep(a, 4, false);
        CHECK(refuse.parse(wire) == state::error);
        CHECK(refuse.body_too_large());

        response_parser cut;
        fanout::http::response b;
        cut.reset();
        cut.keep(b, 4, true);
        CHECK(cut.parse(wire) == state::done);
        CHECK(cut.truncated());
        CHECK_FALSE(cut.keep_alive());
        CHECK(b.body == "abcd");
    }
}

TEST_CASE("empty lines before a status line are bounded by the head limit") {
    response_parser parser(64);
    parser.reset();
    std::string lines;
    for (int i = 0; i < 40; ++i) lines += "\r\n";
    CHECK(parser.parse(lines) == state::error);
}

TEST_CASE("a connection closed before any byte is told from one cut mid-answer") {
    response_parser none;
    none.reset();
    CHECK_FALSE(none.got_some());
    CHECK(none.finish() == state::error);
    response_parser some;
    some.reset();
    CHECK(some.parse("HTTP/1.1 2") == state::need_more);
    CHECK(some.got_some());
    CHECK(some.finish() == state::error);
    CHECK(std::string_view(some.error_reason()) != std::string_view(none.error_reason()));
}

TEST_CASE("tabs anywhere in a long header value are fine, any other control byte is not") {
    const std::string value = "0123456789\tabcdefghij\tklmnopqrstuvwxyz\t\xc3\xa9";
    response_parser ok;
    ok.reset();
    CHECK(ok.parse("HTTP/1.1 200 OK\r\nX: " + value + "\r\nContent-Length: 0\r\n\r\n") ==
          state::done);
    for (const char bad : {'\0', '\x01', '\x0b', '\x1f'}) {
        for (const std::size_t at : {0, 7, 8, 17, 30}) {
            std::string broken = value;
            broken[at] = bad;
            INFO("byte " << int(bad) << " at " << at);
            response_parser parser;
            parser.reset();
            CHECK(parser.parse("HTTP/1.1 200 OK\r\nX: y" + broken +
                               "\r\nContent-Length: 0\r\n\r\n") == state::error);
        }
    }
}
