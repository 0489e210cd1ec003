#include <fanout/report/html_page.hpp>

#include <catch2/catch.hpp>

#include <fanout/error.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
namespace report = fanout::report;

namespace {

report::record healthy(std::size_t line, std::chrono::milliseconds latency) {
    report::record r;
    r.line = line;
    r.input = "http://host" + std::to_string(line) + "/";
    r.kind = "http";
    r.ok = true;
    r.attempts = 1;
    r.status = 200;
    r.latency = latency;
    r.elapsed = latency;
    return r;
}

report::record unhealthy(std::size_t line) {
    report::record r = healthy(line, 5ms);
    r.ok = false;
    r.error = fanout::failure{fanout::errc::timeout, "timed out after 5s"};
    return r;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("the sweep page keeps the unhealthy and the slowest healthy only, and says so") {
    report::html_page page({.max_unhealthy = 10, .max_slowest = 5, .max_certificates = 3});
    report::summary tally;
    for (std::size_t line = 1; line <= 1000; ++line) {
        const auto r =
            line % 20 == 0 ? unhealthy(line) : healthy(line, std::chrono::milliseconds(line % 97));
        page.add(r);
        tally.count(r);
    }
    const auto html = page.render(tally, "fanout sweep targets.txt --html page.html");
    CHECK(occurrences(html, "<tr class=\"unhealthy\">") == 10);
    CHECK(occurrences(html, "<tr class=\"healthy\">") == 5);
    CHECK(html.find("keeps 10 unhealthy targets (first seen) (40 more left out)") !=
          std::string::npos);
    CHECK(html.find("the 5 slowest of 950 healthy ones") != std::string::npos);
    // The slowest kept are at 96 ms (lines 96, 193, ... with line % 97 == 96).
    CHECK(occurrences(html, ">96ms<") == 5);
    // Unhealthy rows come before the healthy ones.
    CHECK(html.find("<tr class=\"unhealthy\">") < html.find("<tr class=\"healthy\">"));
    CHECK(html.find(R"(data-chart="unhealthy")") != std::string::npos);
    CHECK(html.find(R"(data-chart="latency")") != std::string::npos);
}

TEST_CASE("the sweep page lists the certificates soonest to expire first") {
    report::html_page one({.max_unhealthy = 10, .max_slowest = 5, .max_certificates = 2});
    report::html_page other = one;
    for (const auto& [line, days] : {std::pair{1, 90}, {2, 3}, {3, 40}}) {
        auto r = healthy(static_cast<std::size_t>(line), 1ms);
        r.certificate_days_left = days;
        (line == 2 ? other : one).add(r);
    }
    one += other;
    const auto html = one.render(report::summary{}, "");
    CHECK(html.find("The 2 soonest to expire of 3 https targets") != std::string::npos);
    const auto three = html.find("<td class=\"n\">3</td>");
    const auto forty = html.find("<td class=\"n\">40</td>");
    REQUIRE(three != std::string::npos);
    REQUIRE(forty != std::string::npos);
    CHECK(three < forty);
    CHECK(html.find("<td class=\"n\">90</td>") == std::string::npos);
}

TEST_CASE("the sweep page escapes what the targets and servers said") {
    report::html_page page;
    auto r = unhealthy(1);
    r.input = "http://x/<script>alert(1)</script>";
    page.add(r);
    const auto html = page.render(report::summary{}, "");
    CHECK(html.find("<script>alert(1)") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(1)") != std::string::npos);
}

TEST_CASE("the sweep page names the HTTP version that answered with the kind") {
    report::html_page page;
    report::summary tally;
    auto h2 = healthy(1, 5ms);
    h2.http_version = "2";
    auto old = healthy(2, 6ms);
    old.http_version = "1.1";
    auto none = unhealthy(3);  // no answer, no version
    for (const auto* r : {&h2, &old, &none}) {
        page.add(*r);
        tally.count(*r);
    }
    const auto html = page.render(tally, "fanout sweep targets.txt --html page.html");
    CHECK(occurrences(html, "<td>http/2</td>") == 1);
    CHECK(occurrences(html, "<td>http/1.1</td>") == 1);
    CHECK(occurrences(html, "<td>http</td>") == 1);
}
