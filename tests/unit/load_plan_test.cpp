#include "load/plan.hpp"

#include "http/target.hpp"

#include <catch2/catch.hpp>

#include <chrono>

namespace load = fanout::load;
using fanout::load::detail::make_plan;
using fanout::load::detail::serialise_request;

namespace {

fanout::http::detail::target target_of(const char* url) {
    return fanout::http::detail::parse_target(url).value();
}

}  // namespace

TEST_CASE("a request is serialised once, exactly as it goes on the wire") {
    load::options opts;
    CHECK(serialise_request(opts, target_of("http://example.test:8080/a/b?c=d")).value() ==
          "GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\n\r\n");

    opts.method = "POST";
    opts.headers = {{"Content-Type", "text/plain"}, {"X-Trace", "1"}};
    opts.body = "hello";
    CHECK(serialise_request(opts, target_of("http://127.0.0.1/")).value() ==
          "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nX-Trace: 1\r\n"
          "Content-Length: 5\r\n\r\nhello");
}

TEST_CASE("a Host header given replaces the one made") {
    load::options opts;
    opts.headers = {{"host", "other.test"}};
    opts.body = "abc";
    CHECK(serialise_request(opts, target_of("http://127.0.0.1/x")).value() ==
          "GET /x HTTP/1.1\r\nhost: other.test\r\nContent-Length: 3\r\n\r\nabc");
}

TEST_CASE("framing headers given are refused: a wrong length would desynchronise the connection") {
    for (const auto* name : {"Content-Length", "content-length", "Transfer-Encoding"}) {
        load::options opts;
        opts.headers = {{name, "99"}};
        const auto refused = serialise_request(opts, target_of("http://127.0.0.1/"));
        INFO(name);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == fanout::errc::invalid_input);
        CHECK(refused.error().text().find(name) != std::string::npos);
        CHECK(refused.error().text().find("not allowed") != std::string::npos);
    }
}

TEST_CASE("a method or header that cannot be sent is refused") {
    load::options opts;
    opts.method = "GE T";
    CHECK_FALSE(serialise_request(opts, target_of("http://127.0.0.1/")));
    opts.method = "GET";
    opts.headers = {{"Bad Name", "x"}};
    CHECK_FALSE(serialise_request(opts, target_of("http://127.0.0.1/")));
    opts.headers = {{"X", "a\nb"}};
    const auto split = serialise_request(opts, target_of("http://127.0.0.1/"));
    REQUIRE_FALSE(split);
    CHECK(split.error().code == fanout::errc::invalid_input);
}

TEST_CASE("a plan groups URLs by origin and defaults to 10 seconds") {
    load::options opts;
    opts.urls = {"http://127.0.0.1:1/a", "http://127.0.0.1:2/b", "http://127.0.0.1:1/c"};
    const auto p = make_plan(opts);
    REQUIRE(p);
    REQUIRE(p->origins.size() == 2);
    CHECK(p->origins[0].name == "http://127.0.0.1:1");
    CHECK(p->origins[0].requests.size() == 2);
    CHECK(p->origins[1].port == 2);
    CHECK(p->opts.duration == std::chrono::seconds(10));
    CHECK_FALSE(p->origins[0].requests[0].head);
    CHECK_FALSE(p->origins[0].tls);

    opts.urls = {"https://127.0.0.1/"};
    const auto tls = make_plan(opts);
    REQUIRE(tls);
    CHECK(tls->origins[0].tls);
    CHECK(tls->origins[0].port == 443);
}

TEST_CASE("a plan refuses options that cannot run") {
    const auto refused = [](auto change) {
        load::options opts;
        opts.urls = {"http://127.0.0.1/"};
        change(opts);
        const auto p = make_plan(opts);
        return !p && p.error().code == fanout::errc::invalid_input;
    };
    CHECK(refused([](load::options& o) { o.urls.clear(); }));
    CHECK(refused([](load::options& o) { o.connections = 0; }));
    CHECK(refused([](load::options& o) { o.pipeline = 0; }));
    CHECK(refused([](load::options& o) { o.requests = 0; }));
    CHECK(refused([](load::options& o) { o.rate = -1.0; }));
    CHECK(refused([](load::options& o) { o.duration = std::chrono::seconds(0); }));
    CHECK(refused([](load::options& o) { o.timeout = std::chrono::seconds(0); }));
    CHECK(refused([](load::options& o) { o.urls = {"ftp://127.0.0.1/"}; }));
}
