// fanout sweep against in-process servers with faults (HTTP, DNS), a real
// nginx (HTTP and HTTPS with a CA made at test time) and a real nsd: a
// verdict and an error kind per line, exactly once, within its timeout;
// retries, deadline, per-host limit, shards, Ctrl-C and bad flags.
#include "child_process.hpp"
#include "cli_output.hpp"
#include "dns_responder.hpp"
#include "http_fault_server.hpp"
#include "nghttpd_server.hpp"
#include "nginx_server.hpp"
#include "nsd_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace json = boost::json;
using fanout::test::child_process;
using fanout::test::dns_responder;
using fanout::test::http_fault_server;
using fanout::test::json_lines;
using fanout::test::nginx_server;
using fanout::test::nsd_server;
using fanout::test::str;
using fanout::test::temp_file;
using namespace std::chrono_literals;

namespace {

std::string error_kind(const json::object& record) {
    const auto& error = record.at("error");
    return error.is_null() ? std::string("ok") : str(error.as_object(), "kind");
}

double elapsed_ms(const json::object& record) {
    const auto& value = record.at("elapsed_ms");
    return value.is_double() ? value.as_double() : static_cast<double>(value.as_int64());
}

// The records of a run by line number; each line must come out once.
std::map<std::int64_t, json::object> by_line(const std::string& output) {
    std::map<std::int64_t, json::object> out;
    for (auto& r : json_lines(output)) {
        const auto line = r.at("line").as_int64();
        CHECK(out.emplace(line, std::move(r)).second);
    }
    return out;
}

// A loopback port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

child_process sweep(const temp_file& input, std::vector<std::string> args) {
    std::vector<std::string> argv{FANOUT_CLI_PATH, "sweep", input.path.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return child_process(argv);
}

}  // namespace

TEST_CASE("fanout sweep gives each line of a mixed file its verdict and kind, once, in time") {
    http_fault_server http;
    dns_responder dns;
    dns.add(fanout::test::dns_a("ok.example.test", "192.0.2.1"));
    dns.set_rule("silent.example.test", {fanout::test::dns_behaviour::drop});
    const auto refused = closed_port();
    const std::string server = dns.server();
    const std::vector<std::pair<std::string, std::string>> lines{
        {http.url("/ok"), "ok"},
        {"http://127.0.0.1:" + std::to_string(refused) + "/ok", "connection_refused"},
        {http.url("/hang"), "timeout"},
        {http.url("/delay?ms=600"), "too_slow"},
        {http.url("/reset-mid-body"), "connection_reset"},
        {http.url("/garbage"), "malformed_response"},
        {http.url("/redirect-count?n=3"), "ok"},
        {http.url("/loop-a"), "redirect_loop"},
        {http.url("/status?code=503"), "unexpected_status"},
        {"tcp://127.0.0.1:" + std::to_string(http.port()), "ok"},
        {"tcp://127.0.0.1:" + std::to_string(refused), "connection_refused"},
        {"dns://ok.example.test?server=" + server, "ok"},
        {"dns://missing.example.test?server=" + server, "nxdomain"},
        {"dns://silent.example.test?server=" + server, "timeout"},
        {"ftp://127.0.0.1/file", "invalid_target"},
        {"not a target", "invalid_target"},
        {"tcp://127.0.0.1", "invalid_target"},
    };
    std::string text = "# a mixed list\n\n";
    for (const auto& [target, kind] : lines) text += target + "\n";
    temp_file input(text);

    const auto began = std::chrono::steady_clock::now();
    auto run = sweep(input, {"--timeout", "1s", "--max-latency", "400ms", "-c", "50"});
    const auto status = run.wait_for_exit(60s);
    const auto took = std::chrono::steady_clock::now() - began;
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    CHECK(took < 20s);

    const auto records = by_line(run.output());
    REQUIRE(records.size() == lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& r = records.at(static_cast<std::int64_t>(i + 3));  // after two lines
        INFO(lines[i].first << ": " << json::serialize(r));
        CHECK(str(r, "input") == lines[i].first);
        CHECK(error_kind(r) == lines[i].second);
        CHECK(r.at("ok").as_bool() == (lines[i].second == "ok"));
        for (const char* key : {"line", "input", "kind", "ok", "error", "attempts", "elapsed_ms"})
            CHECK(r.contains(key));
        // Within its timeout: nothing waits much longer than 1 s.
        CHECK(elapsed_ms(r) < 3000);
        if (lines[i].second == "timeout") CHECK(elapsed_ms(r) >= 1000);
    }
    const auto& first = records.at(3);
    CHECK(str(first, "kind") == "http");
    CHECK(first.at("status").as_int64() == 200);
    CHECK(records.at(11).at("status").as_int64() == 503);
    CHECK(str(records.at(12), "address") == "127.0.0.1:" + std::to_string(http.port()));
    CHECK(records.at(14).at("answers").as_array().at(0).as_string() == "A 192.0.2.1");
    CHECK(str(records.at(17), "kind") == "invalid");
    CHECK(run.errors().find("done in") != std::string::npos);
    CHECK(run.errors().find("invalid              3") != std::string::npos);
}

TEST_CASE("fanout sweep checks a real nginx over HTTP and HTTPS with a CA made at test time") {
    nginx_server nginx({.https = true});
    temp_file input(nginx.url("/ok") + "\n" + nginx.url("/redirect") + "\n" +
                    nginx.https_url("/ok") + "\n" + nginx.wrong_name_url("/ok") + "\n" +
                    nginx.url("/missing") + "\n");
    {
        auto run = sweep(input, {"--ca-file", nginx.pki().ca_certificate, "--body-contains", "ok"});
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 1);
        const auto records = by_line(run.output());
        REQUIRE(records.size() == 5);
        CHECK(error_kind(records.at(1)) == "ok");
        CHECK(error_kind(records.at(2)) == "ok");
        CHECK(records.at(2).at("status").as_int64() == 200);
        CHECK(error_kind(records.at(3)) == "ok");
        CHECK(error_kind(records.at(4)) == "certificate_name_mismatch");
        CHECK(error_kind(records.at(5)) == "unexpected_status");
        CHECK(records.at(5).at("status").as_int64() == 404);
    }
    {
        auto run = sweep(input, {"--insecure", "--body-contains", "not in the body"});
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        const auto records = by_line(run.output());
        REQUIRE(records.size() == 5);
        for (std::int64_t line = 1; line <= 4; ++line)
            CHECK(error_kind(records.at(line)) == "body_mismatch");
    }
}

// The certificates of the test CA are valid two days: one whole day left,
// fewer than --cert-days 14, so the target is healthy with a warning.
TEST_CASE("fanout sweep reports the days a certificate has left and warns under --cert-days") {
    nginx_server nginx({.https = true});
    temp_file input(nginx.https_url("/ok") + "\n");
    auto run = sweep(input, {"--ca-file", nginx.pki().ca_certificate, "--cert-days", "14"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 1);
    CHECK(records.at(1).at("ok").as_bool());
    REQUIRE(records.at(1).at("cert_days_left").is_int64());
    CHECK(records.at(1).at("cert_days_left").as_int64() == 1);
    CHECK(!records.at(1).at("warning").is_null());
}

namespace {

// A phase's milliseconds in a record: nothing when null.
std::optional<double> phase_ms(const json::object& record, const char* key) {
    const auto& value = record.at(key);
    if (value.is_null()) return std::nullopt;
    return value.is_double() ? value.as_double() : static_cast<double>(value.as_int64());
}

// The access log's requests that came to `port`.
std::vector<std::string> requests_on(const nginx_server& nginx, std::uint16_t port) {
    std::vector<std::string> out;
    for (const auto& entry : nginx.access_log())
        if (entry.port == port) out.push_back(entry.request);
    return out;
}

}  // namespace

TEST_CASE("fanout sweep records the HTTP version, peer and phase timings of each answer") {
    nginx_server h2({.https = true, .http2 = true});
    nginx_server h1({.https = true});
    // One file trusting both servers' test CAs.
    std::ifstream first(h2.pki().ca_certificate), second(h1.pki().ca_certificate);
    std::stringstream both;
    both << first.rdbuf() << second.rdbuf();
    temp_file cas(both.str());
    temp_file input(h2.https_url("/ok") + "\n" + h2.url("/ok") + "\n" + h1.https_url("/ok") + "\n");
    const auto run_with = [&](std::vector<std::string> flags) {
        flags.insert(flags.end(), {"--ca-file", cas.path.string(), "--timeout", "5s"});
        auto run = sweep(input, flags);
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        auto records = by_line(run.output());
        REQUIRE(records.size() == 3);
        return std::pair{status.code, std::move(records)};
    };
    const auto https_port = "127.0.0.1:" + std::to_string(h2.https_port());

    SECTION("by default https negotiates h2 where offered, with every phase timed") {
        const auto [code, records] = run_with({});
        CHECK(code == 0);
        for (const auto& [line, r] : records) {
            INFO(json::serialize(r));
            CHECK(error_kind(r) == "ok");
            const auto latency = phase_ms(r, "latency_ms").value();
            double phases = 0;
            for (const char* key : {"dns_ms", "connect_ms", "first_byte_ms"}) {
                const auto took = phase_ms(r, key);
                REQUIRE(took);
                CHECK(*took >= 0);
                phases += *took;
            }
            // Plain http has no TLS handshake; https has one.
            const auto tls = phase_ms(r, "tls_ms");
            CHECK(tls.has_value() == (line != 2));
            if (tls) {
                CHECK(*tls > 0);
                phases += *tls;
            }
            CHECK(phases <= latency + 0.01);
        }
        CHECK(str(records.at(1), "http_version") == "2");
        CHECK(str(records.at(2), "http_version") == "1.1");
        CHECK(str(records.at(3), "http_version") == "1.1");
        CHECK(str(records.at(1), "address") == https_port);
        CHECK(str(records.at(2), "address") == "127.0.0.1:" + std::to_string(h2.port()));
        CHECK(str(records.at(3), "address") == "127.0.0.1:" + std::to_string(h1.https_port()));
        CHECK(requests_on(h2, h2.https_port()) == std::vector<std::string>{"GET /ok HTTP/2.0"});
    }
    SECTION("--http1.1 speaks HTTP/1.1 to a server that offers h2") {
        const auto [code, records] = run_with({"--http1.1"});
        CHECK(code == 0);
        for (const auto& [line, r] : records) {
            INFO(json::serialize(r));
            CHECK(error_kind(r) == "ok");
            CHECK(str(r, "http_version") == "1.1");
        }
        CHECK(requests_on(h2, h2.https_port()) == std::vector<std::string>{"GET /ok HTTP/1.1"});
    }
    SECTION("--http2 fails an https server without h2 by name, and plain http stays 1.1") {
        const auto [code, records] = run_with({"--http2"});
        CHECK(code == 1);
        CHECK(str(records.at(1), "http_version") == "2");
        CHECK(str(records.at(2), "http_version") == "1.1");
        const auto& refused = records.at(3);
        INFO(json::serialize(refused));
        CHECK(error_kind(refused) == "http2_not_negotiated");
        CHECK(refused.at("attempts").as_int64() == 1);  // not retried: it would fail again
        for (const char* key : {"http_version", "address", "status", "first_byte_ms"})
            CHECK(refused.at(key).is_null());
        CHECK(requests_on(h1, h1.https_port()).empty());
    }
}

TEST_CASE("fanout sweep --http2-prior-knowledge speaks h2c to an http:// target") {
    fanout::test::nghttpd_server h2c({.no_tls = true});
    temp_file input(h2c.url("/ok.txt") + "\n");
    auto run = sweep(input, {"--http2-prior-knowledge", "--timeout", "5s"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 1);
    const auto& r = records.at(1);
    INFO(json::serialize(r));
    CHECK(error_kind(r) == "ok");
    CHECK(str(r, "http_version") == "2");
    CHECK(str(r, "address") == "127.0.0.1:" + std::to_string(h2c.port()));
    CHECK(r.at("tls_ms").is_null());
    CHECK(phase_ms(r, "connect_ms").has_value());
}

TEST_CASE("fanout sweep refuses two HTTP version flags at once") {
    temp_file input("http://127.0.0.1:1/\n");
    auto run = sweep(input, {"--http1.1", "--http2"});
    const auto status = run.wait_for_exit(30s);
    REQUIRE(status.exited);
    CHECK(status.code == 2);
    CHECK(run.output().empty());
}

TEST_CASE("fanout sweep checks DNS targets against a real nsd") {
    const nsd_server server(10);
    const auto at = "?server=" + server.server();
    temp_file input("dns://" + nsd_server::name_of(3) + at + "\n" + "dns://fanout.test" + at +
                    "&type=MX\n" + "dns://missing.fanout.test" + at + "\n" + "dns://" +
                    nsd_server::name_of(3) + at + "&type=TXT\n");
    auto run = sweep(input, {"--timeout", "2s"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 4);
    CHECK(error_kind(records.at(1)) == "ok");
    CHECK(records.at(1).at("answers").as_array().at(0).as_string() ==
          "A " + nsd_server::address_of(3));
    CHECK(error_kind(records.at(2)) == "ok");
    CHECK(records.at(2).at("answers").as_array().at(0).as_string() == "MX 10 mail.fanout.test");
    CHECK(error_kind(records.at(3)) == "nxdomain");
    CHECK(error_kind(records.at(4)) == "no_data");
}

TEST_CASE("a target is healthy when a retry succeeds, and its attempts are recorded") {
    http_fault_server http;
    const auto late = closed_port();
    temp_file input("tcp://127.0.0.1:" + std::to_string(late) + "\n" +
                    http.url("/status?code=503") + "\n");
    auto run = sweep(input, {"--retries", "8", "--timeout", "1s"});
    // The port starts listening a little after the sweep started.
    std::this_thread::sleep_for(300ms);
    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), late});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 2);
    CHECK(records.at(1).at("ok").as_bool());
    // Refused at first, then healthy: more than one attempt. (Its elapsed
    // time has no lower bound here: the item's clock starts when its line is
    // read, after the process started, not when this test began to wait.)
    CHECK(records.at(1).at("attempts").as_int64() > 1);
    CHECK(elapsed_ms(records.at(1)) > 0);
    CHECK(error_kind(records.at(2)) == "unexpected_status");
    CHECK(records.at(2).at("attempts").as_int64() == 9);
}

TEST_CASE("sweep retries neither a redirect loop, a body without its text nor a 404") {
    http_fault_server http;
    temp_file input(http.url("/loop-a") + "\n" + http.url("/size?bytes=2000000") + "\n" +
                    http.url("/status?code=404") + "\n" + http.url("/status?code=502") + "\n");
    // --body-contains: the text is looked for in the first --max-body bytes
    // (1 MiB) and is not there; the same body comes again on a retry.
    auto run = sweep(input, {"--retries", "2", "--timeout", "2s", "--body-contains", "ok"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 4);
    CHECK(error_kind(records.at(1)) == "redirect_loop");
    CHECK(error_kind(records.at(2)) == "body_mismatch");
    CHECK(error_kind(records.at(3)) == "unexpected_status");
    for (const std::int64_t line : {1, 2, 3}) {
        INFO("line " << line);
        CHECK(records.at(line).at("attempts").as_int64() == 1);
    }
    // A 502 may pass next time: it gets its two retries.
    CHECK(records.at(4).at("attempts").as_int64() == 3);
}

TEST_CASE("sweep waits the Retry-After of a 503 before its next attempt") {
    http_fault_server http;
    temp_file input(http.url("/status?code=503&retry_after=1") + "\n");
    auto run = sweep(input, {"--retries", "1", "--timeout", "2s"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 1);
    CHECK(records.at(1).at("attempts").as_int64() == 2);
    // One second asked for; the backoff alone would be under 100 ms.
    CHECK(elapsed_ms(records.at(1)) >= 1000);
}

TEST_CASE("the deadline ends the sweep: targets in flight and not started are reported") {
    http_fault_server http;
    std::string text;
    for (int i = 0; i < 3; ++i) text += http.url("/ok") + "\n";
    for (int i = 0; i < 50; ++i) text += http.url("/hang") + "\n";
    temp_file input(text);
    const auto began = std::chrono::steady_clock::now();
    auto run = sweep(input, {"-c", "10", "--timeout", "30s", "--deadline", "500ms"});
    const auto status = run.wait_for_exit(30s);
    const auto took = std::chrono::steady_clock::now() - began;
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    CHECK(took >= 500ms);
    CHECK(took < 10s);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 53);
    std::map<std::string, int> kinds;
    for (const auto& [line, r] : records) ++kinds[error_kind(r)];
    CHECK(kinds["ok"] == 3);
    CHECK(kinds["deadline_exceeded"] + kinds["cancelled"] == 50);
    CHECK(kinds["deadline_exceeded"] >= 7);
}

TEST_CASE("a per-host limit keeps the checks of one host in flight under its limit") {
    http_fault_server http;
    std::string text;
    for (int i = 0; i < 12; ++i) text += http.url("/delay?ms=100") + "\n";
    temp_file input(text);
    const auto began = std::chrono::steady_clock::now();
    auto run = sweep(input, {"-c", "50", "--per-host", "2"});
    const auto status = run.wait_for_exit(30s);
    const auto took = std::chrono::steady_clock::now() - began;
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(by_line(run.output()).size() == 12);
    CHECK(http.max_open_connections() <= 2);
    CHECK(took >= 600ms);  // 12 checks of 100 ms, 2 at a time
}

TEST_CASE("after --max-host-errors failures of a hanging host its other targets are not tried") {
    http_fault_server healthy;
    http_fault_server hanging;  // another port: another host key
    constexpr int hanging_targets = 60;
    constexpr int healthy_targets = 20;
    constexpr int limit = 6;
    std::string text;
    for (int i = 0; i < hanging_targets + healthy_targets; ++i)
        text += (i % 4 == 3 ? healthy.url("/ok?n=" + std::to_string(i))
                            : hanging.url("/hang?n=" + std::to_string(i))) +
                "\n";
    // The first healthy ones come after the lines of the hanging host.
    temp_file input(text);
    auto run = sweep(input, {"--max-host-errors", "3", "--timeout", "300ms", "-c",
                             std::to_string(limit), "--threads", "2", "--format", "jsonl"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == hanging_targets + healthy_targets);
    int timed_out = 0, refused = 0, healthy_ok = 0;
    for (const auto& [line, r] : records) {
        const auto kind = error_kind(r);
        INFO("line " << line << " " << kind);
        if (line % 4 == 0) {
            CHECK(kind == "ok");
            healthy_ok += kind == "ok";
        } else if (kind == "timeout") {
            ++timed_out;
        } else {
            CHECK(kind == "circuit_open");
            CHECK(r.at("attempts").as_int64() == 0);
            ++refused;
        }
    }
    CHECK(healthy_ok == healthy_targets);
    // Once the third timeout is in, only the checks already in flight
    // (at most limit - 1 others) reach the hanging host.
    CHECK(timed_out >= 3);
    CHECK(timed_out <= 3 + limit - 1);
    CHECK(refused == hanging_targets - timed_out);
    CHECK(run.errors().find("circuit open") != std::string::npos);
}

TEST_CASE("with --hedge a check whose first request is held is answered by its twin") {
    // /item/N with N % 50 == 7: the server holds the first request for N
    // and answers later ones.
    const auto targets = [](http_fault_server& http, int from) {
        std::string text;
        for (int i = 0; i < 4; ++i)
            text += http.url("/item/" + std::to_string(from + 50 * i)) + "\n";
        for (int i = 0; i < 8; ++i) text += http.url("/ok?n=" + std::to_string(i)) + "\n";
        return temp_file(text);
    };
    {
        http_fault_server http;
        const auto input = targets(http, 7);
        auto run = sweep(input, {"--hedge", "100ms", "--timeout", "10s", "-c", "12", "--threads",
                                 "1", "--format", "jsonl"});
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        const auto records = by_line(run.output());
        REQUIRE(records.size() == 12);
        for (const auto& [line, r] : records) {
            INFO("line " << line);
            CHECK(error_kind(r) == "ok");
            if (line <= 4) {
                // Answered by the twin, long before the 10 s timeout.
                CHECK(r.at("hedges").as_int64() == 1);
                CHECK(r.at("hedge_won").as_bool());
                CHECK(r.at("status").as_int64() == 200);
                CHECK(elapsed_ms(r) >= 100);
                CHECK(elapsed_ms(r) < 5000);
                CHECK(r.at("attempts").as_int64() == 1);
            } else {
                CHECK_FALSE(r.contains("hedges"));  // answered before the delay
            }
        }
        CHECK(run.errors().find("hedged               4   (4 answered by the twin)") !=
              std::string::npos);
    }
    {
        // --hedge p50: no twin before 50 latencies are in, then one after
        // the loop's median (about a millisecond here).
        http_fault_server http;
        std::string text;
        for (int i = 0; i < 60; ++i) text += http.url("/ok?n=" + std::to_string(i)) + "\n";
        for (int i = 0; i < 4; ++i) text += http.url("/item/" + std::to_string(7 + 50 * i)) + "\n";
        temp_file input(text);
        auto run = sweep(input, {"--hedge", "p50", "--timeout", "10s", "-c", "4", "--threads", "1",
                                 "--format", "jsonl"});
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        const auto records = by_line(run.output());
        REQUIRE(records.size() == 64);
        for (std::int64_t line = 61; line <= 64; ++line) {
            INFO("line " << line);
            const auto& r = records.at(line);
            CHECK(error_kind(r) == "ok");
            CHECK(r.at("hedge_won").as_bool());
            CHECK(elapsed_ms(r) < 5000);
        }
    }
    {
        // Without --hedge the held requests time out.
        http_fault_server http;
        const auto input = targets(http, 7);
        auto run = sweep(input, {"--timeout", "300ms", "-c", "12", "--format", "jsonl"});
        const auto status = run.wait_for_exit(60s);
        REQUIRE(status.exited);
        CHECK(status.code == 1);
        const auto records = by_line(run.output());
        REQUIRE(records.size() == 12);
        for (const auto& [line, r] : records) {
            CHECK(error_kind(r) == (line <= 4 ? "timeout" : "ok"));
            CHECK_FALSE(r.contains("hedges"));
        }
    }
}

TEST_CASE("fanout sweep shards 1/3, 2/3, 3/3 of stdin cover it exactly once") {
    http_fault_server http;
    std::string text;
    for (int i = 0; i < 100; ++i) text += http.url("/ok?i=" + std::to_string(i)) + "\n";
    temp_file input(text);
    std::multiset<std::string> seen;
    for (const char* shard : {"1/3", "2/3", "3/3"}) {
        child_process run({"/bin/sh", "-c", "exec \"$0\" sweep - --shard \"$1\" < \"$2\"",
                           FANOUT_CLI_PATH, shard, input.path.string()});
        const auto status = run.wait_for_exit(60s);
        INFO(shard << ": " << run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        for (const auto& r : json_lines(run.output())) seen.insert(str(r, "input"));
    }
    CHECK(seen.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(seen.count(http.url("/ok?i=" + std::to_string(i))) == 1);
}

TEST_CASE("SIGINT to fanout sweep reports every line, the unchecked as cancelled, exit 130") {
    http_fault_server http;
    std::string text;
    for (int i = 0; i < 5; ++i) text += http.url("/ok?fast=" + std::to_string(i)) + "\n";
    for (int i = 0; i < 995; ++i) text += http.url("/hang?slow=" + std::to_string(i)) + "\n";
    temp_file input(text);
    auto run = sweep(input, {"-c", "20", "--timeout", "30s", "--threads", "1"});
    // Records are flushed within 100 ms of completing.
    REQUIRE(run.wait_for_output("fast=4", 20s));
    const auto wait_until = std::chrono::steady_clock::now() + 10s;
    while (http.requests_served() < 25 && std::chrono::steady_clock::now() < wait_until)
        std::this_thread::sleep_for(10ms);
    REQUIRE(http.requests_served() >= 25);
    run.signal(SIGINT);
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 130);

    const auto records = by_line(run.output());
    CHECK(records.size() == 1000);
    std::size_t ok = 0, cancelled_in_flight = 0, not_started = 0;
    for (const auto& [line, r] : records) {
        if (r.at("ok").as_bool()) {
            ++ok;
            continue;
        }
        CHECK(error_kind(r) == "cancelled");
        (r.at("attempts").as_int64() == 0 ? not_started : cancelled_in_flight) += 1;
    }
    CHECK(ok == 5);
    CHECK(cancelled_in_flight == 20);
    CHECK(not_started == 975);
    CHECK(run.errors().find("interrupted in") != std::string::npos);
}

TEST_CASE("fanout sweep exits 2 on bad flags, and on invalid lines alone") {
    temp_file invalid("not a target\nftp://example.test/\n");
    {
        auto run = sweep(invalid, {});
        const auto status = run.wait_for_exit(30s);
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(json_lines(run.output()).size() == 2);
    }
    struct expected {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<expected> cases{
        {{"--shard", "4/3"}, "bad shard '4/3'"},
        {{"--timeout", "soon"}, "--timeout"},
        {{"--expect-status", "2xx"}, "bad status list '2xx'"},
        {{"--deadline", "0s"}, "--deadline must be at least 1ms"},
        {{"--format", "xml"}, "--format"},
        {{"--hedge", "p100"}, "--hedge: 'p100' is neither a duration"},
        {{"--hedge", "p0"}, "--hedge: 'p0'"},
        {{"--hedge", "soon"}, "--hedge"},
        {{"--hedge", "100ms", "--hedge-calls", "6"}, "--hedge-calls"},
    };
    for (const auto& c : cases) {
        auto run = sweep(invalid, c.args);
        const auto status = run.wait_for_exit(30s);
        INFO(c.message << ": " << run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(run.errors().find(c.message) != std::string::npos);
        CHECK(run.output().empty());
    }
    child_process missing({FANOUT_CLI_PATH, "sweep", "/nonexistent/targets.txt"});
    const auto status = missing.wait_for_exit(30s);
    REQUIRE(status.exited);
    CHECK(status.code == 2);
    CHECK(missing.errors().find("cannot read '/nonexistent/targets.txt'") != std::string::npos);
}

TEST_CASE("a rate limit spaces the checks out, and every line still comes out once") {
    http_fault_server http;
    std::string text;
    for (int i = 0; i < 11; ++i) text += http.url("/ok?i=" + std::to_string(i)) + "\n";
    temp_file input(text);
    const auto began = std::chrono::steady_clock::now();
    auto run = sweep(input, {"--rate", "20", "-c", "100"});
    const auto status = run.wait_for_exit(30s);
    const auto took = std::chrono::steady_clock::now() - began;
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(by_line(run.output()).size() == 11);
    CHECK(took >= 500ms);  // 11 starts at 20 a second: 10 intervals of 50 ms
}

TEST_CASE("Prometheus and CSV output come out whole from the command") {
    http_fault_server http;
    temp_file input(http.url("/ok") + "\n" + http.url("/status?code=500") + "\n");
    {
        auto run = sweep(input, {"--format", "prometheus"});
        const auto status = run.wait_for_exit(30s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 1);
        const auto& out = run.output();
        const auto up_type = out.find("# TYPE fanout_sweep_up gauge");
        const auto latency_type = out.find("# TYPE fanout_sweep_latency_seconds gauge");
        REQUIRE(up_type != std::string::npos);
        REQUIRE(latency_type != std::string::npos);
        CHECK(up_type < latency_type);
        CHECK(out.find("fanout_sweep_up{target=\"" + http.url("/ok") +
                       "\",kind=\"http\",line=\"1\"} 1") < latency_type);
        CHECK(out.find("fanout_sweep_up{target=\"" + http.url("/status?code=500") +
                       "\",kind=\"http\",line=\"2\"} 0") < latency_type);
        CHECK(out.find("fanout_sweep_latency_seconds{target=\"" + http.url("/ok")) !=
              std::string::npos);
    }
    {
        auto run = sweep(input, {"--format", "csv"});
        const auto status = run.wait_for_exit(30s);
        REQUIRE(status.exited);
        std::istringstream lines(run.output());
        std::string header, first, second, more;
        std::getline(lines, header);
        std::getline(lines, first);
        std::getline(lines, second);
        CHECK(!std::getline(lines, more));
        CHECK(header.starts_with("line,input,kind,ok,error_kind,"));
        CHECK((first + second).find(",unexpected_status,") != std::string::npos);
    }
}

TEST_CASE("a port past 65535 is an invalid target naming the port, never a wrapped one") {
    http_fault_server http;
    // 65536 + the server's port would reach the server through a 16-bit wrap.
    const auto wrapped = std::to_string(65536 + http.port());
    temp_file input("http://127.0.0.1:" + wrapped + "/ok\ntcp://127.0.0.1:" + wrapped +
                    "\ntcp://127.0.0.1:0\nHTTP://127.0.0.1:" + std::to_string(http.port()) +
                    "/ok\n");
    auto run = sweep(input, {"--timeout", "2s"});
    const auto status = run.wait_for_exit(30s);
    INFO(run.output() << run.errors());
    REQUIRE(status.exited);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 4);
    for (const std::int64_t line : {1, 2, 3}) {
        INFO(line);
        CHECK(error_kind(records.at(line)) == "invalid_target");
        const auto message = str(records.at(line).at("error").as_object(), "message");
        CHECK(message.find(line == 3 ? "port 0 is out of range" : "port " + wrapped) !=
              std::string::npos);
    }
    CHECK(error_kind(records.at(4)) == "ok");  // an upper-case scheme is a scheme
    CHECK(http.requests_served() == 1);
}

TEST_CASE(
    "a body past --max-body is not needed and the status decides, or --body-contains searches it") {
    http_fault_server http;
    temp_file input(http.url("/size?bytes=1049600") + "\n");  // 1,025 KiB
    {
        auto run = sweep(input, {});
        const auto status = run.wait_for_exit(30s);
        INFO(run.output() << run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
    }
    temp_file echo(http.url("/echo") + "\n");
    auto run = sweep(echo, {"--max-body", "4", "--body-contains", "GET /echo"});
    const auto status = run.wait_for_exit(30s);
    INFO(run.output() << run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    CHECK(run.output().find("the first 4 bytes") != std::string::npos);
    auto bad = sweep(echo, {"--max-body", "lots"});
    const auto refused = bad.wait_for_exit(30s);
    REQUIRE(refused.exited);
    CHECK(refused.code == 2);
    CHECK(bad.errors().find("--max-body: 'lots'") != std::string::npos);
}

TEST_CASE("a rate that is not a number of attempts per second is refused, saying so") {
    temp_file input("tcp://127.0.0.1:1\n");
    for (const char* rate : {"nan", "-1", "inf", "fast"}) {
        auto run = sweep(input, {"--rate", rate});
        const auto status = run.wait_for_exit(30s);
        INFO(rate << ": " << run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(run.errors().find("is not a rate") != std::string::npos);
        CHECK(run.errors().find("1797693134862315") == std::string::npos);  // no 309-digit range
        CHECK(run.output().empty());
    }
}

namespace {

// fanout sweep reading its targets from a pipe the test writes.
child_process sweep_stdin(std::vector<std::string> args) {
    std::vector<std::string> argv{FANOUT_CLI_PATH, "sweep", "-"};
    argv.insert(argv.end(), args.begin(), args.end());
    return child_process(argv, child_process::stdin_pipe);
}

// The "resume from line N+1 with --skip N" of a summary: N.
std::optional<std::size_t> resume_skip(const std::string& errors) {
    const auto at = errors.find("with --skip ");
    if (at == std::string::npos) return std::nullopt;
    return std::stoul(errors.substr(at + 12));
}

// The count of a summary line ("  not started   1,234 ...").
std::optional<std::uint64_t> summary_count(const std::string& errors, const std::string& label) {
    const auto at = errors.find("  " + label + " ");
    if (at == std::string::npos) return std::nullopt;
    std::string digits;
    for (std::size_t i = at + label.size() + 2; i < errors.size() && errors[i] != '\n'; ++i) {
        if (std::isdigit(static_cast<unsigned char>(errors[i])))
            digits += errors[i];
        else if (!digits.empty() && errors[i] != ',')
            break;
    }
    if (digits.empty()) return std::nullopt;
    return std::stoull(digits);
}

}  // namespace

TEST_CASE("fanout sweep checks each target as a slow producer writes it, within its timeout") {
    http_fault_server http;
    auto run = sweep_stdin({"--timeout", "1s", "--threads", "1"});
    // Each record must come out while the input is still open and the next
    // line not written yet: reading never holds up the loop.
    for (int i = 1; i <= 8; ++i) {
        REQUIRE(run.write_input(http.url("/ok?i=" + std::to_string(i)) + "\n"));
        INFO("line " << i << ": " << run.errors());
        REQUIRE(run.wait_for_output("\"line\":" + std::to_string(i) + ",", 10s));
        // A pause longer than the check's timeout: it must not count.
        std::this_thread::sleep_for(i % 2 ? 1200ms : 100ms);
    }
    run.close_input();
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = by_line(run.output());
    CHECK(records.size() == 8);
    for (const auto& [line, r] : records) {
        CHECK(error_kind(r) == "ok");
        CHECK(elapsed_ms(r) < 1000);
    }
}

TEST_CASE("the deadline ends fanout sweep on time while its stdin is stalled") {
    http_fault_server http;
    auto run = sweep_stdin({"--deadline", "2s", "--timeout", "1s"});
    REQUIRE(run.write_input(http.url("/ok") + "\n"));
    const auto started = std::chrono::steady_clock::now();
    // The producer says nothing more for 10 s (the pipe stays open).
    const auto status = run.wait_for_exit(10s);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(took < 5s);
    CHECK(status.code == 1);  // the lines not read were not checked
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 1);
    CHECK(error_kind(records.at(1)) == "ok");
    CHECK(resume_skip(run.errors()) == std::optional<std::size_t>(1));
}

TEST_CASE("SIGINT stops fanout sweep on an endless input, each line read reported once") {
    http_fault_server http;
    auto run = sweep_stdin({"--timeout", "5s"});
    std::string block;
    for (int i = 0; i < 500; ++i) block += http.url("/ok") + "\n";
    // Write until a record of line 2000 is out, as `yes URL |` would.
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (run.output().find("\"line\":2000,") == std::string::npos &&
           std::chrono::steady_clock::now() < give_up) {
        REQUIRE(run.write_input(block));
        run.wait_for_output("\"line\":2000,", 10ms);
    }
    run.signal(SIGINT);
    // The producer goes on writing; the run must end all the same.
    const auto stop_by = std::chrono::steady_clock::now() + 20s;
    child_process::exit_status status;
    while (std::chrono::steady_clock::now() < stop_by) {
        if (!run.write_input(block, 50ms)) {
            status = run.wait_for_exit(20s);
            break;
        }
        run.wait_for_output("never", 10ms);
    }
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 130);
    const auto read = summary_count(run.errors(), "input");
    REQUIRE(read);
    const auto records = by_line(run.output());
    CHECK(records.size() == *read);
    CHECK(records.begin()->first == 1);
    CHECK(records.rbegin()->first == static_cast<std::int64_t>(*read));
    CHECK(run.output().back() == '\n');
    const auto skip = resume_skip(run.errors());
    REQUIRE(skip);
    CHECK(*skip < *read);  // lines in flight were cut short
}

TEST_CASE("SIGTERM and SIGHUP stop fanout sweep like SIGINT, with their own exit codes") {
    const auto [signo, code] = GENERATE(std::pair{SIGTERM, 143}, std::pair{SIGHUP, 129});
    http_fault_server http;
    std::string text;
    for (int i = 0; i < 5; ++i) text += http.url("/ok?fast=" + std::to_string(i)) + "\n";
    for (int i = 0; i < 195; ++i) text += http.url("/hang?slow=" + std::to_string(i)) + "\n";
    temp_file input(text);
    auto run = sweep(input, {"-c", "20", "--timeout", "30s", "--threads", "1"});
    REQUIRE(run.wait_for_output("fast=4", 20s));
    run.signal(signo);
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == code);
    const auto records = by_line(run.output());
    CHECK(records.size() == 200);
    CHECK(run.errors().find("interrupted in") != std::string::npos);
    CHECK(summary_count(run.errors(), "input") == std::optional<std::uint64_t>(200));
    const auto skip = resume_skip(run.errors());
    REQUIRE(skip);
    CHECK(*skip <= 5);  // the first slow line was cut short
}

TEST_CASE(
    "a second signal ends fanout sweep at once with whole records, saying how many were lost") {
    http_fault_server http;
    std::string block;
    for (int i = 0; i < 100; ++i) block += http.url("/hang") + "\n";
    for (int i = 0; i < 400; ++i) block += http.url("/ok") + "\n";
    // The second signal has to meet a run still stopping from the first; it
    // usually does, and a few tries make it sure.
    bool forced = false;
    for (int attempt = 0; attempt < 5 && !forced; ++attempt) {
        auto run = sweep_stdin({"--timeout", "30s", "-c", "2000"});
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (std::count(run.output().begin(), run.output().end(), '\n') < 1000 &&
               std::chrono::steady_clock::now() < give_up) {
            if (!run.write_input(block, 100ms)) break;
            run.wait_for_output("never", 10ms);
        }
        // Both signals pending at once.
        run.signal(SIGSTOP);
        run.signal(SIGINT);
        run.signal(SIGTERM);
        run.signal(SIGCONT);
        const auto status = run.wait_for_exit(20s);
        INFO(run.errors());
        REQUIRE(status.exited);
        REQUIRE((status.code == 130 || status.code == 143));  // by the signal that ended it
        forced = run.errors().find("interrupted twice") != std::string::npos;
        REQUIRE_FALSE(run.output().empty());
        CHECK(run.output().back() == '\n');
        CHECK_NOTHROW(json_lines(run.output()));
        if (forced)
            CHECK(run.errors().find("not written") != std::string::npos);
        else
            CHECK(run.errors().find("interrupted in") != std::string::npos);
    }
    CHECK(forced);
}

TEST_CASE("a sweep resumed with --skip starts after those lines, numbers kept, shards applied") {
    http_fault_server http;
    std::string text;
    for (int i = 1; i <= 10; ++i) text += http.url("/ok?i=" + std::to_string(i)) + "\n";
    temp_file input(text);
    {
        auto run = sweep(input, {"--skip", "4"});
        const auto status = run.wait_for_exit(30s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        const auto records = by_line(run.output());
        CHECK(records.size() == 6);
        CHECK(records.begin()->first == 5);
    }
    {
        auto run = sweep(input, {"--skip", "4", "--shard", "1/2"});
        const auto status = run.wait_for_exit(30s);
        REQUIRE(status.exited);
        std::vector<std::int64_t> lines;
        for (const auto& [line, r] : by_line(run.output())) lines.push_back(line);
        CHECK(lines == std::vector<std::int64_t>{5, 7, 9});
    }
}

TEST_CASE("a line longer than --max-line is a line_too_long record, and the run goes on") {
    http_fault_server http;
    temp_file input(http.url("/ok") + "\n" + http.url("/ok?") + std::string(300 * 1024, 'x') +
                    "\n" + http.url("/ok") + "\n");
    auto run = sweep(input, {});
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 2);  // an invalid line
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 3);
    CHECK(error_kind(records.at(1)) == "ok");
    CHECK(error_kind(records.at(2)) == "line_too_long");
    CHECK(str(records.at(2), "input").size() < 1024);
    CHECK(error_kind(records.at(3)) == "ok");

    auto small = sweep(input, {"--max-line", "100"});
    REQUIRE(small.wait_for_exit(30s).exited);
    for (const auto& [line, r] : by_line(small.output()))
        CHECK(error_kind(r) == (line == 2 ? "line_too_long" : "ok"));
}

TEST_CASE("a target line may end in a comment after a space, as the README shows") {
    http_fault_server http;
    temp_file input(http.url("/ok") + "   # the first\n" + http.url("/ok?x=1") + "\t# second\n");
    auto run = sweep(input, {});
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = by_line(run.output());
    REQUIRE(records.size() == 2);
    CHECK(str(records.at(1), "input") == http.url("/ok"));
    CHECK(str(records.at(2), "input") == http.url("/ok?x=1"));
}

TEST_CASE("invalid lines a deadline kept from being reached are counted as not started") {
    http_fault_server http;
    std::string text = http.url("/hang") + "\n";
    for (int i = 0; i < 20; ++i) text += "not a target " + std::to_string(i) + "\n";
    temp_file input(text);
    auto run = sweep(input, {"-c", "1", "--threads", "1", "--deadline", "1s"});
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    std::uint64_t invalid = 0, not_started = 0;
    for (const auto& [line, r] : by_line(run.output())) {
        if (error_kind(r) == "invalid_target") ++invalid;
        if (r.at("attempts").as_int64() == 0 && error_kind(r) == "cancelled") ++not_started;
    }
    CHECK(not_started == 20);
    CHECK(summary_count(run.errors(), "invalid").value_or(0) == invalid);
    CHECK(summary_count(run.errors(), "not started").value_or(0) == not_started);
}

TEST_CASE("with stdin closed fanout sweep reads nothing rather than its own descriptors") {
    child_process run({"/bin/sh", "-c", "exec \"$0\" sweep - <&-", FANOUT_CLI_PATH});
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(run.output().empty());
}
