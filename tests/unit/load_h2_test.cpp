// fanout::load::run over HTTP/2: against nginx with http2 (TLS, ALPN; its
// access log counts the requests), nghttpd (TLS and h2c), and the
// in-process h2_fault_server (stream resets, GOAWAY, MAX_CONCURRENT_STREAMS).
#include <fanout/load/run.hpp>

#include "h2_fault_server.hpp"
#include "nghttpd_server.hpp"
#include "nginx_server.hpp"

#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using fanout::test::h2_fault_server;
using fanout::test::nghttpd_server;
using fanout::test::nginx_server;
namespace load = fanout::load;

namespace {

// -n requests to `url` over HTTP/2, bounded by a duration in case of a bug.
load::options count_of(std::uint64_t n, std::string url, std::size_t connections,
                       std::size_t streams) {
    load::options opts;
    opts.urls = {std::move(url)};
    opts.requests = n;
    opts.duration = 20s;
    opts.connections = connections;
    opts.pipeline = streams;
    opts.threads = 2;
    opts.version = opts.urls.front().starts_with("https") ? load::protocol::http2
                                                          : load::protocol::http2_prior_knowledge;
    return opts;
}

fanout::result<load::result> run(load::options opts) {
    fanout::runtime rt({.loop_threads = 2});
    auto out = rt.run(load::run(rt, std::move(opts)));
    if (!out) UNSCOPED_INFO("the run failed: " << out.error().text());
    return out;
}

// Every request sent is answered, failed or unanswered: once each.
void check_accounting(const load::result& r) {
    INFO("sent " << r.sent << ", answered " << r.responses << ", errors " << r.errors
                 << ", unanswered " << r.unanswered);
    CHECK(r.responses + r.errors + r.unanswered == r.sent);
}

// What nginx logged of `expected` HTTP/2 requests for /ok.
struct logged {
    std::size_t requests = 0;
    std::set<std::uint64_t> connections;
};

logged logged_h2_requests(const nginx_server& nginx, std::size_t expected) {
    logged out;
    for (const auto& entry : nginx.wait_for_log(expected, 10s)) {
        if (entry.request != "GET /ok HTTP/2.0") continue;
        ++out.requests;
        out.connections.insert(entry.connection);
    }
    return out;
}

// Waits (bounded: 2 s) for `done` to hold.
template <class Predicate>
bool eventually(Predicate done) {
    for (int i = 0; i < 200 && !done(); ++i) std::this_thread::sleep_for(10ms);
    return done();
}

}  // namespace

TEST_CASE(
    "an h2 run against nginx sends exactly n requests, as nginx logs them, over -c connections") {
    nginx_server nginx({.https = true, .http2 = true});
    auto opts = count_of(600, nginx.https_url("/ok"), 3, 16);
    opts.ca_file = nginx.pki().ca_certificate;
    const auto r = run(opts);
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->sent == 600);
    CHECK(r->responses == 600);
    CHECK(r->status_counts.at(200) == 600);
    CHECK(r->protocol == "h2");
    CHECK(r->pipeline == 16);
    CHECK(r->connections == 3);
    const auto seen = logged_h2_requests(nginx, 600);
    CHECK(seen.requests == 600);
    CHECK(seen.connections.size() <= 3);
    CHECK(load::to_text(*r).find("h2, 3 connections, 2 threads, streams 16") != std::string::npos);
}

TEST_CASE("an open-loop h2 run keeps its rate and counts latency from the intended starts") {
    nginx_server nginx({.https = true, .http2 = true});
    auto opts = count_of(400, nginx.https_url("/ok"), 2, 16);
    opts.requests.reset();
    opts.duration = 1s;
    opts.rate = 400;
    opts.ca_file = nginx.pki().ca_certificate;
    const auto r = run(opts);
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->rate_kept());
    CHECK(r->sent >= 390);
    CHECK(r->sent <= 402);
    CHECK(r->errors == 0);
    CHECK(r->corrected_latency.count() == r->responses);
    CHECK(r->corrected_latency.max() >= r->latency.min());
    CHECK(logged_h2_requests(nginx, r->responses).requests == r->responses);
}

TEST_CASE(
    "http2 over TLS against a server that does not pick h2 fails before the run, naming the URL") {
    nginx_server nginx({.https = true});  // ALPN: http/1.1 only
    const auto url = nginx.https_url("/ok");
    auto opts = count_of(10, url, 1, 1);
    opts.ca_file = nginx.pki().ca_certificate;
    const auto r = run(opts);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == fanout::http::errc::http2_not_negotiated);
    CHECK(r.error().text().find(url) != std::string::npos);
    CHECK(r.error().text().find("did not pick h2") != std::string::npos);
    CHECK(nginx.access_log().empty());

    // And the schemes each flag speaks.
    auto plain = count_of(10, nginx.url("/ok"), 1, 1);
    plain.version = load::protocol::http2;
    const auto refused = run(plain);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().text().find("--http2-prior-knowledge") != std::string::npos);
}

TEST_CASE("h2c by prior knowledge loads nghttpd, and a server without h2c is refused up front") {
    nghttpd_server server({.no_tls = true});
    const auto r = run(count_of(500, server.url("/ok.txt"), 2, 8));
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->responses == 500);
    CHECK(r->status_counts.at(200) == 500);
    CHECK(r->bytes_received > 500 * 2);

    nginx_server nginx;  // HTTP/1.1 on its plain port
    const auto refused = run(count_of(10, nginx.url("/ok"), 1, 1));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == fanout::http::errc::http2_not_negotiated);
    CHECK(refused.error().text().find(nginx.url("/ok")) != std::string::npos);
}

TEST_CASE("an h2 run over TLS against nghttpd answers every request") {
    nghttpd_server server;
    auto opts = count_of(400, server.url("/ok.txt"), 2, 32);
    opts.ca_file = server.pki().ca_certificate;
    const auto r = run(opts);
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->responses == 400);
    CHECK(r->errors == 0);
}

TEST_CASE(
    "the streams of -p are in flight at once, and the server's MAX_CONCURRENT_STREAMS caps them") {
    // /slow is never answered: 8 streams time out together when they run
    // at once, one after the other when the server allows one.
    for (const std::uint32_t allowed : {100u, 1u}) {
        h2_fault_server server({.max_concurrent_streams = allowed});
        auto opts = count_of(8, server.url("/slow"), 1, 8);
        opts.timeout = 300ms;
        const auto started = std::chrono::steady_clock::now();
        const auto r = run(opts);
        const auto took = std::chrono::steady_clock::now() - started;
        INFO("MAX_CONCURRENT_STREAMS " << allowed);
        REQUIRE(r);
        check_accounting(*r);
        CHECK(r->sent == 8);
        CHECK(r->errors == 8);
        CHECK(r->errors_by_kind.at("timeout") == 8);
        CHECK(r->latency.count() == 8);
        CHECK(r->latency.min() >= 290ms);
        // Each timed-out stream is reset alone; the connection goes on. (The
        // last RST_STREAM may still be on its way to the server's thread.)
        CHECK(eventually([&server] { return server.resets_received() == 8; }));
        CHECK(server.connections() == 2);  // the check, and the run's one
        if (allowed == 1)
            CHECK(took >= 8 * 290ms);
        else
            CHECK(took < 2s);  // one after the other would take 2.4 s
    }
}

TEST_CASE("a stream the server resets is one stream_reset error, counted by its h2 code") {
    h2_fault_server server;
    const auto r = run(count_of(40, server.url("/reset"), 2, 4));
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->sent == 40);
    CHECK(r->responses == 0);
    CHECK(r->errors == 40);
    CHECK(r->errors_by_kind.at("stream_reset") == 40);
    CHECK(r->reset_codes.at("INTERNAL_ERROR") == 40);
    CHECK(load::to_text(*r).find("resets      INTERNAL_ERROR 40") != std::string::npos);
    CHECK(server.connections() <= 3);  // the connections go on
}

TEST_CASE("streams a GOAWAY leaves unprocessed are sent again on a new connection, once each") {
    // The run's first connection (after the check's) answers its first
    // request with GOAWAY, last stream id 0, and closes.
    h2_fault_server server({.goaway_connection = 2});
    const auto r = run(count_of(40, server.url("/ok"), 1, 4));
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->sent == 40);
    CHECK(r->responses == 40);
    CHECK(r->errors == 0);
    CHECK(r->status_counts.at(200) == 40);
    // The fault server also answers the streams that came with the one it
    // sent GOAWAY for, though the GOAWAY said it processed none: the client
    // goes by the GOAWAY and counts each request once.
    CHECK(server.answered() >= 40);
    CHECK(server.connections() == 3);
}

TEST_CASE("an h2 timed run ends at its duration, its answers in flight waited for") {
    h2_fault_server server;
    auto opts = count_of(1, server.url("/ok"), 2, 8);
    opts.requests.reset();
    opts.duration = 300ms;
    const auto started = std::chrono::steady_clock::now();
    const auto r = run(opts);
    REQUIRE(r);
    check_accounting(*r);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(r->responses > 0);
    CHECK(r->unanswered == 0);
    CHECK(r->errors == 0);
    CHECK(r->responses == server.answered());
}
