#include <fanout/probe/check.hpp>

#include "dns_responder.hpp"
#include "http_fault_server.hpp"
#include "silent_listener.hpp"
#include "test_loop.hpp"

#include <fanout/http/error.hpp>
#include <fanout/probe/error.hpp>
#include <fanout/retry.hpp>
#include <fanout/timeout.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace net = boost::asio;
namespace probe = fanout::probe;
using fanout::test::dns_responder;
using fanout::test::http_fault_server;
using namespace std::chrono_literals;

namespace {

// Checks one target on a fresh loop.
probe::check_result check_once(const std::string& text, probe::check_options options = {}) {
    net::io_context io;
    probe::prober prober(io.get_executor(), std::move(options));
    const auto target = probe::parse_target(text).value();
    return fanout::test::run_bounded(io, prober.check(target));
}

std::string kind_of(const probe::check_result& r) {
    return r.problem ? r.problem->kind() : "ok";
}

}  // namespace

TEST_CASE("status lists read single statuses and ranges, and name bad text") {
    const auto ranges = probe::parse_status_ranges("200,204,300-308").value();
    REQUIRE(ranges.size() == 3);
    CHECK(ranges[0] == probe::status_range{200, 200});
    CHECK(ranges[2] == probe::status_range{300, 308});
    for (const char* bad : {"", "2xx", "200-", "99", "600", "300-200", "200,", "200,,204"}) {
        const auto parsed = probe::parse_status_ranges(bad);
        INFO(bad);
        REQUIRE(!parsed);
        CHECK(parsed.error().code == fanout::errc::invalid_input);
        CHECK(parsed.error().text().find("bad status list") != std::string::npos);
    }
}

TEST_CASE("an HTTP check passes on an expected status and fails on another, keeping it") {
    http_fault_server server;
    const auto ok = check_once(server.url("/ok"));
    CHECK(ok.healthy());
    CHECK(ok.status == 200u);
    CHECK(ok.latency > 0ns);
    CHECK(!ok.certificate_days_left);

    const auto unavailable = check_once(server.url("/status?code=503"));
    CHECK(kind_of(unavailable) == "unexpected_status");
    CHECK(unavailable.status == 503u);
    CHECK(unavailable.problem->text().find("status 503, expected 200-399") != std::string::npos);

    probe::check_options only_503;
    only_503.expected_status = {{503, 503}};
    CHECK(check_once(server.url("/status?code=503"), only_503).healthy());
}

TEST_CASE("a failed HTTP check carries the answer's status and Retry-After for the retry policy") {
    http_fault_server server;
    const auto busy = check_once(server.url("/status?code=503&retry_after=1"));
    REQUIRE(busy.problem);
    CHECK(busy.problem->http_status == 503u);
    CHECK(busy.problem->retry_after == std::chrono::milliseconds(1000));
    CHECK(fanout::retry_policy::default_retryable(*busy.problem));

    const auto missing = check_once(server.url("/status?code=404"));
    REQUIRE(missing.problem);
    CHECK(missing.problem->http_status == 404u);
    CHECK_FALSE(missing.problem->retry_after);
    CHECK_FALSE(fanout::retry_policy::default_retryable(*missing.problem));

    // No answer, no status.
    const auto looping = check_once(server.url("/loop-a"));
    REQUIRE(looping.problem);
    CHECK_FALSE(looping.problem->http_status);
    CHECK_FALSE(fanout::retry_policy::default_retryable(*looping.problem));
}

TEST_CASE("an HTTP check follows redirects and checks the final answer") {
    http_fault_server server;
    const auto followed = check_once(server.url("/redirect-count?n=2"));
    CHECK(followed.healthy());
    CHECK(followed.status == 200u);
    probe::check_options no_redirects;
    no_redirects.max_redirects = 0;
    no_redirects.expected_status = {{200, 299}};
    const auto kept = check_once(server.url("/redirect-count?n=2"), no_redirects);
    CHECK(kind_of(kept) == "unexpected_status");
    CHECK(kept.status == 302u);
}

TEST_CASE("an HTTP check fails when the body lacks the text, or the answer is too slow") {
    http_fault_server server;
    probe::check_options body;
    body.body_contains = "ok";
    CHECK(check_once(server.url("/ok"), body).healthy());
    body.body_contains = "healthy";
    const auto missing = check_once(server.url("/ok"), body);
    CHECK(kind_of(missing) == "body_mismatch");
    CHECK(missing.problem->text().find("'healthy'") != std::string::npos);

    probe::check_options quick;
    quick.max_latency = 100ms;
    const auto slow = check_once(server.url("/delay?ms=250"), quick);
    CHECK(kind_of(slow) == "too_slow");
    CHECK(slow.latency >= 250ms);
    CHECK(slow.status == 200u);
}

TEST_CASE("an HTTP check reports a refused connection and a garbage answer by kind") {
    http_fault_server server;
    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    acceptor.close();
    CHECK(kind_of(check_once("http://127.0.0.1:" + std::to_string(port) + "/")) ==
          "connection_refused");
    CHECK(kind_of(check_once(server.url("/garbage"))) == "malformed_response");
}

TEST_CASE("a hanging HTTP target is a timeout however the time ran out, its phase in the message") {
    // No gather here: only the client's own phase timeout can fire, and the
    // kind is the one gather's per-attempt timeout would give.
    http_fault_server server;
    probe::check_options options;
    options.timeout = 200ms;
    const auto started = std::chrono::steady_clock::now();
    const auto hung = check_once(server.url("/hang"), options);
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    REQUIRE_FALSE(hung.healthy());
    CHECK(hung.problem->code == fanout::errc::timeout);
    CHECK(kind_of(hung) == "timeout");
    CHECK(hung.problem->text().find("waiting for the response timed out") != std::string::npos);
}

TEST_CASE("a TCP check connects and says where, or says why not") {
    http_fault_server server;
    const auto open = check_once("tcp://127.0.0.1:" + std::to_string(server.port()));
    CHECK(open.healthy());
    CHECK(open.address == "127.0.0.1:" + std::to_string(server.port()));

    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    acceptor.close();
    const auto refused = check_once("tcp://127.0.0.1:" + std::to_string(port));
    CHECK(kind_of(refused) == "connection_refused");
    CHECK(refused.problem->text().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("a TCP check of an address that never answers ends at its timeout, naming it") {
    fanout::test::silent_listener silent;
    if (!silent.fill_backlog()) {
        WARN("this kernel completes connects to a full backlog: nothing to test");
        return;
    }
    probe::check_options options;
    options.timeout = 300ms;
    const auto where = "127.0.0.1:" + std::to_string(silent.port());
    const auto began = std::chrono::steady_clock::now();
    const auto hung = check_once("tcp://" + where, options);
    CHECK(std::chrono::steady_clock::now() - began < 5s);
    CHECK(kind_of(hung) == "timeout");
    CHECK(hung.address == where);
    CHECK(hung.problem->text().find("connect to " + where + " timed out after") !=
          std::string::npos);
}

TEST_CASE("a DNS check needs NOERROR with records, and lists them") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("ok.example.test", "192.0.2.7"));
    const auto at = "?server=" + responder.server();
    const auto ok = check_once("dns://ok.example.test" + at);
    CHECK(ok.healthy());
    REQUIRE(ok.answers.size() == 1);
    CHECK(ok.answers[0] == "A 192.0.2.7");
    CHECK(kind_of(check_once("dns://missing.example.test" + at)) == "nxdomain");
    CHECK(kind_of(check_once("dns://ok.example.test" + at + "&type=MX")) == "no_data");
}

TEST_CASE("a cancelled check aborts its request, and the prober checks on afterwards") {
    http_fault_server server;
    net::io_context io;
    probe::prober prober(io.get_executor());
    const auto hang = probe::parse_target(server.url("/hang")).value();
    const auto ok = probe::parse_target(server.url("/ok")).value();
    const auto began = std::chrono::steady_clock::now();
    const auto cut = fanout::test::run_bounded(io, fanout::with_timeout(prober.check(hang), 200ms));
    CHECK(std::chrono::steady_clock::now() - began >= 200ms);
    REQUIRE(!cut);
    CHECK(cut.error().code == fanout::errc::timeout);
    io.restart();
    CHECK(fanout::test::run_bounded(io, prober.check(ok)).healthy());
}

TEST_CASE("a prober keeps idle connections for a bounded number of origins") {
    http_fault_server first, second;
    probe::check_options options;
    options.max_idle_origins = 1;
    net::io_context io;
    probe::prober prober(io.get_executor(), options);
    const auto a = probe::parse_target(first.url("/ok")).value();
    const auto b = probe::parse_target(second.url("/ok")).value();
    CHECK(fanout::test::run_bounded(io, prober.check(a)).healthy());
    io.restart();
    CHECK(fanout::test::run_bounded(io, prober.check(a)).healthy());
    CHECK(first.connections_accepted() == 1);  // the idle connection was reused
    CHECK(first.open_connections() == 1);

    // A second origin: the first one's idle connection is closed.
    io.restart();
    CHECK(fanout::test::run_bounded(io, prober.check(b)).healthy());
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (first.open_connections() > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
    CHECK(first.open_connections() == 0);
    CHECK(second.open_connections() == 1);
}

TEST_CASE("a body past the limit is read up to it and the status decides") {
    http_fault_server server;
    // 1,025 KiB, over the default limit of 1 MiB.
    const auto big = check_once(server.url("/size?bytes=1049600"));
    CHECK(big.healthy());
    CHECK(big.status == 200u);

    probe::check_options small;
    small.max_body_size = 1000;
    const auto cut = check_once(server.url("/size?bytes=5000"), small);
    CHECK(cut.healthy());
    const auto chunked = check_once(server.url("/huge?mb=2"), small);
    CHECK(chunked.healthy());
}

TEST_CASE("with body_contains the limit is the window searched") {
    http_fault_server server;
    probe::check_options options;
    options.max_body_size = 10;
    options.body_contains = "ok";
    CHECK(check_once(server.url("/ok"), options).healthy());  // "ok": within the window
    // /echo's body starts "GET /echo": past a window of 4 bytes.
    options.max_body_size = 4;
    options.body_contains = "GET /echo";
    const auto outside = check_once(server.url("/echo"), options);
    CHECK(kind_of(outside) == "body_mismatch");
    REQUIRE(outside.problem);
    CHECK(outside.problem->text().find("the first 4 bytes of the body") != std::string::npos);
    options.max_body_size = 1 << 20;
    CHECK(check_once(server.url("/echo"), options).healthy());
}

TEST_CASE("an HTTP check records the version, the peer and the phases its request went through") {
    http_fault_server server;
    net::io_context io;
    probe::prober prober(io.get_executor());
    const auto target = probe::parse_target(server.url("/ok")).value();
    const auto first = fanout::test::run_bounded(io, prober.check(target));
    io.restart();
    const auto second = fanout::test::run_bounded(io, prober.check(target));
    REQUIRE(first.healthy());
    REQUIRE(second.healthy());
    REQUIRE(server.connections_accepted() == 1);  // the second check reused the connection
    CHECK(first.http_version == "1.1");
    CHECK(second.http_version == "1.1");
    CHECK(first.address == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(second.address == first.address);
    // A new connection: resolve, connect and first byte, no TLS on plain http.
    REQUIRE(first.phases.dns);
    REQUIRE(first.phases.connect);
    REQUIRE(first.phases.first_byte);
    CHECK(*first.phases.dns >= 0ns);
    CHECK(*first.phases.connect > 0ns);
    CHECK(*first.phases.first_byte > 0ns);
    CHECK(*first.phases.dns + *first.phases.connect + *first.phases.first_byte <= first.latency);
    CHECK(!first.phases.tls);
    // A reused connection: only the wait for the first byte.
    CHECK(!second.phases.dns);
    CHECK(!second.phases.connect);
    CHECK(!second.phases.tls);
    REQUIRE(second.phases.first_byte);
    CHECK(*second.phases.first_byte <= second.latency);
}

TEST_CASE("a failed HTTP check has no version, peer or phases") {
    http_fault_server server;
    const auto garbage = check_once(server.url("/garbage"));
    CHECK(kind_of(garbage) == "malformed_response");
    CHECK(garbage.http_version.empty());
    CHECK(garbage.address.empty());
    CHECK(!garbage.phases.first_byte);
}
