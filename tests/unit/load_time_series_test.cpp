#include <fanout/load/time_series.hpp>

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <stdexcept>

using namespace std::chrono_literals;
using fanout::load::interval_histogram;
using fanout::load::time_series;

namespace {

time_series from_text(const std::string& text) {
    return time_series::from_json(boost::json::parse(text));
}

}  // namespace

TEST_CASE("an interval histogram reports percentiles within 3.2% and the exact max") {
    interval_histogram h;
    for (int i = 1; i <= 1000; ++i) h.record(std::chrono::microseconds(i));
    CHECK(h.count() == 1000);
    CHECK(h.max() == 1000us);
    for (const double p : {50.0, 90.0, 99.0}) {
        const double expected = p * 10'000.0;  // in ns
        const auto got = static_cast<double>(h.percentile(p).count());
        CHECK(got >= expected);
        CHECK(got <= expected * 1.032);
    }
    CHECK(h.percentile(100) == 1000us);
    CHECK(interval_histogram{}.percentile(50) == 0ns);
}

TEST_CASE("interval histograms merge to the histogram of all their records") {
    interval_histogram a;
    interval_histogram b;
    interval_histogram both;
    for (int i = 1; i <= 300; ++i) {
        const auto value = std::chrono::microseconds(i * i);
        (i % 2 == 0 ? a : b).record(value);
        both.record(value);
    }
    a += b;
    CHECK(a == both);
}

TEST_CASE("an interval histogram keeps few buckets for a narrow distribution") {
    interval_histogram h;
    for (int i = 0; i < 100'000; ++i) h.record(std::chrono::microseconds(200 + i % 50));
    const auto json = h.to_json();
    // 200..249 us: buckets 4,096 ns wide there, so 13 of them.
    CHECK(json.at("buckets").as_array().size() <= 2 * 14);
}

TEST_CASE("a series counts each time in its interval, 100 ms wide at first") {
    time_series s;
    s.at(50ms).sent += 1;
    s.at(250ms).sent += 2;
    REQUIRE(s.intervals.size() == 3);
    CHECK(s.interval == 100ms);
    CHECK(s.intervals[0].sent == 1);
    CHECK(s.intervals[1].sent == 0);
    CHECK(s.intervals[2].sent == 2);
    CHECK(s.at(-5ms).sent == 1);  // before the start: interval 0
}

TEST_CASE("a series widens to 1 s intervals once a run passes 20 s, keeping its counts") {
    time_series s;
    for (int i = 0; i < 200; ++i) s.at(std::chrono::milliseconds(i * 100)).sent += 1;
    CHECK(s.interval == 100ms);
    s.at(20s).sent += 1;
    CHECK(s.interval == 1s);
    REQUIRE(s.intervals.size() == 21);
    CHECK(s.intervals[0].sent == 10);
    CHECK(s.intervals[19].sent == 10);
    CHECK(s.intervals[20].sent == 1);
}

TEST_CASE("a series never holds more than max_intervals intervals") {
    time_series s;
    for (int minute = 0; minute < 3 * 60; ++minute)  // 3 h, one record a minute
        s.at(std::chrono::minutes(minute)).answered += 1;
    CHECK(s.intervals.size() <= time_series::max_intervals);
    CHECK(s.interval == 4s);
    CHECK(s.total().answered == 180);
}

TEST_CASE("merged series align by wall-clock start") {
    time_series early;
    early.start_unix_ns = 1'000'000'000'000;
    early.interval = 1s;
    early.intervals.resize(3);
    early.intervals[0].sent = 1;
    early.intervals[2].sent = 3;
    time_series late;  // starts 2 s later
    late.start_unix_ns = early.start_unix_ns + 2'000'000'000;
    late.interval = 1s;
    late.intervals.resize(2);
    late.intervals[0].sent = 10;
    late.intervals[1].sent = 20;

    time_series merged = late;
    merged += early;
    CHECK(merged.start_unix_ns == early.start_unix_ns);
    REQUIRE(merged.intervals.size() == 4);
    CHECK(merged.intervals[0].sent == 1);
    CHECK(merged.intervals[1].sent == 0);
    CHECK(merged.intervals[2].sent == 13);
    CHECK(merged.intervals[3].sent == 20);
}

TEST_CASE("a series merged with a finer one takes the wider intervals") {
    time_series fine;
    fine.start_unix_ns = 5'000'000'000;
    fine.intervals.resize(10);  // 100 ms each
    for (auto& one : fine.intervals) one.errors = 1;
    time_series coarse;
    coarse.start_unix_ns = fine.start_unix_ns;
    coarse.interval = 1s;
    coarse.intervals.resize(1);
    coarse.intervals[0].errors = 5;
    fine += coarse;
    CHECK(fine.interval == 1s);
    REQUIRE(fine.intervals.size() == 1);
    CHECK(fine.intervals[0].errors == 15);
}

TEST_CASE("a series survives its JSON round trip") {
    time_series s;
    s.start_unix_ns = 1'700'000'000'000'000'000;
    auto& one = s.at(150ms);
    one.sent = 4;
    one.answered = 3;
    one.errors = 1;
    one.errors_by_kind["timeout"] = 1;
    one.latency.record(2ms);
    one.latency.record(3ms);
    one.corrected_latency.record(40ms);
    const auto again = from_text(boost::json::serialize(s.to_json()));
    CHECK(again == s);
}

TEST_CASE("a malformed series is refused with the reason") {
    const std::string good =
        R"({"version":1,"sub_bucket_bits":5,"interval_ns":1000000000,"start_unix_ns":0,)"
        R"("intervals":[{"sent":1,"answered":1,"errors":0,)"
        R"("latency":{"count":1,"max_ns":1000,"buckets":[190,1]}}]})";  // 992..1007 ns
    CHECK(from_text(good).intervals.size() == 1);
    CHECK_THROWS_WITH(from_text(R"({"version":9})"), Catch::Contains("version 9"));
    CHECK_THROWS_WITH(
        from_text(
            R"({"version":1,"sub_bucket_bits":4,"interval_ns":1,"start_unix_ns":0,"intervals":[]})"),
        Catch::Contains("sub_bucket_bits"));
    CHECK_THROWS_WITH(
        from_text(
            R"({"version":1,"sub_bucket_bits":5,"interval_ns":0,"start_unix_ns":0,"intervals":[]})"),
        Catch::Contains("interval_ns"));
    CHECK_THROWS_WITH(
        from_text(R"({"version":1,"sub_bucket_bits":5,"interval_ns":1,"start_unix_ns":0,)"
                  R"("intervals":[{"sent":1,"answered":1,"errors":0,)"
                  R"("latency":{"count":2,"max_ns":1000,"buckets":[5,1]}}]})"),
        Catch::Contains("count"));
}
