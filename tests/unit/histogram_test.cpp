#include <fanout/histogram.hpp>

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// |measured - expected| <= expected / 1000
bool within_a_thousandth(nanoseconds measured, nanoseconds expected) {
    const auto difference = measured > expected ? measured - expected : expected - measured;
    return difference.count() * 1000 <= expected.count();
}

// Deterministic values spread evenly over the octaves of 1 us .. 1 h.
std::vector<nanoseconds> values_across_the_range(std::size_t how_many, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::vector<nanoseconds> values;
    values.reserve(how_many);
    const auto lowest = static_cast<std::uint64_t>(fanout::histogram::lowest_trackable.count());
    const auto highest = static_cast<std::uint64_t>(fanout::histogram::highest_trackable.count());
    while (values.size() < how_many) {
        const unsigned octave = 9 + static_cast<unsigned>(random() % 33);  // 2^9 .. 2^41
        const std::uint64_t value =
            (std::uint64_t{1} << octave) + random() % (std::uint64_t{1} << octave);
        if (value < lowest || value > highest) continue;
        values.push_back(nanoseconds(static_cast<std::int64_t>(value)));
    }
    return values;
}

fanout::histogram uniform_microseconds(std::int64_t from_us, std::int64_t to_us) {
    fanout::histogram h;
    for (std::int64_t us = from_us; us <= to_us; ++us) h.record(std::chrono::microseconds(us));
    return h;
}

}  // namespace

TEST_CASE("an empty histogram reports zero for every statistic") {
    const fanout::histogram h;
    CHECK(h.count() == 0);
    CHECK(h.min() == 0ns);
    CHECK(h.max() == 0ns);
    CHECK(h.mean() == 0ns);
    CHECK(h.percentile(0) == 0ns);
    CHECK(h.percentile(50) == 0ns);
    CHECK(h.percentile(100) == 0ns);
    CHECK(h == fanout::histogram{});
}

TEST_CASE("percentiles of a uniform 1 us to 100 ms distribution are within 0.1%") {
    const fanout::histogram h = uniform_microseconds(1, 100'000);
    REQUIRE(h.count() == 100'000);
    CHECK(within_a_thousandth(h.percentile(50), 50'000us));
    CHECK(within_a_thousandth(h.percentile(99), 99'000us));
    CHECK(within_a_thousandth(h.percentile(99.9), 99'900us));
    CHECK(within_a_thousandth(h.percentile(25), 25'000us));
    // The reported value is the top of the bucket, never below the true one.
    CHECK(h.percentile(50) >= 50'000us);
    CHECK(h.percentile(0) == 1us);
    CHECK(h.percentile(100) == 100'000us);
    CHECK(h.mean() == 50'000'500ns);
}

TEST_CASE("a value's bucket is within 0.1% of it across the whole range") {
    for (const nanoseconds value : values_across_the_range(200'000, 20240601)) {
        const nanoseconds lowest = fanout::histogram::lowest_equivalent(value);
        const nanoseconds highest = fanout::histogram::highest_equivalent(value);
        INFO("value " << value.count() << " ns in [" << lowest.count() << ", " << highest.count()
                      << "]");
        REQUIRE(lowest <= value);
        REQUIRE(value <= highest);
        REQUIRE(within_a_thousandth(lowest, value));
        REQUIRE(within_a_thousandth(highest, value));
    }
}

TEST_CASE("the percentile of a recorded value is its bucket's highest value") {
    fanout::histogram h;
    for (const nanoseconds value : values_across_the_range(2'000, 7)) {
        h.reset();
        h.record(value);
        h.record(fanout::histogram::highest_trackable);  // so the answer is not clamped to max()
        const nanoseconds reported = h.percentile(50);
        INFO("value " << value.count() << " ns reported as " << reported.count() << " ns");
        REQUIRE(reported == fanout::histogram::highest_equivalent(value));
        REQUIRE(within_a_thousandth(reported, value));
    }
}

TEST_CASE("values from 1 us to 2 us are counted exactly") {
    for (std::int64_t ns = 1'000; ns < 2'048; ++ns) {
        REQUIRE(fanout::histogram::lowest_equivalent(nanoseconds(ns)) == nanoseconds(ns));
        REQUIRE(fanout::histogram::highest_equivalent(nanoseconds(ns)) == nanoseconds(ns));
    }
}

TEST_CASE("min, max and mean are exact") {
    fanout::histogram h;
    h.record(1'234'567ns);
    h.record(987'654'321ns);
    h.record(5'000'001ns);
    CHECK(h.min() == 1'234'567ns);
    CHECK(h.max() == 987'654'321ns);
    CHECK(h.mean() == nanoseconds((1'234'567 + 987'654'321 + 5'000'001 + 1) / 3));
    CHECK(h.percentile(100) == 987'654'321ns);
    CHECK(h.percentile(0) == 1'234'567ns);
}

TEST_CASE("values below 1 us and above 1 h saturate into the end buckets") {
    fanout::histogram h;
    h.record(1ns);
    h.record(0ns);
    h.record(-5ns);  // counts as 0
    h.record(2h);
    h.record(100h);
    CHECK(h.count() == 5);
    CHECK(h.min() == 0ns);
    CHECK(h.max() == 100h);
    CHECK(h.percentile(20) == 1us);  // the lowest bucket's top
    CHECK(h.percentile(60) == 1us);
    CHECK(h.percentile(80) == 100h);  // the top bucket reports the largest value seen
    CHECK(fanout::histogram::lowest_equivalent(1ns) == 1us);
    CHECK(fanout::histogram::highest_equivalent(2h) == fanout::histogram::highest_equivalent(1h));
    CHECK(h.mean() == (2h + 100h + 1ns) / 5);
}

TEST_CASE("recording a value n times equals recording it n times one by one") {
    fanout::histogram counted;
    fanout::histogram one_by_one;
    counted.record(42ms, 1'000);
    counted.record(7us, 0);  // no record at all
    for (int i = 0; i < 1'000; ++i) one_by_one.record(42ms);
    CHECK(counted == one_by_one);
    CHECK(counted.count() == 1'000);
    CHECK(counted.min() == 42ms);
}

TEST_CASE("merging two histograms equals one histogram that recorded both") {
    const auto first = values_across_the_range(5'000, 1);
    const auto second = values_across_the_range(7'000, 2);
    fanout::histogram a;
    fanout::histogram b;
    fanout::histogram both;
    for (const auto value : first) {
        a.record(value);
        both.record(value);
    }
    for (const auto value : second) {
        b.record(value);
        both.record(value);
    }
    a += b;
    CHECK(a == both);
    CHECK(a.count() == 12'000);
    CHECK(a.min() == both.min());
    CHECK(a.max() == both.max());
    CHECK(a.mean() == both.mean());
    for (const double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99})
        CHECK(a.percentile(p) == both.percentile(p));

    fanout::histogram empty;
    empty += a;
    CHECK(empty == a);
}

TEST_CASE("a copy is independent and reset forgets every record") {
    fanout::histogram h = uniform_microseconds(1, 1'000);
    fanout::histogram copy = h;
    h.reset();
    CHECK(h == fanout::histogram{});
    CHECK(copy.count() == 1'000);
    CHECK(copy.max() == 1'000us);
}

TEST_CASE("a JSON round trip keeps counts and percentiles") {
    fanout::histogram h;
    for (const auto value : values_across_the_range(10'000, 99)) h.record(value);
    h.record(3h);
    h.record(10ns);
    const boost::json::value json = h.to_json();
    // Through text too, as `fanout merge` reads it.
    const fanout::histogram back =
        fanout::histogram::from_json(boost::json::parse(boost::json::serialize(json)));
    CHECK(back == h);
    CHECK(back.count() == h.count());
    CHECK(back.min() == h.min());
    CHECK(back.max() == h.max());
    CHECK(back.mean() == h.mean());
    for (const double p : {0.0, 10.0, 50.0, 99.0, 99.9, 100.0})
        CHECK(back.percentile(p) == h.percentile(p));
    CHECK(json.at("version") == fanout::histogram::json_version);
    CHECK(json.at("buckets").as_array().size() <= h.count());

    const fanout::histogram empty = fanout::histogram::from_json(fanout::histogram{}.to_json());
    CHECK(empty == fanout::histogram{});
}

TEST_CASE("from_json rejects malformed input with invalid_argument") {
    fanout::histogram h;
    h.record(5ms);
    h.record(7ms);
    const boost::json::object good = h.to_json().as_object();
    REQUIRE_NOTHROW(fanout::histogram::from_json(good));

    const auto changed = [&](const char* key, boost::json::value value) {
        boost::json::object copy = good;
        copy[key] = std::move(value);
        return boost::json::value(std::move(copy));
    };
    const auto without = [&](const char* key) {
        boost::json::object copy = good;
        copy.erase(key);
        return boost::json::value(std::move(copy));
    };
    using Catch::Contains;
    using fanout::histogram;

    CHECK_THROWS_AS(histogram::from_json(boost::json::parse("\"garbage\"")), std::invalid_argument);
    CHECK_THROWS_AS(histogram::from_json(boost::json::parse("[1, 2, 3]")), std::invalid_argument);
    CHECK_THROWS_AS(histogram::from_json(boost::json::value(nullptr)), std::invalid_argument);
    CHECK_THROWS_WITH(histogram::from_json(without("count")), Contains("\"count\""));
    CHECK_THROWS_WITH(histogram::from_json(changed("format", "hdr")), Contains("format"));
    CHECK_THROWS_WITH(histogram::from_json(changed("version", 2)), Contains("version 2"));
    CHECK_THROWS_WITH(histogram::from_json(changed("lowest_ns", 1)), Contains("layout mismatch"));
    CHECK_THROWS_WITH(histogram::from_json(changed("sub_buckets", 2048)), Contains("sub_buckets"));
    CHECK_THROWS_WITH(histogram::from_json(changed("count", -1)), Contains("non-negative integer"));
    CHECK_THROWS_WITH(histogram::from_json(changed("count", 1.5)),
                      Contains("non-negative integer"));
    CHECK_THROWS_WITH(histogram::from_json(changed("count", 3)), Contains("count is 3"));
    CHECK_THROWS_WITH(histogram::from_json(changed("min_ns", 8'000'000)), Contains("min_ns"));
    CHECK_THROWS_WITH(histogram::from_json(changed("max_ns", 9'000'000)), Contains("max_ns"));
    // Found by the histogram fuzz harness: a sum no records could add up
    // to made a mean above max (or a negative one).
    CHECK_THROWS_WITH(histogram::from_json(changed("sum_ns", 20'000'000)), Contains("sum_ns"));
    CHECK_THROWS_WITH(histogram::from_json(changed("sum_ns", 1'000'000)), Contains("sum_ns"));
    CHECK_THROWS_WITH(histogram::from_json(changed("sum_ns", UINT64_MAX)), Contains("sum_ns"));
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", "none")), Contains("buckets"));
    // The buckets as to_json() writes them: [lowest value of the bucket, count].
    const std::int64_t five = histogram::lowest_equivalent(5ms).count();
    const std::int64_t seven = histogram::lowest_equivalent(7ms).count();
    const auto buckets = [](std::initializer_list<std::pair<std::int64_t, std::int64_t>> pairs) {
        boost::json::array array;
        for (const auto& [value, count] : pairs) array.push_back(boost::json::array{value, count});
        return array;
    };
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", buckets({{five, 1}}))),
                      Contains("count is 2"));
    CHECK_THROWS_WITH(
        histogram::from_json(changed("buckets", buckets({{five + 1, 1}, {seven, 1}}))),
        Contains("not a bucket's lowest value"));
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", buckets({{seven, 1}, {five, 1}}))),
                      Contains("not above the previous"));
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", buckets({{five, 0}, {seven, 2}}))),
                      Contains("bucket 0 count 0"));
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", buckets({{five, 1}, {seven, -1}}))),
                      Contains("bucket 1 count"));
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", boost::json::parse("[[1, 2]]"))),
                      Contains("outside the range"));
    CHECK_THROWS_WITH(histogram::from_json(changed("buckets", boost::json::parse("[5000000]"))),
                      Contains("pair"));
}

TEST_CASE("cumulative counts give the records at or below each bound, and the sum is exact") {
    fanout::histogram h;
    for (const nanoseconds v : {nanoseconds(500us), nanoseconds(1ms), nanoseconds(1ms),
                                nanoseconds(5ms), nanoseconds(20ms), nanoseconds(2h)})
        h.record(v);
    const std::vector<nanoseconds> bounds{1ms, 10ms, 1s, 1h};
    // 2 h is past the range: it saturates into the top bucket, at 1 h.
    CHECK(h.cumulative_counts(bounds) == std::vector<std::uint64_t>{3, 4, 5, 6});
    const std::vector<nanoseconds> below_a_millisecond{999us};
    CHECK(h.cumulative_counts(below_a_millisecond) == std::vector<std::uint64_t>{1});
    CHECK(h.sum_ns() ==
          static_cast<std::uint64_t>(nanoseconds(500us + 2ms + 5ms + 20ms + 2h).count()));
    CHECK(fanout::histogram().cumulative_counts(bounds) == std::vector<std::uint64_t>(4, 0));
    const std::vector<nanoseconds> descending{10ms, 1ms};
    CHECK_THROWS_AS(h.cumulative_counts(descending), std::invalid_argument);
}
