#include <fanout/http/client.hpp>

#include "dns_responder.hpp"
#include "http_fault_server.hpp"
#include "silent_listener.hpp"
#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace http = fanout::http;
using fanout::test::http_fault_server;
using fanout::test::silent_listener;
using net::ip::tcp;
using namespace std::chrono_literals;

namespace {

http::client_options quick_options() {
    http::client_options options;
    options.connect_timeout = 2s;
    options.first_byte_timeout = 2s;
    return options;
}

// Sends one request on a fresh loop with its own client.
fanout::result<http::response> send_once(http::request req,
                                         http::client_options options = quick_options()) {
    net::io_context io;
    http::client client(io.get_executor(), options);
    return fanout::test::run_bounded(io, client.send(std::move(req)));
}

std::string kind_of(const fanout::result<http::response>& r) {
    return r ? std::string("ok") : std::string(r.error().kind());
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a GET returns status, headers, body and timings") {
    http_fault_server server;
    auto got = send_once({.url = server.url("/ok")});
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(got->body == "ok");
    CHECK(got->header("content-length") == "2");
    CHECK(got->url == server.url("/ok"));
    CHECK(got->timing.total >= got->timing.first_byte);
    CHECK_FALSE(got->timing.reused_connection);
}

TEST_CASE("method, headers and body are sent as given") {
    http_fault_server server;
    auto got = send_once({.method = "POST",
                          .url = server.url("/echo?x=1"),
                          .headers = {{"X-Test", "yes"}, {"Content-Type", "text/plain"}},
                          .body = "payload"});
    REQUIRE(got);
    CHECK(got->body.find("POST /echo?x=1\n") == 0);
    CHECK(got->body.find("X-Test: yes") != std::string::npos);
    CHECK(got->body.find("Content-Length: 7") != std::string::npos);
    CHECK(got->body.ends_with("payload"));
}

TEST_CASE("a header value with CR or LF is refused before anything is sent") {
    http_fault_server server;
    auto got = send_once({.url = server.url("/ok"), .headers = {{"X-Bad", "a\r\nInjected: 1"}}});
    REQUIRE_FALSE(got);
    CHECK(got.error().code == http::errc::invalid_request);
    CHECK(got.error().text().find("X-Bad") != std::string::npos);
    CHECK(server.connections_accepted() == 0);
}

TEST_CASE("a URL that is not http or https fails as invalid_url naming it") {
    for (const char* url : {"ftp://example.test/", "not a url", "http://"}) {
        INFO(url);
        auto got = send_once({.url = url});
        REQUIRE_FALSE(got);
        CHECK(got.error().code == http::errc::invalid_url);
        CHECK(got.error().text().find(url) != std::string::npos);
    }
}

TEST_CASE("keep-alive connections are reused") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto three = [&]() -> net::awaitable<std::vector<bool>> {
        std::vector<bool> reused;
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.get(server.url("/ok"));
            reused.push_back(r && r->timing.reused_connection);
        }
        co_return reused;
    };
    auto reused = fanout::test::run_bounded(io, three());
    CHECK(reused == std::vector<bool>{false, true, true});
    CHECK(server.connections_accepted() == 1);
    CHECK(client.connections_opened() == 1);
}

TEST_CASE("the per-origin limit is never exceeded and waiting requests all complete") {
    http_fault_server server;
    net::io_context io;
    auto options = quick_options();
    options.connections_per_origin = 4;
    http::client client(io.get_executor(), options);
    std::vector<int> items(40);
    auto results = fanout::test::run_bounded(
        io, fanout::gather(items, [&](int) { return client.get(server.url("/delay?ms=20")); },
                           {.limit = 40}));
    for (const auto& r : results) CHECK(r.ok());
    CHECK(server.max_open_connections() <= 4);
    CHECK(server.connections_accepted() == 4);
}

TEST_CASE("every fault ends as its own error kind within its timeout, and the pool stays healthy") {
    http_fault_server server;
    net::io_context io;
    auto options = quick_options();
    options.first_byte_timeout = 300ms;
    options.max_body_size = 1024 * 1024;
    http::client client(io.get_executor(), options);

    struct expected {
        const char* path;
        const char* kind;
    };
    const std::vector<expected> cases{
        {"/hang", "timeout"},
        {"/hang-body", "timeout"},
        {"/reset-mid-body", "connection_reset"},
        {"/close-mid-body", "connection_closed"},
        {"/lie-length", "connection_closed"},
        {"/garbage", "malformed_response"},
        {"/huge?mb=8", "body_too_large"},
        {"/loop-a", "redirect_loop"},
        {"/redirect-count?n=20", "too_many_redirects"},
    };
    for (const auto& c : cases) {
        INFO(c.path);
        io.restart();
        auto got = fanout::test::run_bounded(io, client.get(server.url(c.path)), 10s);
        REQUIRE_FALSE(got);
        CHECK(kind_of(got) == c.kind);
        CHECK(got.error().text().find(server.url(c.path)) != std::string::npos);
        // The next request on the same client succeeds.
        io.restart();
        auto after = fanout::test::run_bounded(io, client.get(server.url("/ok")), 10s);
        CHECK(kind_of(after) == "ok");
    }
}

TEST_CASE("a refused connection is connection_refused") {
    std::string url;
    {
        http_fault_server gone;
        url = gone.url("/ok");
    }
    auto got = send_once({.url = url});
    REQUIRE_FALSE(got);
    CHECK(kind_of(got) == "connection_refused");
}

TEST_CASE("a trickling body is cut by the total timeout") {
    http_fault_server server;
    auto options = quick_options();
    options.total_timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    auto got = send_once({.url = server.url("/trickle?ms=100")}, options);
    REQUIRE_FALSE(got);
    CHECK(kind_of(got) == "timeout");
    CHECK(got.error().code == fanout::errc::timeout);
    CHECK(std::chrono::steady_clock::now() - started >= 300ms);
}

TEST_CASE("redirects are followed with curl's method rules") {
    http_fault_server server;
    auto chain = send_once({.url = server.url("/redirect-count?n=3")});
    REQUIRE(chain);
    CHECK(chain->status == 200);
    CHECK(chain->body == "done");
    CHECK(chain->redirects == 3);

    auto post_303 = send_once(
        {.method = "POST", .url = server.url("/redirect?status=303&to=/echo"), .body = "x"});
    REQUIRE(post_303);
    CHECK(post_303->body.find("GET /echo") == 0);

    auto post_307 = send_once(
        {.method = "POST", .url = server.url("/redirect?status=307&to=/echo"), .body = "kept"});
    REQUIRE(post_307);
    CHECK(post_307->body.find("POST /echo") == 0);
    CHECK(post_307->body.ends_with("kept"));

    auto options = quick_options();
    options.max_redirects = 0;
    auto not_followed = send_once({.url = server.url("/redirect?status=302&to=/ok")}, options);
    REQUIRE(not_followed);
    CHECK(not_followed->status == 302);
}

TEST_CASE("a pooled connection the server closed is replaced without an error") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto twice = [&]() -> net::awaitable<fanout::result<http::response>> {
        auto first = co_await client.get(server.url("/idle-close"));
        if (!first) co_return first;
        co_await fanout::test::sleep_for(200ms);  // the server closes it after 50 ms idle
        co_return co_await client.get(server.url("/ok"));
    };
    auto second = fanout::test::run_bounded(io, twice());
    REQUIRE(second);
    CHECK(second->status == 200);
    CHECK(server.connections_accepted() == 2);
}

TEST_CASE("idle connections older than the idle timeout are not reused") {
    http_fault_server server;
    net::io_context io;
    auto options = quick_options();
    options.idle_timeout = 50ms;
    http::client client(io.get_executor(), options);
    auto twice = [&]() -> net::awaitable<bool> {
        auto first = co_await client.get(server.url("/ok"));
        co_await fanout::test::sleep_for(100ms);
        auto second = co_await client.get(server.url("/ok"));
        co_return first&& second && !second->timing.reused_connection;
    };
    CHECK(fanout::test::run_bounded(io, twice()));
    CHECK(client.connections_opened() == 2);
}

TEST_CASE("429 with Retry-After becomes a rate_limited failure with the hint") {
    http_fault_server server;
    auto got =
        http::expect_success(send_once({.url = server.url("/status?code=429&retry_after=7")}));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == fanout::errc::rate_limited);
    REQUIRE(got.error().retry_after);
    CHECK(*got.error().retry_after == 7s);

    auto unavailable =
        http::expect_success(send_once({.url = server.url("/status?code=503&retry_after=2")}));
    REQUIRE_FALSE(unavailable);
    CHECK(std::string(unavailable.error().kind()) == "http_status");
    CHECK(unavailable.error().retry_after == std::chrono::milliseconds(2000));
    CHECK(http::expect_success(send_once({.url = server.url("/ok")})));
}

TEST_CASE("a cancelled request closes its connection and the client goes on") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    std::vector<int> one(1);
    auto results = fanout::test::run_bounded(
        io, fanout::gather(one, [&](int) { return client.get(server.url("/hang")); },
                           {.limit = 1, .per_attempt_timeout = 100ms}));
    CHECK(results.at(0).error().code == fanout::errc::timeout);
    CHECK(client.idle_connections() == 0);
    io.restart();
    auto after = fanout::test::run_bounded(io, client.get(server.url("/ok")));
    CHECK(after);
}

TEST_CASE("a chunked body is read whole") {
    http_fault_server server;
    auto got = send_once({.url = server.url("/chunked")});
    REQUIRE(got);
    CHECK(got->body == "hello world");
}

TEST_CASE("requests beyond the per-origin limit wait and start in FIFO order") {
    http_fault_server server;
    net::io_context io;
    auto options = quick_options();
    options.connections_per_origin = 1;
    http::client client(io.get_executor(), options);
    std::vector<int> items(12);
    std::iota(items.begin(), items.end(), 0);
    // The first holds the only connection while the others queue up behind it.
    auto fetch = [&](int i) {
        return client.get(server.url(i == 0 ? "/delay?ms=50" : "/echo?i=" + std::to_string(i)));
    };
    std::vector<std::size_t> finished;
    auto record = [&](fanout::outcome<http::response>&& out) {
        CHECK(out.ok());
        finished.push_back(out.index);
    };
    fanout::test::run_bounded(io,
                              fanout::gather_each(items, fetch, record, {.limit = items.size()}));
    std::vector<std::size_t> in_order(items.size());
    std::iota(in_order.begin(), in_order.end(), 0);
    CHECK(finished == in_order);
    CHECK(server.connections_accepted() == 1);
    CHECK(server.max_open_connections() == 1);
}

TEST_CASE("a URL with an IPv6 literal reaches the server on ::1") {
    http_fault_server server;
    if (!server.listens_on_ipv6()) {
        WARN("no IPv6 loopback on this machine: the IPv6 request is not tested");
        return;
    }
    auto got = send_once({.url = server.url_v6("/echo")});
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(contains(got->body, "Host: [::1]:" + std::to_string(server.port())));
    CHECK(got->url == server.url_v6("/echo"));
}

TEST_CASE("when the first address of a name refuses, the next one is tried") {
    http_fault_server server;  // on 127.0.0.1: nothing listens on 127.0.0.2
    fanout::test::dns_responder names;
    names.add(fanout::test::dns_a("two.fanout.test", "127.0.0.2"));
    names.add(fanout::test::dns_a("two.fanout.test", "127.0.0.1"));
    names.add(fanout::test::dns_a("refusing.fanout.test", "127.0.0.2"));
    auto options = quick_options();
    options.dns.servers = {{"127.0.0.1", names.port()}};
    options.dns.use_hosts_file = false;
    const auto port = std::to_string(server.port());

    auto refused = send_once({.url = "http://refusing.fanout.test:" + port + "/ok"}, options);
    REQUIRE_FALSE(refused);
    CHECK(kind_of(refused) == "connection_refused");
    CHECK(contains(refused.error().text(), "refusing.fanout.test:" + port));

    auto got = send_once({.url = "http://two.fanout.test:" + port + "/echo"}, options);
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(contains(got->body, "Host: two.fanout.test:" + port));
    CHECK(server.connections_accepted() == 1);
}

TEST_CASE("a body at the size limit passes, one byte over fails, and the pool stays healthy") {
    http_fault_server server;
    net::io_context io;
    auto options = quick_options();
    options.max_body_size = 100'000;
    http::client client(io.get_executor(), options);

    auto at_limit = fanout::test::run_bounded(io, client.get(server.url("/size?bytes=100000")));
    REQUIRE(at_limit);
    CHECK(at_limit->body.size() == 100'000);

    io.restart();
    auto over = fanout::test::run_bounded(io, client.get(server.url("/size?bytes=100001")));
    REQUIRE_FALSE(over);
    CHECK(over.error().code == http::errc::body_too_large);
    CHECK(contains(over.error().text(), server.url("/size?bytes=100001")));

    // A chunked body has no length to check up front: it is cut as it grows.
    options.max_body_size = 10;
    auto chunked = send_once({.url = server.url("/chunked")}, options);
    REQUIRE_FALSE(chunked);
    CHECK(chunked.error().code == http::errc::body_too_large);

    io.restart();
    auto after = fanout::test::run_bounded(io, client.get(server.url("/ok")));
    REQUIRE(after);
    CHECK(after->body == "ok");
    CHECK(client.idle_connections() == 1);
}

TEST_CASE("a HEAD answer and a 204 have no body, and their connection is reused") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto three = [&]() -> net::awaitable<std::vector<fanout::result<http::response>>> {
        std::vector<fanout::result<http::response>> got;
        http::request head{.method = "HEAD", .url = server.url("/size?bytes=5000")};
        got.push_back(co_await client.send(std::move(head)));
        got.push_back(co_await client.get(server.url("/status?code=204")));
        got.push_back(co_await client.get(server.url("/ok")));
        co_return got;
    };
    auto got = fanout::test::run_bounded(io, three());
    REQUIRE(got.size() == 3);
    REQUIRE(got[0]);
    CHECK(got[0]->status == 200);
    CHECK(got[0]->header("Content-Length") == "5000");
    CHECK(got[0]->body.empty());
    REQUIRE(got[1]);
    CHECK(got[1]->status == 204);
    CHECK(got[1]->body.empty());
    REQUIRE(got[2]);
    CHECK(got[2]->body == "ok");
    CHECK(got[2]->timing.reused_connection);
    CHECK(server.connections_accepted() == 1);
}

namespace {

struct timed_failure {
    fanout::result<http::response> result;
    std::chrono::steady_clock::duration elapsed;
};

timed_failure send_timed(const std::string& url, const http::client_options& options) {
    const auto started = std::chrono::steady_clock::now();
    auto got = send_once({.url = url}, options);
    return {std::move(got), std::chrono::steady_clock::now() - started};
}

}  // namespace

TEST_CASE("every phase timeout is a timeout naming its phase, its limit and the request") {
    http_fault_server server;
    auto options = quick_options();
    options.resolve_timeout = 200ms;
    options.connect_timeout = 200ms;
    options.tls_timeout = 200ms;
    options.first_byte_timeout = 200ms;

    struct expected {
        std::string url;
        const char* kind;
        const char* phase;
    };
    fanout::test::dns_responder names;
    names.set_default_rule({.behaviour = fanout::test::dns_behaviour::drop});
    auto resolving = options;
    resolving.dns.servers = {{"127.0.0.1", names.port()}};
    resolving.dns.use_hosts_file = false;
    {
        const auto got = send_timed("http://slow.fanout.test:1/ok", resolving);
        REQUIRE_FALSE(got.result);
        CHECK(kind_of(got.result) == "timeout");
        CHECK(got.result.error().code == fanout::errc::timeout);
        CHECK(contains(got.result.error().text(),
                       "GET http://slow.fanout.test:1/ok: resolving "
                       "slow.fanout.test timed out after 200ms"));
        CHECK(got.elapsed >= 200ms);
    }

    silent_listener silent;  // the TLS handshake gets no answer
    const std::vector<expected> cases{
        {"https://127.0.0.1:" + std::to_string(silent.port()) + "/ok", "timeout",
         "TLS handshake with 127.0.0.1 timed out after 200ms"},
        {server.url("/hang"), "timeout", "waiting for the response timed out after 200ms"},
        {server.url("/hang-body"), "timeout", "reading the body timed out after 200ms"},
    };
    for (const auto& c : cases) {
        INFO(c.url);
        const auto got = send_timed(c.url, options);
        REQUIRE_FALSE(got.result);
        CHECK(kind_of(got.result) == c.kind);
        CHECK(got.result.error().code == fanout::errc::timeout);
        CHECK(contains(got.result.error().text(), "GET " + c.url + ": " + c.phase));
        CHECK(got.elapsed >= 200ms);
    }

    auto total = options;
    total.total_timeout = 300ms;
    {
        const auto url = server.url("/trickle?ms=100");
        const auto got = send_timed(url, total);
        REQUIRE_FALSE(got.result);
        CHECK(kind_of(got.result) == "timeout");
        CHECK(contains(got.result.error().text(),
                       "GET " + url + ": reading the body ran past the total timeout of 300ms"));
        CHECK(got.elapsed >= 300ms);
    }

    silent_listener full;
    if (!full.fill_backlog()) {
        WARN("a connect to a full accept queue completes here: the connect timeout is not tested");
        return;
    }
    const auto url = "http://127.0.0.1:" + std::to_string(full.port()) + "/ok";
    const auto got = send_timed(url, options);
    REQUIRE_FALSE(got.result);
    CHECK(kind_of(got.result) == "timeout");
    CHECK(contains(got.result.error().text(),
                   "GET " + url + ": connect to 127.0.0.1:" + std::to_string(full.port()) +
                       " timed out after 200ms"));
    CHECK(got.elapsed >= 200ms);
}

TEST_CASE("a body that keeps coming is not cut by the first-byte timeout") {
    http_fault_server server;
    auto options = quick_options();
    options.first_byte_timeout = 400ms;
    const auto started = std::chrono::steady_clock::now();
    // 20 bytes, one every 40 ms: 800 ms in all, never 400 ms without a byte.
    auto got = send_once({.url = server.url("/trickle?ms=40&bytes=20")}, options);
    REQUIRE(got);
    CHECK(got->body == std::string(20, 'x'));
    CHECK(std::chrono::steady_clock::now() - started >= 800ms);
}

TEST_CASE("an interim 103 answer is skipped for the final one, whose connection is reused") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto twice = [&]() -> net::awaitable<std::vector<fanout::result<http::response>>> {
        std::vector<fanout::result<http::response>> got;
        got.push_back(co_await client.get(server.url("/early-hints")));
        got.push_back(co_await client.get(server.url("/ok")));
        co_return got;
    };
    auto got = fanout::test::run_bounded(io, twice());
    REQUIRE(got.size() == 2);
    REQUIRE(got[0]);
    CHECK(got[0]->status == 200);
    CHECK(got[0]->body == "ok");
    REQUIRE(got[1]);
    CHECK(got[1]->body == "ok");
    CHECK(got[1]->timing.reused_connection);
    CHECK(server.connections_accepted() == 1);
}

TEST_CASE("a connection with bytes left after its answer is not reused") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto twice = [&]() -> net::awaitable<std::vector<fanout::result<http::response>>> {
        std::vector<fanout::result<http::response>> got;
        got.push_back(co_await client.get(server.url("/too-long")));
        got.push_back(co_await client.get(server.url("/ok")));
        co_return got;
    };
    auto got = fanout::test::run_bounded(io, twice());
    REQUIRE(got.size() == 2);
    REQUIRE(got[0]);
    CHECK(got[0]->body == "ok");
    REQUIRE(got[1]);
    CHECK(got[1]->status == 200);
    CHECK(got[1]->body == "ok");
    CHECK_FALSE(got[1]->timing.reused_connection);
    CHECK(server.connections_accepted() == 2);
}

TEST_CASE("an answer with Connection: close is not pooled, and the next request opens anew") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto twice = [&]() -> net::awaitable<std::vector<fanout::result<http::response>>> {
        std::vector<fanout::result<http::response>> got;
        got.push_back(co_await client.get(server.url("/close")));
        got.push_back(co_await client.get(server.url("/ok")));
        co_return got;
    };
    auto got = fanout::test::run_bounded(io, twice());
    REQUIRE(got.size() == 2);
    REQUIRE(got[0]);
    CHECK(got[0]->header("Connection") == "close");
    REQUIRE(got[1]);
    CHECK_FALSE(got[1]->timing.reused_connection);
    CHECK(client.connections_opened() == 2);
    CHECK(server.connections_accepted() == 2);
}

TEST_CASE("a redirect to a port past 65535 fails as invalid_url naming the port, sending nothing") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    // 124251 wraps to 58715 in a 16-bit port: it must not be reached.
    auto got = fanout::test::run_bounded(
        io, client.get(server.url("/redirect?status=302&to=http://127.0.0.1:124251/ok")), 10s);
    REQUIRE_FALSE(got);
    CHECK(kind_of(got) == "invalid_url");
    CHECK(contains(got.error().text(), "port 124251 is out of range"));
    CHECK(server.requests_served() == 1);
}

TEST_CASE("a malformed answer's failure names the rule it broke") {
    http_fault_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    auto got = fanout::test::run_bounded(io, client.get(server.url("/garbage")), 10s);
    REQUIRE_FALSE(got);
    CHECK(kind_of(got) == "malformed_response");
    // "...: malformed HTTP response: bad version" (Beast's name for the rule).
    CHECK(contains(got.error().text(), "malformed HTTP response: "));
    CHECK(got.error().text().size() > got.error().text().find("malformed HTTP response: ") + 25);
}

TEST_CASE("with truncate_body a body past the limit is cut there and its connection dropped") {
    http_fault_server server;
    net::io_context io;
    auto options = quick_options();
    options.max_body_size = 4;
    options.truncate_body = true;
    http::client client(io.get_executor(), options);
    for (const char* path : {"/size?bytes=100000", "/chunked"}) {
        INFO(path);
        io.restart();
        auto got = fanout::test::run_bounded(io, client.get(server.url(path)), 10s);
        REQUIRE(got);
        CHECK(got->status == 200);
        CHECK(got->body.size() == 4);
        CHECK(got->body_truncated);
    }
    CHECK(client.idle_connections() == 0);
    CHECK(client.connections_opened() == 2);
    // A body at the limit is whole, and its connection kept.
    io.restart();
    auto whole = fanout::test::run_bounded(io, client.get(server.url("/size?bytes=4")), 10s);
    REQUIRE(whole);
    CHECK(whole->body.size() == 4);
    CHECK_FALSE(whole->body_truncated);
    CHECK(client.idle_connections() == 1);
}

TEST_CASE(
    "a gather with retries tries an invalid URL, an unknown name and a 404 once, a 503 again") {
    http_fault_server server;
    fanout::test::dns_responder names;
    names.set_default_rule({.behaviour = fanout::test::dns_behaviour::nxdomain});
    auto options = quick_options();
    options.dns.servers = {{"127.0.0.1", names.port()}};
    options.dns.use_hosts_file = false;
    net::io_context io;
    http::client client(io.get_executor(), options);

    const std::vector<std::string> urls{
        "not a url",
        "http://no-such-name.fanout.test:1/ok",
        server.url("/status?code=404"),
        server.url("/status?code=503"),
        server.url("/loop-a"),
    };
    fanout::gather_options gathering{.limit = 8};
    gathering.retry = fanout::retries(2);
    gathering.retry.initial_backoff = 1ms;
    auto fetch =
        [&client](const std::string& url) -> net::awaitable<fanout::result<http::response>> {
        co_return http::expect_success(co_await client.get(url));
    };
    const auto results = fanout::test::run_bounded(io, fanout::gather(urls, fetch, gathering));
    REQUIRE(results.size() == urls.size());
    CHECK(kind_of(results[0].result) == "invalid_url");
    CHECK(kind_of(results[1].result) == "nxdomain");
    CHECK(kind_of(results[2].result) == "http_status");
    CHECK(results[2].error().http_status == 404u);
    CHECK(kind_of(results[4].result) == "redirect_loop");
    for (const std::size_t permanent : {0, 1, 2, 4}) {
        INFO(urls[permanent]);
        CHECK(results[permanent].attempts == 1);
    }
    CHECK(kind_of(results[3].result) == "http_status");
    CHECK(results[3].error().http_status == 503u);
    CHECK(results[3].attempts == 3);
}

namespace {

// The form g++ 12 miscompiled with a defaulted options argument (free():
// invalid pointer when the client was destroyed), inside a coroutine.
net::awaitable<unsigned> fetch_with_natural_form(std::string url) {
    http::client client(co_await net::this_coro::executor);
    auto got = co_await client.get(std::move(url));
    co_return got ? got->status : 0u;
}

}  // namespace

TEST_CASE("a client made from co_await this_coro::executor in a coroutine works and ends cleanly") {
    http_fault_server server;
    net::io_context io;
    CHECK(fanout::test::run_bounded(io, fetch_with_natural_form(server.url("/ok"))) == 200);
}
