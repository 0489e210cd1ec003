#include <fanout/load/run.hpp>

#include "http_fault_server.hpp"

#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fmt/format.h>

#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using fanout::test::http_fault_server;
namespace load = fanout::load;

namespace {

// Options for `url`: `duration` long.
load::options timed(std::string url, std::chrono::milliseconds duration, std::size_t connections) {
    load::options opts;
    opts.urls = {std::move(url)};
    opts.duration = duration;
    opts.connections = connections;
    opts.threads = 2;
    return opts;
}

// Options for `url`: -n requests, bounded by a duration in case of a bug.
load::options count_of(std::uint64_t n, std::string url, std::size_t connections = 4) {
    auto opts = timed(std::move(url), std::chrono::seconds(20), connections);
    opts.requests = n;
    return opts;
}

fanout::result<load::result> run(load::options opts) {
    fanout::runtime rt({.loop_threads = 2});
    auto out = rt.run(load::run(rt, std::move(opts)));
    if (!out) UNSCOPED_INFO("the run failed: " << out.error().text());
    return out;
}

// A port nothing listens on: bound, then closed.
std::uint16_t closed_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

}  // namespace

TEST_CASE("a run of n requests sends exactly n and the server counts as many") {
    http_fault_server server;
    const auto r = run(count_of(1000, server.url("/ok"), 8));
    REQUIRE(r);
    CHECK(r->sent == 1000);
    CHECK(r->responses == 1000);
    CHECK(r->errors == 0);
    CHECK(r->status_counts.at(200) == 1000);
    CHECK(r->latency.count() == 1000);
    CHECK(r->corrected_latency.count() == 0);
    CHECK(server.requests_served() == 1000);
    CHECK(server.connections_accepted() <= 8 + 1);  // the check before the run, once
    CHECK(r->connections == 8);
    CHECK(r->threads == 2);
    CHECK(r->bytes_received > 1000 * 20);
    CHECK_FALSE(r->interrupted);
}

TEST_CASE("pipelined requests are all answered and matched in order") {
    http_fault_server server;
    auto opts = count_of(2000, server.url("/ok"), 4);
    opts.pipeline = 16;
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(r->responses == 2000);
    CHECK(r->errors == 0);
    CHECK(server.requests_served() == 2000);
    CHECK(r->pipeline == 16);
}

TEST_CASE("a timed run ends at its duration and never counts more than the server answered") {
    http_fault_server server;
    const auto opts = timed(server.url("/ok"), 300ms, 4);
    const auto started = std::chrono::steady_clock::now();
    const auto r = run(opts);
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(r);
    CHECK(r->duration >= 300ms);
    CHECK(r->duration < 2s);
    CHECK(took < 5s);
    CHECK(r->responses > 0);
    CHECK(r->responses <= server.requests_served());
    // Only requests in flight at the end go unanswered: one per connection.
    CHECK(server.requests_served() - r->responses <= 4);
    CHECK(r->requests_per_second() > 0);
}

TEST_CASE("each URL of an origin is sent in turn and statuses are counted by code") {
    http_fault_server server;
    auto opts = count_of(100, server.url("/ok"), 1);
    opts.urls.push_back(server.url("/status?code=503"));
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(r->status_counts.at(200) == 50);
    CHECK(r->status_counts.at(503) == 50);
    CHECK(r->errors == 0);
}

TEST_CASE("chunked answers and answers to HEAD are read to their end") {
    http_fault_server server;
    const auto chunked = run(count_of(200, server.url("/chunked")));
    REQUIRE(chunked);
    CHECK(chunked->responses == 200);
    CHECK(chunked->errors == 0);

    auto head = count_of(200, server.url("/size?bytes=5000"));
    head.method = "HEAD";
    const auto heads = run(head);
    REQUIRE(heads);
    CHECK(heads->responses == 200);
    CHECK(heads->errors == 0);
    CHECK(heads->bytes_received < 200 * 5000);
}

TEST_CASE("large bodies are read through without being kept") {
    http_fault_server server;
    const auto r = run(count_of(6, server.url("/size?bytes=3000000"), 2));
    REQUIRE(r);
    CHECK(r->responses == 6);
    CHECK(r->errors == 0);
    CHECK(r->bytes_received >= 6 * 3'000'000);
    CHECK(r->bytes_received < 6 * 3'001'000);
}

TEST_CASE("an answer with Connection close is counted and the connection opened again") {
    http_fault_server server;
    const auto r = run(count_of(50, server.url("/close"), 2));
    REQUIRE(r);
    CHECK(r->responses == 50);
    CHECK(r->errors == 0);
    CHECK(server.connections_accepted() >= 50);
}

TEST_CASE("answers that are not HTTP are errors of kind malformed_response") {
    http_fault_server server;
    const auto r = run(count_of(20, server.url("/garbage"), 2));
    REQUIRE(r);
    CHECK(r->responses == 0);
    CHECK(r->errors == 20);
    CHECK(r->errors_by_kind.at("malformed_response") == 20);
    CHECK(r->malformed_reasons.at("not an HTTP/1.x status line") == 20);
}

TEST_CASE("a request not answered within the timeout is an error of kind timeout") {
    http_fault_server server;
    auto opts = count_of(4, server.url("/hang"), 2);
    opts.timeout = 200ms;
    const auto started = std::chrono::steady_clock::now();
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    CHECK(r->errors == 4);
    CHECK(r->errors_by_kind.at("timeout") == 4);
}

TEST_CASE("connections are spread over the origins and each cycles through its own URLs") {
    http_fault_server first;
    http_fault_server second;
    auto opts = count_of(400, first.url("/ok"), 4);
    opts.urls.push_back(second.url("/ok"));
    opts.urls.push_back(second.url("/status?code=404"));
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(r->responses == 400);
    CHECK(first.requests_served() + second.requests_served() == 400);
    CHECK(first.requests_served() > 0);
    CHECK(second.requests_served() > 0);
    // Two connections each, plus the check before the run.
    CHECK(first.connections_accepted() <= 3);
    CHECK(second.connections_accepted() <= 3);

    auto too_few = opts;
    too_few.connections = 1;
    const auto refused = run(too_few);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().text().find("origins need at least") != std::string::npos);
}

TEST_CASE("connection j of an origin starts at its URL j, so every URL is sent from the start") {
    http_fault_server server;
    // Two connections, each sending its first request only: connection 0
    // at the start, connection 1 half a second later, the next at 1 s.
    auto opts = timed(server.url("/ok"), 700ms, 2);
    opts.urls.push_back(server.url("/status?code=404"));
    opts.rate = 2;
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(r->sent == 2);
    CHECK(r->status_counts.at(200) == 1);
    CHECK(r->status_counts.at(404) == 1);
}

TEST_CASE("with a request count, a server gone after the checks ends the run in connect errors") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto opts =
        count_of(20, fmt::format("http://127.0.0.1:{}/", acceptor.local_endpoint().port()), 2);
    fanout::runtime rt({.loop_threads = 2});
    load::run_hooks hooks;
    hooks.on_start = [&acceptor] { acceptor.close(); };  // the check has connected
    const auto r = rt.run(load::run(rt, opts, hooks));
    REQUIRE(r);
    CHECK(r->sent == 20);  // each failed connect stands for a request
    CHECK(r->errors == 20);
    CHECK(r->connect_errors == 20);
    CHECK(r->errors_by_kind.at("connection_refused") == 20);
}

TEST_CASE("bad input fails before anything is sent, naming what is wrong") {
    http_fault_server server;
    const auto refused = run(count_of(10, fmt::format("http://127.0.0.1:{}/", closed_port())));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().text().find("cannot connect") != std::string::npos);

    const auto bad_url = run(count_of(10, "http//nope"));
    REQUIRE_FALSE(bad_url);
    CHECK(bad_url.error().code == fanout::errc::invalid_input);

    // The fault server speaks plain HTTP only: the TLS handshake fails (or
    // times out).
    auto plain_as_tls = count_of(10, server.url("/ok").replace(0, 4, "https"));
    plain_as_tls.timeout = 300ms;
    const auto tls = run(plain_as_tls);
    REQUIRE_FALSE(tls);
    CHECK(tls.error().text().find("TLS handshake") != std::string::npos);

    auto bad_ca = count_of(10, server.url("/ok").replace(0, 4, "https"));
    bad_ca.ca_file = "/nonexistent/ca.pem";
    const auto no_ca = run(bad_ca);
    REQUIRE_FALSE(no_ca);
    CHECK(no_ca.error().text().find("CA file") != std::string::npos);

    auto bad_header = count_of(10, server.url("/ok"));
    bad_header.headers.push_back({"X-Bad", "a\r\nInjected: yes"});
    CHECK_FALSE(run(bad_header));

    auto no_rate = count_of(10, server.url("/ok"));
    no_rate.rate = 0;
    CHECK_FALSE(run(no_rate));
    CHECK(server.requests_served() == 0);
}

TEST_CASE("headers and a body are sent with every request") {
    http_fault_server server;
    auto opts = count_of(3, server.url("/echo"), 1);
    opts.method = "POST";
    opts.headers.push_back({"X-Test", "yes"});
    opts.body = "payload";
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(r->responses == 3);
    CHECK(r->status_counts.at(200) == 3);
    CHECK(r->bytes_sent > 3 * 7);
}

TEST_CASE("an open-loop run says when the server is too slow for the rate asked") {
    http_fault_server server;
    auto opts = timed(server.url("/delay?ms=20"), 500ms, 1);
    opts.rate = 1000;  // one connection, one request at a time: 50/s at most
    const auto r = run(opts);
    REQUIRE(r);
    CHECK_FALSE(r->rate_kept());
    CHECK(r->sent < 100);
    CHECK(r->corrected_latency.max() > r->latency.max());
    CHECK(load::to_text(*r).find("rate asked for was not kept") != std::string::npos);
}

TEST_CASE("the tick hook sees the counts grow while the run goes on") {
    http_fault_server server;
    fanout::runtime rt({.loop_threads = 2});
    const auto opts = timed(server.url("/ok"), 500ms, 2);
    load::run_hooks hooks;
    hooks.tick = std::chrono::milliseconds(50);
    bool started = false;
    std::vector<load::live_counts> ticks;
    hooks.on_start = [&started] { started = true; };
    hooks.on_tick = [&ticks](const load::live_counts& live) { ticks.push_back(live); };
    const auto r = rt.run(load::run(rt, opts, hooks));
    REQUIRE(r);
    CHECK(started);
    REQUIRE(ticks.size() >= 3);
    for (std::size_t i = 1; i < ticks.size(); ++i) {
        CHECK(ticks[i].responses >= ticks[i - 1].responses);
        CHECK(ticks[i].elapsed > ticks[i - 1].elapsed);
    }
    CHECK(ticks.back().responses > 0);
    CHECK(ticks.back().responses <= r->responses);
    CHECK_FALSE(ticks.back().total.has_value());
}

TEST_CASE("cancelling a run returns what was done, marked interrupted") {
    http_fault_server server;
    fanout::runtime rt({.loop_threads = 2});
    const auto opts = timed(server.url("/ok"), 30s, 4);
    std::thread canceller([&rt] {
        std::this_thread::sleep_for(300ms);
        rt.cancel();
    });
    const auto started = std::chrono::steady_clock::now();
    const auto r = rt.run(load::run(rt, opts));
    canceller.join();
    REQUIRE(r);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    CHECK(r->interrupted);
    CHECK(r->responses > 0);
    CHECK(r->duration < 10s);
}

namespace {

// Every request sent is answered, failed or unanswered: once each.
void check_accounting(const load::result& r) {
    INFO("sent " << r.sent << ", answered " << r.responses << ", errors " << r.errors
                 << ", unanswered " << r.unanswered);
    CHECK(r.responses + r.errors + r.unanswered == r.sent);
}

}  // namespace

TEST_CASE(
    "when the duration ends, answers in flight are waited for and counted with their latency") {
    http_fault_server server;
    auto opts = timed(server.url("/delay?ms=1500"), 300ms, 2);
    opts.timeout = 10s;
    const auto started = std::chrono::steady_clock::now();
    const auto r = run(opts);
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->sent == 2);  // one per connection, sent at the start
    CHECK(r->responses == 2);
    CHECK(r->errors == 0);
    CHECK(r->unanswered == 0);
    CHECK(r->latency.percentile(99) >= 1400ms);
    CHECK(took >= 1400ms);
    CHECK(took < 8s);
}

TEST_CASE("an answer in flight at the end that does not come within the timeout is a timeout") {
    http_fault_server server;
    auto opts = timed(server.url("/delay?ms=5000"), 300ms, 2);
    opts.timeout = 1s;
    const auto r = run(opts);
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->sent == 2);
    CHECK(r->responses == 0);
    CHECK(r->errors == 2);
    CHECK(r->errors_by_kind.at("timeout") == 2);
    CHECK(r->unanswered == 0);
    CHECK(r->error_percent() == Approx(100.0));
    // A request that timed out took at least the timeout.
    CHECK(r->latency.count() == 2);
    CHECK(r->latency.percentile(50) >= 950ms);
}

TEST_CASE("requests in flight when a run is cancelled are counted as unanswered") {
    http_fault_server server;
    fanout::runtime rt({.loop_threads = 2});
    auto opts = timed(server.url("/hang"), 30s, 4);
    opts.timeout = 20s;
    std::thread canceller([&rt, &server] {
        // Once each connection's request is in (bounded: cancel anyway after 10 s).
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (server.requests_served() < 4 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(10ms);
        rt.cancel();
    });
    const auto r = rt.run(load::run(rt, opts));
    canceller.join();
    REQUIRE(r);
    CHECK(r->interrupted);
    check_accounting(*r);
    CHECK(r->sent == 4);
    CHECK(r->unanswered == 4);
    CHECK(r->error_percent() == Approx(100.0));
}

TEST_CASE("bytes after an answer make it an error, not an answer and an error") {
    http_fault_server server;
    const auto r = run(count_of(20, server.url("/too-long"), 2));
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->sent == 20);
    CHECK(r->errors > 0);
    CHECK(r->errors_by_kind.at("malformed_response") == r->errors);
    CHECK(r->malformed_reasons.at("bytes past the end of the answer") > 0);
}

TEST_CASE("a body delimited by the connection's close is an answer") {
    http_fault_server server;
    auto opts = count_of(20, server.url("/until-close"), 2);
    const auto r = run(opts);
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->responses == 20);
    CHECK(r->errors == 0);
    CHECK(r->status_counts.at(200) == 20);

    opts.pipeline = 4;  // what was written after such an answer is not answered
    const auto pipelined = run(opts);
    REQUIRE(pipelined);
    check_accounting(*pipelined);
    CHECK(pipelined->responses > 0);
    CHECK(pipelined->errors_by_kind.count("malformed_response") == 0);
}

TEST_CASE("a failed connect counts as a request sent and an error") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto opts =
        timed(fmt::format("http://127.0.0.1:{}/", acceptor.local_endpoint().port()), 300ms, 2);
    fanout::runtime rt({.loop_threads = 2});
    load::run_hooks hooks;
    hooks.on_start = [&acceptor] { acceptor.close(); };
    const auto r = rt.run(load::run(rt, opts, hooks));
    REQUIRE(r);
    check_accounting(*r);
    CHECK(r->connect_errors > 0);
    CHECK(r->sent == r->connect_errors);
}

TEST_CASE("a rate too slow for the clock to hold is paced, never sent at full speed") {
    http_fault_server server;
    for (const double rate : {1e-10, 1e-300, 4.9e-324}) {
        const auto before = server.requests_served();
        auto opts = timed(server.url("/ok"), 500ms, 4);
        opts.rate = rate;
        const auto r = run(opts);
        INFO(rate);
        REQUIRE(r);
        check_accounting(*r);
        // Connection 0's first request is due at the start; nothing else
        // comes due within 500 ms.
        CHECK(r->sent == 1);
        CHECK(server.requests_served() - before <= 1);
    }
}

TEST_CASE("a run's time series adds up to its counts, interval by interval") {
    http_fault_server server;
    const auto before = std::chrono::system_clock::now();
    const auto r = run(timed(server.url("/ok"), 500ms, 4));
    REQUIRE(r);
    const auto& series = r->series;
    CHECK(series.interval == 100ms);
    CHECK(series.intervals.size() >= 5);
    CHECK(series.start_unix_ns >=
          std::chrono::duration_cast<std::chrono::nanoseconds>(before.time_since_epoch()).count());
    const auto total = series.total();
    CHECK(total.sent == r->sent);
    CHECK(total.answered == r->responses);
    CHECK(total.errors == r->errors);
    CHECK(total.latency.count() == r->latency.count());
    CHECK(total.latency.max() == r->latency.max());
    CHECK(total.corrected_latency.count() == 0);  // closed loop
}

TEST_CASE("a timeout counts in the series by kind, with its latency") {
    http_fault_server server;
    auto opts = count_of(2, server.url("/hang"), 2);
    opts.timeout = 200ms;
    const auto r = run(opts);
    REQUIRE(r);
    const auto total = r->series.total();
    CHECK(total.errors == 2);
    CHECK(total.errors_by_kind.at("timeout") == 2);
    CHECK(total.latency.count() == 2);
    CHECK(total.latency.max() >= 200ms);
}

TEST_CASE(
    "an open-loop series shows a server stall as intervals with no answers, then a jump in "
    "corrected latency") {
    http_fault_server server;
    auto opts = timed(server.url("/ok"), 1500ms, 2);
    opts.rate = 200;
    // The stall starts once the run is under way (60 answers, about 0.3 s
    // at 200/s), not at a time guessed from outside: the run's start moves
    // on a loaded machine.
    std::jthread staller([&server] {
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        while (server.requests_served() < 60 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(1ms);
        server.stall_for(500ms);
    });
    const auto r = run(opts);
    REQUIRE(r);
    const auto& intervals = r->series.intervals;
    std::size_t peak = 0;
    for (std::size_t i = 0; i < intervals.size(); ++i)
        if (intervals[i].corrected_latency.max() > intervals[peak].corrected_latency.max())
            peak = i;
    INFO("peak interval " << peak);
    CHECK(intervals[peak].corrected_latency.max() >= 400ms);
    REQUIRE(peak >= 3);
    for (std::size_t i = peak - 3; i < peak; ++i) CHECK(intervals[i].answered == 0);
    CHECK(r->series.total().corrected_latency.count() == r->corrected_latency.count());
}
