#include <fanout/report/summary.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

namespace report = fanout::report;
using namespace std::chrono_literals;

namespace {

report::record make(std::string kind, bool ok, unsigned attempts, fanout::errc code = {}) {
    report::record r;
    r.kind = std::move(kind);
    r.ok = ok;
    r.attempts = attempts;
    r.elapsed = 10ms;
    if (!ok) r.error = fanout::failure{code};
    return r;
}

}  // namespace

TEST_CASE("a summary counts healthy, unhealthy by kind, invalid and not started") {
    report::summary first, second;
    first.count(make("http", true, 1));
    auto warned = make("http", true, 1);
    warned.warning = "certificate";
    first.count(warned);
    first.count(make("tcp", false, 2, fanout::errc::timeout));
    second.count(make("dns", false, 1, fanout::errc::timeout));
    second.count(make("http", false, 0, fanout::errc::cancelled));
    second.count(make("invalid", false, 0, fanout::errc::invalid_input));
    first += second;

    CHECK(first.total() == 6);
    CHECK(first.healthy() == 2);
    CHECK(first.warnings() == 1);
    CHECK(first.unhealthy() == 3);
    CHECK(first.invalid() == 1);
    CHECK(first.not_started() == 1);
    CHECK(first.unhealthy_by_kind().at("timeout") == 2);
    CHECK(first.unhealthy_by_kind().at("cancelled") == 1);
    CHECK(first.latency().count() == 2);

    const auto text = first.text(2s, false);
    CHECK(text.starts_with("done in 2.00 s: 6 targets reported, 4 checked, 2 targets/s\n"));
    CHECK(text.find("healthy              2   (1 with warnings)") != std::string::npos);
    CHECK(text.find("unhealthy            3   cancelled 1, timeout 2") != std::string::npos);
    CHECK(text.find("invalid              1") != std::string::npos);
    CHECK(text.find("not started          1") != std::string::npos);
    CHECK(first.text(1s, true).starts_with("interrupted in"));
}

TEST_CASE("targets a circuit breaker refused are unhealthy, not checked and not 'not started'") {
    report::summary tally;
    tally.count(make("http", false, 1, fanout::errc::timeout));
    tally.count(make("http", false, 0, fanout::errc::circuit_open));
    tally.count(make("http", false, 0, fanout::errc::circuit_open));
    CHECK(tally.circuit_open() == 2);
    CHECK(tally.not_started() == 0);
    CHECK(tally.unhealthy() == 3);
    CHECK(tally.unhealthy_by_kind().at("circuit_open") == 2);
    const auto text = tally.text(1s, false);
    CHECK(text.find("3 targets reported, 1 checked") != std::string::npos);
    CHECK(text.find("circuit open         2   (not tried") != std::string::npos);
    CHECK(text.find("not started") == std::string::npos);
}
