// HTTP/2 in fanout::http::client, against real servers (nghttpd, nginx with
// http2) and an in-process fault server on nghttp2's server API.
#include <fanout/http/client.hpp>

#include "h2_fault_server.hpp"
#include "http_fault_server.hpp"
#include "nghttpd_server.hpp"
#include "nginx_server.hpp"
#include "silent_listener.hpp"
#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace http = fanout::http;
using fanout::test::h2_fault_server;
using fanout::test::nghttpd_server;
using namespace std::chrono_literals;

namespace {

http::client_options quick_options() {
    http::client_options options;
    options.connect_timeout = 2s;
    options.tls_timeout = 2s;
    options.first_byte_timeout = 5s;
    return options;
}

std::string kind_of(const fanout::result<http::response>& r) {
    return r ? std::string("ok") : std::string(r.error().kind());
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A client on its own loop: run() runs it until the request is done (a
// stream reset by the client may still have its RST_STREAM to write);
// close() ends the client and then requires that nothing is left pending.
struct h2_client {
    explicit h2_client(http::client_options options) {
        client.emplace(io.get_executor(), std::move(options));
    }

    template <class T>
    T run(net::awaitable<T> main) {
        bool done = false;
        std::exception_ptr error;
        std::optional<T> value;
        io.restart();  // the last run may have ended out of work
        net::co_spawn(io, std::move(main), [&](std::exception_ptr e, T v) {
            done = true;
            error = e;
            if (!e) value.emplace(std::move(v));
        });
        const auto until = std::chrono::steady_clock::now() + 30s;
        while (!done && std::chrono::steady_clock::now() < until)
            io.run_one_for(until - std::chrono::steady_clock::now());
        REQUIRE(done);
        if (error) std::rethrow_exception(error);
        return std::move(*value);
    }

    fanout::result<http::response> get(std::string url) { return run(client->get(std::move(url))); }
    fanout::result<http::response> send(http::request req) {
        return run(client->send(std::move(req)));
    }

    void close() {
        client.reset();
        io.run_for(5s);
        REQUIRE(io.stopped());
    }

    net::io_context io;
    std::optional<http::client> client;
};

fanout::result<http::response> get_once(const std::string& url, http::client_options options) {
    h2_client c(std::move(options));
    auto answer = c.get(url);
    c.close();
    return answer;
}

// One request of an ordering test: `started` and `finished` list the items
// as they were sent and as they were answered.
net::awaitable<int> fetch_in_turn(http::client& client, std::string url, int item,
                                  std::vector<int>& started, std::vector<int>& finished) {
    started.push_back(item);
    auto answer = co_await client.get(std::move(url));
    if (answer) finished.push_back(item);
    co_return item;
}

// Waits (bounded) for `done` to hold.
template <class Predicate>
bool eventually(Predicate done) {
    for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(10ms);
    return done();
}

// The connection goes on after what a test did to it: a request is
// answered, and the client still has opened only the one connection.
void check_connection_goes_on(h2_client& c, const h2_fault_server& server) {
    CHECK(kind_of(c.get(server.url("/ok"))) == "ok");
    CHECK(c.client->connections_opened() == 1);
}

}  // namespace

TEST_CASE("with the automatic version, ALPN picks h2 on https and the response says 2") {
    nghttpd_server server;
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    const auto answer = get_once(server.url("/ok.txt"), options);
    REQUIRE(kind_of(answer) == "ok");
    CHECK(answer->status == 200);
    CHECK(answer->body == "ok");
    CHECK(answer->http_version == "2");
    CHECK(answer->certificate_expiry.has_value());
    CHECK(answer->timing.connect.count() > 0);
    CHECK(answer->timing.tls.count() > 0);
    CHECK(answer->timing.first_byte.count() > 0);
    CHECK(answer->timing.total >= answer->timing.first_byte);
}

TEST_CASE("h2c by prior knowledge speaks HTTP/2 on plain TCP") {
    nghttpd_server server({.no_tls = true});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    const auto answer = get_once(server.url("/ok.txt"), options);
    REQUIRE(kind_of(answer) == "ok");
    CHECK(answer->body == "ok");
    CHECK(answer->http_version == "2");
}

TEST_CASE(
    "an h2c request to a server that does not speak h2 fails as it failed, not as a timeout") {
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.first_byte_timeout = 10s;
    SECTION("an HTTP/1.1 server answers the preface with a 400 and closes") {
        fanout::test::http_fault_server server;
        const auto began = std::chrono::steady_clock::now();
        const auto answer = get_once(server.url("/ok"), options);
        REQUIRE_FALSE(answer);
        INFO(answer.error().text());
        CHECK(kind_of(answer) != "timeout");
        CHECK((kind_of(answer) == "protocol_error" || kind_of(answer) == "connection_closed"));
        CHECK(contains(answer.error().text(), "/ok"));
        CHECK(std::chrono::steady_clock::now() - began < 5s);  // well before any limit
    }
    SECTION("a server that never answers is still a timeout, naming SETTINGS") {
        fanout::test::silent_listener silent;
        options.connect_timeout = 1s;
        options.total_timeout = 1s;
        const auto answer =
            get_once("http://127.0.0.1:" + std::to_string(silent.port()) + "/ok", options);
        REQUIRE_FALSE(answer);
        INFO(answer.error().text());
        CHECK(kind_of(answer) == "timeout");
    }
}

TEST_CASE("plain http stays HTTP/1.1 with the automatic version") {
    fanout::test::nginx_server server;
    const auto answer = get_once(server.url("/ok"), quick_options());
    REQUIRE(kind_of(answer) == "ok");
    CHECK(answer->http_version == "1.1");
}

TEST_CASE("nginx with http2 answers on h2 by default and on 1.1 when the request asks for it") {
    fanout::test::nginx_server server({.https = true, .http2 = true});
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    h2_client c(options);
    auto& client = *c.client;
    http::request forced;
    forced.url = server.https_url("/ok");
    forced.http_version = http::version::http1_1;
    const auto [automatic, old] =
        c.run([](http::client& h2, std::string url, http::request req)
                  -> net::awaitable<
                      std::pair<fanout::result<http::response>, fanout::result<http::response>>> {
            auto first = co_await h2.get(std::move(url));
            auto second = co_await h2.send(std::move(req));
            co_return std::pair{std::move(first), std::move(second)};
        }(client, server.https_url("/ok"), forced));
    REQUIRE(kind_of(automatic) == "ok");
    REQUIRE(kind_of(old) == "ok");
    CHECK(automatic->http_version == "2");
    CHECK(old->http_version == "1.1");
    const auto log = server.wait_for_log(2, 5s);
    REQUIRE(log.size() == 2);
    CHECK(log[0].request == "GET /ok HTTP/2.0");
    CHECK(log[1].request == "GET /ok HTTP/1.1");
    c.close();
}

TEST_CASE("a server without h2 answers the automatic version on 1.1 and fails a required http2") {
    fanout::test::nginx_server server({.https = true});
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    const auto automatic = get_once(server.https_url("/ok"), options);
    REQUIRE(kind_of(automatic) == "ok");
    CHECK(automatic->http_version == "1.1");
    options.http_version = http::version::http2;
    const auto required = get_once(server.https_url("/ok"), options);
    REQUIRE(kind_of(required) == "http2_not_negotiated");
    CHECK(contains(required.error().message, "GET " + server.https_url("/ok")));
}

TEST_CASE("many concurrent requests share one HTTP/2 connection") {
    nghttpd_server server;
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    h2_client c(options);
    auto& client = *c.client;
    std::vector<int> items(60);
    const auto url = server.url("/ok.txt");
    auto results =
        c.run(fanout::gather(items, [&](int) { return client.get(url); }, {.limit = 60}));
    for (const auto& r : results) {
        REQUIRE(r.ok());
        CHECK(r.result->http_version == "2");
        CHECK(r.result->body == "ok");
    }
    CHECK(client.connections_opened() == 1);
    c.close();
}

TEST_CASE("a 64 MiB HTTP/2 download completes through the flow-control windows") {
    constexpr std::size_t size = 64u << 20;
    nghttpd_server server({.no_tls = true, .big_size = size});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    const auto answer = get_once(server.url("/big"), options);
    REQUIRE(kind_of(answer) == "ok");
    REQUIRE(answer->body.size() == size);
    CHECK(answer->body == fanout::test::nginx_server::big_body(size));
}

TEST_CASE("a timed-out HTTP/2 request resets only its stream and the others succeed") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.first_byte_timeout = 300ms;
    h2_client c(options);
    auto& client = *c.client;
    std::vector<std::string> paths{"/slow", "/ok", "/ok", "/ok", "/ok"};
    auto results = c.run(fanout::gather(
        paths, [&](const std::string& p) { return client.get(server.url(p)); }, {.limit = 5}));
    REQUIRE(!results[0].ok());
    CHECK(std::string(results[0].result.error().kind()) == "timeout");
    CHECK(contains(results[0].result.error().message, "waiting for the response timed out"));
    for (std::size_t i = 1; i < results.size(); ++i) CHECK(results[i].ok());
    CHECK(eventually([&] { return server.resets_received() == 1; }));
    // The connection goes on.
    check_connection_goes_on(c, server);
    CHECK(server.connections() == 1);
    c.close();
}

// One request of the deadline test: started `delay` after the others, it
// records how long it took.
struct timed_answer {
    fanout::result<http::response> answer = fanout::failure{};
    std::chrono::steady_clock::duration took{};
};

net::awaitable<timed_answer> get_after(http::client& client, std::string url,
                                       std::chrono::milliseconds delay) {
    net::steady_timer pause(co_await net::this_coro::executor, delay);
    co_await pause.async_wait(net::use_awaitable);
    timed_answer out;
    const auto started = std::chrono::steady_clock::now();
    out.answer = co_await client.get(std::move(url));
    out.took = std::chrono::steady_clock::now() - started;
    co_return out;
}

TEST_CASE(
    "HTTP/2 streams started at different times on one connection each time out at their own "
    "deadline") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.first_byte_timeout = 300ms;
    h2_client c(options);
    auto& client = *c.client;
    // The connection first, so that each stream starts on it at once: the
    // second and third start while the first (and second) are still open.
    REQUIRE(kind_of(c.get(server.url("/ok"))) == "ok");
    const std::vector<std::chrono::milliseconds> delays{0ms, 150ms, 300ms};
    const auto url = server.url("/slow");
    auto results = c.run(fanout::gather(
        delays, [&](std::chrono::milliseconds d) { return get_after(client, url, d); },
        {.limit = 3}));
    for (std::size_t i = 0; i < results.size(); ++i) {
        INFO("request " << i);
        REQUIRE(results[i].ok());
        const auto& r = results[i].value();
        REQUIRE(kind_of(r.answer) == "timeout");
        CHECK(contains(r.answer.error().message, "waiting for the response timed out after 300ms"));
        // Not cut short when an earlier stream's deadline passed, nor left
        // waiting when its own did.
        CHECK(r.took >= 290ms);
        CHECK(r.took < 3s);
    }
    CHECK(eventually([&] { return server.resets_received() == 3; }));
    check_connection_goes_on(c, server);
    CHECK(server.connections() == 1);
    c.close();
}

TEST_CASE(
    "an HTTP/2 stream past the total timeout, shorter than the first-byte one, is reset and "
    "says so") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.first_byte_timeout = 5s;
    options.total_timeout = 300ms;
    h2_client c(options);
    const auto started = std::chrono::steady_clock::now();
    const auto slow = c.get(server.url("/slow"));
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(kind_of(slow) == "timeout");
    CHECK(contains(slow.error().message,
                   "GET " + server.url("/slow") +
                       ": waiting for the response ran past the total timeout of 300ms"));
    CHECK(took >= 290ms);
    CHECK(took < 4s);
    CHECK(eventually([&] { return server.resets_received() == 1; }));
    check_connection_goes_on(c, server);
    c.close();
}

TEST_CASE("a cancelled HTTP/2 request resets its stream and leaves the connection open") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    h2_client c(options);
    auto& client = *c.client;
    std::vector<std::string> one{"/slow"};
    auto results =
        c.run(fanout::gather(one, [&](const std::string& p) { return client.get(server.url(p)); },
                             {.per_attempt_timeout = 200ms}));
    REQUIRE(!results[0].ok());
    CHECK(eventually([&] { return server.resets_received() == 1; }));
    check_connection_goes_on(c, server);
    c.close();
}

TEST_CASE("HTTP/2 faults end in their own error kinds and the connection stays usable") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.first_byte_timeout = 500ms;
    h2_client c(options);

    const auto reset = c.get(server.url("/reset"));
    REQUIRE(kind_of(reset) == "stream_reset");
    CHECK(contains(reset.error().message, "INTERNAL_ERROR"));
    CHECK(contains(reset.error().message, "GET " + server.url("/reset")));

    const auto bomb = c.get(server.url("/bomb"));
    REQUIRE(kind_of(bomb) == "header_list_too_large");

    http::request upload;
    upload.method = "POST";
    upload.url = server.url("/upload");
    upload.body = std::string(100 * 1024, 'u');
    const auto stalled = c.send(upload);
    INFO((stalled ? std::string() : stalled.error().message));
    REQUIRE(kind_of(stalled) == "flow_control_stall");

    check_connection_goes_on(c, server);
    c.close();
}

TEST_CASE("an HTTP/2 body over the limit is cut with truncate_body and the connection goes on") {
    nghttpd_server server({.no_tls = true, .big_size = 100'000});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.max_body_size = 1000;
    options.truncate_body = true;
    h2_client c(options);
    auto& client = *c.client;
    const auto cut = c.get(server.url("/big"));
    REQUIRE(kind_of(cut) == "ok");
    CHECK(cut->body_truncated);
    CHECK(cut->body == fanout::test::nginx_server::big_body(100'000).substr(0, 1000));
    const auto after = c.get(server.url("/ok.txt"));
    CHECK(kind_of(after) == "ok");
    CHECK(client.connections_opened() == 1);

    options.truncate_body = false;
    const auto refused = get_once(server.url("/big"), options);
    CHECK(kind_of(refused) == "body_too_large");
    c.close();
}

TEST_CASE("a GOAWAY before the answer sends an idempotent request again on a new connection") {
    h2_fault_server server({.goaway_first_connection = true});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    h2_client c(options);
    auto& client = *c.client;
    const auto answer = c.get(server.url("/ok"));
    REQUIRE(kind_of(answer) == "ok");
    CHECK(answer->body == "ok");
    CHECK(client.connections_opened() == 2);
    c.close();
}

TEST_CASE("a GOAWAY fails a POST the server did not process, naming GOAWAY") {
    h2_fault_server server({.goaway_first_connection = true});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    http::request post;
    post.method = "POST";
    post.url = server.url("/ok");
    h2_client c(options);
    auto& client = *c.client;
    const auto answer = c.send(post);
    REQUIRE(kind_of(answer) == "goaway");
    CHECK(client.connections_opened() == 1);
    c.close();
}

TEST_CASE("streams beyond SETTINGS_MAX_CONCURRENT_STREAMS wait, or open another connection") {
    SECTION("one connection allowed: requests wait for the one stream, in turn") {
        h2_fault_server server({.max_concurrent_streams = 1});
        auto options = quick_options();
        options.http_version = http::version::http2_prior_knowledge;
        options.connections_per_origin = 1;
        h2_client c(options);
        auto& client = *c.client;
        std::vector<int> items(8);
        auto results = c.run(fanout::gather(
            items, [&](int) { return client.get(server.url("/ok")); }, {.limit = 8}));
        for (const auto& r : results) CHECK(r.ok());
        CHECK(client.connections_opened() == 1);
        c.close();
    }
    SECTION("more connections allowed: each held stream takes a connection of its own") {
        h2_fault_server server({.max_concurrent_streams = 1});
        auto options = quick_options();
        options.http_version = http::version::http2_prior_knowledge;
        options.connections_per_origin = 3;
        options.first_byte_timeout = 300ms;
        h2_client c(options);
        auto& client = *c.client;
        std::vector<int> items(3);
        auto results = c.run(fanout::gather(
            items, [&](int) { return client.get(server.url("/slow")); }, {.limit = 3}));
        for (const auto& r : results) CHECK(std::string(r.result.error().kind()) == "timeout");
        CHECK(client.connections_opened() == 3);
        c.close();
    }
}

TEST_CASE("a pooled HTTP/2 connection leaves its loop without work and is reused") {
    nghttpd_server server;
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    net::io_context io;
    http::client client(io.get_executor(), options);
    // run_bounded requires that the loop ran out of work: no read is left
    // pending on the idle connection.
    const auto first = fanout::test::run_bounded(io, client.get(server.url("/ok.txt")));
    io.restart();
    const auto second = fanout::test::run_bounded(io, client.get(server.url("/ok.txt")));
    REQUIRE(kind_of(first) == "ok");
    REQUIRE(kind_of(second) == "ok");
    CHECK(second->http_version == "2");
    CHECK(!first->timing.reused_connection);
    CHECK(second->timing.reused_connection);
    CHECK(client.connections_opened() == 1);
}

TEST_CASE("a redirect over HTTP/2 is followed on the same connection") {
    fanout::test::nginx_server server({.https = true, .http2 = true});
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    h2_client c(options);
    const auto answer = c.get(server.https_url("/redirect"));
    REQUIRE(kind_of(answer) == "ok");
    CHECK(answer->status == 200);
    CHECK(answer->body == "ok");
    CHECK(answer->redirects == 1);
    CHECK(answer->http_version == "2");
    CHECK(c.client->connections_opened() == 1);
    c.close();
}

TEST_CASE("requests waiting for the one HTTP/2 stream are answered in the order they were sent") {
    h2_fault_server server({.max_concurrent_streams = 1});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.connections_per_origin = 1;
    h2_client c(options);
    auto& client = *c.client;
    // Fewer workers than items: each one that finishes sends its next
    // request while the others wait, and that request must not go first.
    std::vector<int> items(12);
    std::iota(items.begin(), items.end(), 0);
    std::vector<int> started, finished;
    const auto url = server.url("/ok");
    auto results = c.run(fanout::gather(
        items, [&](int item) { return fetch_in_turn(client, url, item, started, finished); },
        {.limit = 4}));
    for (const auto& r : results) CHECK(r.ok());
    CHECK(finished.size() == items.size());
    CHECK(finished == started);
    CHECK(client.connections_opened() == 1);
    c.close();
}

TEST_CASE("a quiet pooled HTTP/2 connection is checked with a PING before it is reused") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.ping_after_idle = 0ms;  // check every reuse of a connection with no stream open
    h2_client c(options);
    const auto first = c.get(server.url("/ok"));
    const auto second = c.get(server.url("/ok"));
    REQUIRE(kind_of(first) == "ok");
    REQUIRE(kind_of(second) == "ok");
    CHECK(second->timing.reused_connection);
    CHECK(server.pings_received() == 1);
    CHECK(c.client->connections_opened() == 1);
    c.close();
}

TEST_CASE(
    "a pooled HTTP/2 connection that leaves its PING unanswered is closed, and the request "
    "goes to a new one") {
    h2_fault_server server({.no_ping_ack = true});
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.ping_after_idle = 0ms;
    options.ping_timeout = 200ms;
    h2_client c(options);
    const auto first = c.get(server.url("/ok"));
    const auto started = std::chrono::steady_clock::now();
    const auto second = c.get(server.url("/ok"));
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(kind_of(first) == "ok");
    REQUIRE(kind_of(second) == "ok");
    CHECK(!second->timing.reused_connection);
    CHECK(took >= 200ms);  // it waited for the ACK, then no longer
    CHECK(c.client->connections_opened() == 2);
    CHECK(server.connections() == 2);
    // Counted when read, which nothing the client saw follows.
    CHECK(eventually([&] { return server.pings_received() == 1; }));
    // One answer per request: nothing was sent on the connection given up.
    CHECK(server.answered() == 2);
    c.close();
}

TEST_CASE("a pooled HTTP/2 connection heard from recently is reused without a PING") {
    h2_fault_server server;
    auto options = quick_options();
    options.http_version = http::version::http2_prior_knowledge;
    options.ping_after_idle = 1h;
    h2_client c(options);
    REQUIRE(kind_of(c.get(server.url("/ok"))) == "ok");
    REQUIRE(kind_of(c.get(server.url("/ok"))) == "ok");
    CHECK(server.pings_received() == 0);
    CHECK(c.client->connections_opened() == 1);
    c.close();
}
