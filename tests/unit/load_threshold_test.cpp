#include <fanout/load/threshold.hpp>

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using fanout::load::threshold;

namespace {

fanout::load::result with_latencies(bool open_loop) {
    fanout::load::result r;
    r.responses = 990;
    r.errors = 10;
    r.duration = 1s;
    for (int i = 1; i <= 1000; ++i) r.latency.record(std::chrono::microseconds(i * 10));
    if (open_loop) {
        r.rate = 1000;
        for (int i = 1; i <= 1000; ++i) r.corrected_latency.record(std::chrono::milliseconds(i));
    }
    return r;
}

}  // namespace

TEST_CASE("thresholds parse into a metric, a comparison and a value") {
    const auto p99 = fanout::load::parse_threshold("p99>50ms");
    REQUIRE(p99);
    CHECK(p99->what == threshold::metric::latency_percentile);
    CHECK(p99->percentile == 99);
    CHECK(p99->op == threshold::comparison::greater);
    CHECK(p99->value == 50e6);

    const auto p999 = fanout::load::parse_threshold(" p99.9 >= 1s ");
    REQUIRE(p999);
    CHECK(p999->percentile == 99.9);
    CHECK(p999->op == threshold::comparison::greater_equal);
    CHECK(p999->text == "p99.9 >= 1s");

    const auto errors = fanout::load::parse_threshold("errors>1%");
    REQUIRE(errors);
    CHECK(errors->what == threshold::metric::errors);
    CHECK(errors->percent);
    CHECK(errors->value == 1);

    const auto rps = fanout::load::parse_threshold("rps<1000");
    REQUIRE(rps);
    CHECK(rps->what == threshold::metric::rps);
    CHECK(rps->op == threshold::comparison::less);

    CHECK(fanout::load::parse_threshold("max<=2s")->what == threshold::metric::latency_max);
    CHECK(fanout::load::parse_threshold("mean>1ms")->what == threshold::metric::latency_mean);
    CHECK(fanout::load::parse_threshold("requests<10")->what == threshold::metric::requests);
    CHECK_FALSE(fanout::load::parse_threshold("errors>5")->percent);
}

TEST_CASE("bad thresholds are refused naming the text") {
    for (const char* text : {"", "p99", "p99>", "p99>fast", "p0>1ms", "p101>1ms", "latency>1ms",
                             "errors>x%", "rps<-5", "rps<lots"}) {
        INFO(text);
        const auto parsed = fanout::load::parse_threshold(text);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == fanout::errc::invalid_input);
        CHECK(parsed.error().text().find("bad threshold") != std::string::npos);
    }
    const auto all = fanout::load::parse_thresholds({"p99>1ms", "nonsense"});
    REQUIRE_FALSE(all);
    CHECK(all.error().text().find("nonsense") != std::string::npos);
}

TEST_CASE("a threshold fails when its condition holds and names what it saw") {
    const auto r = with_latencies(false);  // p99 about 9.9 ms, errors 1%
    const auto check = [&](const char* text) {
        return fanout::load::check(*fanout::load::parse_threshold(text), r);
    };
    CHECK_FALSE(check("p99>50ms"));
    const auto failed = check("p99>5ms");
    REQUIRE(failed);
    CHECK(failed->find("p99>5ms failed: p99 was 9.9") == 0);
    CHECK(check("errors>0.5%"));
    CHECK_FALSE(check("errors>1%"));
    CHECK(check("errors>=10"));
    CHECK(check("rps<1000"));  // 990/s
    CHECK_FALSE(check("rps<900"));
    CHECK(check("max>9ms"));
    CHECK_FALSE(check("mean>6ms"));

    const auto list = fanout::load::parse_thresholds({"p99>5ms", "p50>1s", "rps<1000"});
    REQUIRE(list);
    const auto messages = fanout::load::failed_thresholds(*list, r);
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].find("p99>5ms") == 0);
    CHECK(messages[1].find("rps<1000") == 0);
}

TEST_CASE("in open loop latency thresholds read the corrected histogram") {
    const auto r = with_latencies(true);  // corrected p99 about 990 ms
    const auto t = *fanout::load::parse_threshold("p99>500ms");
    CHECK(fanout::load::measure(t, r) > 900e6);
    CHECK(fanout::load::check(t, r));
}

TEST_CASE("unanswered requests fail errors thresholds, and have a threshold of their own") {
    auto r = with_latencies(false);  // 990 answered, 10 errors
    r.unanswered = 10;
    r.sent = 1010;
    const auto check = [&](const char* text) {
        return fanout::load::check(*fanout::load::parse_threshold(text), r);
    };
    CHECK(check("errors>1%"));   // 20 of 1,010
    CHECK(check("errors>=20"));  // a count, unanswered included
    const auto unanswered = check("unanswered>0");
    REQUIRE(unanswered);
    CHECK(unanswered->find("unanswered>0 failed: unanswered was 10") == 0);
    CHECK(check("unanswered>0.5%"));
    CHECK_FALSE(check("unanswered>1%"));
}
