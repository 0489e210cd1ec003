// The fanout command as a user runs it: `fanout demo`, to the end and with
// Ctrl-C (SIGINT) in the middle of a part.
#include "child_process.hpp"

#include <fanout/progress.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

using fanout::test::child_process;
using namespace std::chrono_literals;

namespace {

// "<label> <count>" from the summary, with thousands separators removed.
long summary_count(const std::string& text, const std::string& label) {
    std::smatch match;
    const std::regex pattern(label + R"(\s+([0-9,]+))");
    if (!std::regex_search(text, match, pattern)) return -1;
    std::string digits = match[1];
    std::erase(digits, ',');
    return std::stol(digits);
}

// A network part's summary ("<part>: N of N <items> reported" up to the next
// blank line).
std::string part_summary(const std::string& text, const std::string& part,
                         const std::string& items) {
    const auto at = text.find(" " + items + " reported");
    if (at == std::string::npos) return {};
    const auto from = text.rfind(part + ": ", at);
    return text.substr(from, text.find("\n\n", at) - from);
}

std::string dns_summary(const std::string& text) {
    return part_summary(text, "dns", "names");
}

std::string http_summary(const std::string& text) {
    return part_summary(text, "http", "requests");
}

}  // namespace

TEST_CASE("fanout demo runs to the end and accounts for every item") {
    child_process demo({FANOUT_CLI_PATH, "demo", "--items", "3000", "--timeout", "100ms"});
    const auto status = demo.wait_for_exit(60s);
    INFO(demo.output());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const std::string out = demo.output();
    CHECK(out.find("done in") != std::string::npos);
    CHECK(out.find("3,000 of 3,000 items reported") != std::string::npos);
    const long succeeded = summary_count(out, "succeeded");
    const long failed = summary_count(out, "failed");
    REQUIRE(succeeded >= 0);
    REQUIRE(failed >= 0);
    CHECK(succeeded + failed == 3000);
    CHECK(succeeded > 2900);

    // The DNS part: every name reported, the missing ones as NXDOMAIN, the
    // dropped queries retried, every address the server's.
    const std::string dns = dns_summary(out);
    INFO(dns);
    CHECK(dns.find("dns: 5,050 of 5,050 names reported") == 0);
    CHECK(std::regex_search(dns, std::regex(R"(nxdomain 50[,)])")));
    CHECK(summary_count(dns, "resolved") >= 4990);
    CHECK(dns.find("wrong_address") == std::string::npos);
    CHECK(dns.find("not started") == std::string::npos);

    // The HTTP part: every request reported; the 404s (every 200th item) are
    // failures without a retry, the held and the 503 first answers (2% each)
    // retried. A loaded machine may time out a few more requests than the
    // held ones (and retry them): the bounds allow for that, not the counts
    // the faults fix. Keep-alive: connections far fewer than requests.
    const std::string http = http_summary(out);
    INFO(http);
    CHECK(http.find("http: 5,000 of 5,000 requests reported") == 0);
    const long answered = summary_count(http, "answered");
    const long http_failed = summary_count(http, "failed");
    CHECK(answered + http_failed == 5000);
    CHECK(answered >= 4970);
    CHECK(std::regex_search(http, std::regex(R"(http_status 25[,)])")));
    std::smatch retried;
    REQUIRE(std::regex_search(http, retried, std::regex(R"(\(([0-9,]+) needed a retry\))")));
    CHECK(std::stol(std::regex_replace(retried[1].str(), std::regex(","), "")) >= 200);
    std::smatch sent;
    REQUIRE(std::regex_search(http, sent, std::regex(R"(opened for ([0-9,]+) requests)")));
    const long requests = std::stol(std::regex_replace(sent[1].str(), std::regex(","), ""));
    CHECK(requests >= 5200);
    CHECK(summary_count(http, "connections") * 5 <= requests);

    // The load part: a second at 2,000/s of an item that never fails, every
    // answer a 200, corrected and uncorrected latency side by side.
    const std::string load = out.substr(std::min(out.size(), out.find("\nload: ")));
    INFO(load);
    CHECK(load.find("load: done") != std::string::npos);
    CHECK(load.find(" 0 errors (0.00%)") != std::string::npos);
    CHECK(std::regex_search(load, std::regex(R"(status\s+200 [0-9,]+\n)")));
    CHECK(load.find("corrected") != std::string::npos);
    CHECK(load.find("uncorrected") != std::string::npos);
    // Nothing is drawn when stderr is not a terminal.
    CHECK(demo.errors().empty());
}

TEST_CASE("SIGINT to a running fanout demo prints a summary and exits with 130") {
    child_process demo({FANOUT_CLI_PATH, "demo", "--items", "2000000"});
    // The first line is printed once the signal handler is in place.
    REQUIRE(demo.wait_for_output("fanout demo:", 30s));
    demo.signal(SIGINT);
    const auto status = demo.wait_for_exit(30s);
    const std::string out = demo.output();
    INFO(out);
    REQUIRE(status.exited);
    CHECK(status.code == 130);
    CHECK(out.find("interrupted in") != std::string::npos);
    CHECK(out.find("2,000,000 of 2,000,000 items reported") != std::string::npos);
    const long succeeded = summary_count(out, "succeeded");
    const long failed = summary_count(out, "failed");
    const long not_started = summary_count(out, "not started");
    REQUIRE(not_started > 0);
    CHECK(succeeded + failed + not_started == 2'000'000);
    // The DNS part never started: all its names are reported as such.
    const std::string dns = dns_summary(out);
    INFO(dns);
    CHECK(dns.find("dns: 5,050 of 5,050 names reported") == 0);
    CHECK(summary_count(dns, "not started") == 5050);
    const std::string http = http_summary(out);
    INFO(http);
    CHECK(http.find("http: 5,000 of 5,000 requests reported") == 0);
    CHECK(summary_count(http, "not started") == 5000);
    CHECK(out.find("load: not started") != std::string::npos);
}

namespace {

// Runs `fanout demo` with `args`, sends SIGINT once `started` is printed, and
// checks that the part's summary accounts for all `total` items: those that
// succeeded (`succeeded` is the summary's word for them), failed or never
// started.
void interrupt_part(std::vector<std::string> args, const std::string& started,
                    const std::string& part, const std::string& items, long total,
                    const std::string& succeeded) {
    args.insert(args.begin(), {FANOUT_CLI_PATH, "demo", "--items", "1"});
    child_process demo(args);
    REQUIRE(demo.wait_for_output(started, 30s));
    demo.signal(SIGINT);
    const auto status = demo.wait_for_exit(30s);
    const std::string out = demo.output();
    INFO(out);
    REQUIRE(status.exited);
    CHECK(status.code == 130);
    const std::string summary = part_summary(out, part, items);
    const auto count = fanout::format_count(static_cast<std::uint64_t>(total));  // 2,020,000
    CHECK(summary.find(part + ": " + count + " of " + count + " " + items + " reported") == 0);
    CHECK(summary.find("interrupted") != std::string::npos);
    const long ok = summary_count(summary, succeeded);
    const long failed = summary_count(summary, "failed");
    const long not_started = summary_count(summary, "not started");
    REQUIRE(ok >= 0);
    REQUIRE(failed >= 0);
    REQUIRE(not_started > 0);
    CHECK(ok + failed + not_started == total);
}

}  // namespace

TEST_CASE("SIGINT during the DNS part of fanout demo reports every name and exits with 130") {
    interrupt_part({"--dns-names", "2000000"}, "dns: 2,000,000 names", "dns", "names", 2'020'000,
                   "resolved");
}

TEST_CASE("SIGINT during the HTTP part of fanout demo reports every request and exits with 130") {
    interrupt_part({"--dns-names", "0", "--http-requests", "2000000"}, "http: 2,000,000 GETs",
                   "http", "requests", 2'000'000, "answered");
}

TEST_CASE("fanout demo refuses a bad timeout with exit code 2 and names it") {
    child_process demo({FANOUT_CLI_PATH, "demo", "--timeout", "soon"});
    const auto status = demo.wait_for_exit(30s);
    REQUIRE(status.exited);
    CHECK(status.code == 2);
    CHECK(demo.errors().find("soon") != std::string::npos);
}
