// The HTTP client against a real nginx on 127.0.0.1: keep-alive reuse and the
// per-origin limit as nginx's access log sees them, TLS verification with
// certificates made at test time, TLS session resumption, a large body, a
// redirect, and a server that goes away and comes back.
#include <fanout/http/client.hpp>

#include "nginx_server.hpp"
#include "test_loop.hpp"

#include <fanout/gather.hpp>
#include <fanout/retry.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <ranges>
#include <set>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace http = fanout::http;
using Catch::Matchers::Contains;
using fanout::test::nginx_server;
using namespace std::chrono_literals;

namespace {

using log_entries = std::vector<nginx_server::log_entry>;

http::client_options quick_options() {
    http::client_options options;
    options.connect_timeout = 5s;
    options.tls_timeout = 5s;
    options.first_byte_timeout = 10s;
    return options;
}

http::client_options trusting(const nginx_server& server) {
    auto options = quick_options();
    options.tls.ca_file = server.pki().ca_certificate;
    return options;
}

// Sends the requests one after another through `client`, each once the one
// before has answered.
net::awaitable<std::vector<fanout::result<http::response>>> send_in_turn(
    http::client& client, std::vector<http::request> requests) {
    std::vector<fanout::result<http::response>> answers;
    for (auto& req : requests) answers.push_back(co_await client.send(std::move(req)));
    co_return answers;
}

// Sends one GET on a fresh loop with a client of its own.
fanout::result<http::response> get_once(const std::string& url, http::client_options options) {
    net::io_context io;
    http::client client(io.get_executor(), std::move(options));
    return fanout::test::run_bounded(io, client.get(url));
}

bool ok_answer(const fanout::result<http::response>& answer) {
    return answer && answer->status == 200 && answer->body == "ok";
}

std::set<std::uint64_t> connections_in(const log_entries& log) {
    std::set<std::uint64_t> connections;
    for (const auto& entry : log) connections.insert(entry.connection);
    return connections;
}

// Three GETs with Connection: close through a client allowed one connection
// to the origin: nginx ends each connection after its answer, so each request
// needs a new TLS connection. Returns nginx's access log.
log_entries three_closing_requests(const nginx_server& server) {
    net::io_context io;
    auto options = trusting(server);
    options.connections_per_origin = 1;
    http::client client(io.get_executor(), options);
    std::vector<http::request> requests(
        3, http::request{.url = server.https_url("/ok"), .headers = {{"Connection", "close"}}});
    const auto answers = fanout::test::run_bounded(io, send_in_turn(client, std::move(requests)));
    CHECK(std::ranges::count_if(answers, ok_answer) == 3);
    CHECK(client.connections_opened() == 3);
    return server.wait_for_log(3, 10s);
}

}  // namespace

TEST_CASE("a hundred sequential GETs travel on one keep-alive connection, as nginx logs them") {
    const bool https = GENERATE(false, true);
    INFO((https ? "HTTPS" : "HTTP"));
    const nginx_server server({.https = https});
    net::io_context io;
    http::client client(io.get_executor(), https ? trusting(server) : quick_options());
    std::vector<http::request> requests;
    for (int i = 0; i < 100; ++i) {  // the answer of a `return`, and of a static file
        const char* path = i % 2 == 0 ? "/ok" : "/ok.txt";
        requests.push_back({.url = https ? server.https_url(path) : server.url(path)});
    }

    const auto answers = fanout::test::run_bounded(io, send_in_turn(client, std::move(requests)));
    CHECK(std::ranges::count_if(answers, ok_answer) == 100);
    CHECK(client.connections_opened() == 1);
    CHECK(client.idle_connections() == 1);

    const auto log = server.wait_for_log(100, 10s);
    REQUIRE(log.size() == 100);
    CHECK(connections_in(log).size() == 1);
    // nginx counts the requests of the connection: 1, 2, ... 100.
    std::size_t in_order = 0;
    for (std::size_t i = 0; i < log.size(); ++i)
        if (log[i].connection_requests == i + 1 && log[i].status == 200 && log[i].tls == https)
            ++in_order;
    CHECK(in_order == 100);
}

TEST_CASE("a gather of 500 GETs never holds more than connections_per_origin connections") {
    const nginx_server server;
    net::io_context io;
    auto options = quick_options();
    options.connections_per_origin = 4;
    http::client client(io.get_executor(), options);

    const auto results = fanout::test::run_bounded(
        io,
        fanout::gather(std::views::iota(0, 500),
                       [&client, url = server.url("/ok")](int) { return client.get(url); },
                       {.limit = 64}),
        60s);
    REQUIRE(results.size() == 500);
    CHECK(std::ranges::count_if(results, [](const auto& out) {
              return out.ok() && out.value().status == 200 && out.value().body == "ok";
          }) == 500);
    CHECK(client.connections_opened() <= 4);

    const auto log = server.wait_for_log(500, 10s);
    REQUIRE(log.size() == 500);
    CHECK(std::ranges::count(log, 200u, &nginx_server::log_entry::status) == 500);
    const auto connections = connections_in(log);
    CHECK(connections.size() <= 4);
    CHECK(connections.size() == client.connections_opened());
}

TEST_CASE(
    "a certificate from an unknown CA fails verification unless its CA is given or "
    "verification is off") {
    const nginx_server server({.https = true});
    const auto url = server.https_url("/ok");

    const auto by_default = get_once(url, quick_options());
    REQUIRE_FALSE(by_default);
    CHECK(by_default.error().code == http::errc::certificate_untrusted);
    CHECK(std::string(by_default.error().kind()) == "certificate_untrusted");
    CHECK_THAT(by_default.error().text(), Contains("unable to get local issuer certificate"));
    CHECK_THAT(by_default.error().text(), Contains(url));

    CHECK(ok_answer(get_once(url, trusting(server))));

    auto unverified = quick_options();
    unverified.tls.verify = false;
    CHECK(ok_answer(get_once(url, unverified)));

    // nginx logged the two handshakes that passed, and no request of the one
    // that failed.
    const auto log = server.wait_for_log(2, 10s);
    CHECK(log.size() == 2);
    CHECK(std::ranges::all_of(log, [](const auto& entry) { return entry.tls; }));
}

TEST_CASE("an https answer carries its certificate's expiry, a plain one none") {
    const nginx_server server({.https = true});
    const auto secure = get_once(server.https_url("/ok"), trusting(server));
    REQUIRE(ok_answer(secure));
    REQUIRE(secure->certificate_expiry);
    // The test certificates are made valid for two days from now.
    const auto left = *secure->certificate_expiry - std::chrono::system_clock::now();
    CHECK(left > std::chrono::hours(47));
    CHECK(left <= std::chrono::hours(49));

    const auto plain = get_once(server.url("/ok"), quick_options());
    REQUIRE(ok_answer(plain));
    CHECK_FALSE(plain->certificate_expiry);
}

TEST_CASE("a certificate for another host name fails even when its CA is trusted") {
    const nginx_server server({.https = true});
    const auto wrong = get_once(server.wrong_name_url("/ok"), trusting(server));
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == http::errc::certificate_name_mismatch);
    CHECK_THAT(wrong.error().text(), Contains("certificate verify failed: IP address mismatch"));
    // Not retried by default: the next try meets the same certificate.
    CHECK_FALSE(fanout::retry_policy::default_retryable(wrong.error()));

    // The same CA signed the right name's certificate: the name is what failed.
    CHECK(ok_answer(get_once(server.https_url("/ok"), trusting(server))));
    auto unverified = quick_options();
    unverified.tls.verify = false;
    CHECK(ok_answer(get_once(server.wrong_name_url("/ok"), unverified)));
}

TEST_CASE(
    "a TLS answer with Connection: close ends its connection and the next request opens one") {
    const std::string protocol = GENERATE("TLSv1.2", "TLSv1.3");
    INFO(protocol);
    const nginx_server server({.https = true, .tls_protocols = protocol});
    const auto log = three_closing_requests(server);
    REQUIRE(log.size() == 3);
    CHECK(connections_in(log).size() == 3);
    CHECK(std::ranges::all_of(log, [](const auto& entry) { return entry.tls; }));
    CHECK_FALSE(log[0].session_reused);
}

// A session is resumable only if its connection ended with the TLS shutdown
// flags set and, with TLS 1.3, once the server's ticket (sent after the
// handshake) was read: the client keeps it after the first answer.
TEST_CASE("a new TLS connection to an origin resumes the session of the one before") {
    const std::string protocol = GENERATE("TLSv1.2", "TLSv1.3");
    INFO(protocol);
    const nginx_server server({.https = true, .tls_protocols = protocol});
    const auto log = three_closing_requests(server);
    REQUIRE(log.size() == 3);
    CHECK(log[1].session_reused);
    CHECK(log[2].session_reused);
}

TEST_CASE("a 4 MiB file arrives intact over HTTP and over HTTPS") {
    constexpr std::size_t size = 4u << 20;
    const nginx_server server({.https = true, .big_size = size});
    const std::string expected = nginx_server::big_body(size);
    for (const auto& url : {server.url("/big"), server.https_url("/big")}) {
        INFO(url);
        const auto got = get_once(url, trusting(server));
        REQUIRE(got);
        CHECK(got->status == 200);
        CHECK(got->body.size() == size);
        CHECK(got->header("Content-Length") == std::to_string(size));
        // One comparison, not four million: Catch would print both bodies.
        CHECK((got->body == expected));
    }
    const auto log = server.wait_for_log(2, 10s);
    REQUIRE(log.size() == 2);
    CHECK(log[0].body_bytes == size);
    CHECK(log[1].body_bytes == size);
}

TEST_CASE("a redirect from nginx is followed to its target") {
    const nginx_server server;
    const auto got = get_once(server.url("/redirect"), quick_options());
    REQUIRE(got);
    CHECK(ok_answer(got));
    CHECK(got->redirects == 1);
    CHECK(got->url == server.url("/ok"));

    const auto log = server.wait_for_log(2, 10s);
    REQUIRE(log.size() == 2);
    CHECK(log[0].status == 302);
    CHECK(log[1].status == 200);
    CHECK(log[0].connection == log[1].connection);  // the same origin: the same connection
}

TEST_CASE("a stopped nginx is connection_refused, and the client goes on once it is back") {
    nginx_server server;
    net::io_context io;
    http::client client(io.get_executor(), quick_options());
    const auto url = server.url("/ok");

    CHECK(ok_answer(fanout::test::run_bounded(io, client.get(url))));
    REQUIRE(client.idle_connections() == 1);

    server.stop();
    // The pooled connection is found closed and replaced; the new one is refused.
    io.restart();
    const auto refused = fanout::test::run_bounded(io, client.get(url));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == net::error::connection_refused);
    CHECK(std::string(refused.error().kind()) == "connection_refused");
    CHECK_THAT(refused.error().text(), Contains(url));

    server.restart();
    io.restart();
    const auto back = fanout::test::run_bounded(io, client.get(url));
    CHECK(ok_answer(back));
    CHECK(client.connections_opened() == 2);
    // nginx's log outlives the restart: the first answer and the last.
    CHECK(server.wait_for_log(2, 10s).size() == 2);
}
