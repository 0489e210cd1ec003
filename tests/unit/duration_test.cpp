#include <fanout/duration.hpp>

#include "test_loop.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using fanout::errc;
using fanout::format_duration;
using fanout::parse_duration;
using std::chrono::nanoseconds;

TEST_CASE("durations with a unit parse to the exact number of nanoseconds") {
    const std::vector<std::pair<std::string_view, nanoseconds>> examples{
        {"250ms", 250ms},   {"2s", 2s},      {"1.5m", 90s},   {"10us", 10us},
        {"100ns", 100ns},   {"1h", 1h},      {"0s", 0ns},     {"0.5s", 500ms},
        {"2.25ms", 2250us}, {"1.5h", 90min}, {"0.001s", 1ms}, {"86400s", 24h}};
    for (const auto& [text, expected] : examples) {
        INFO("parsing '" << text << "'");
        const auto parsed = parse_duration(text);
        REQUIRE(parsed.has_value());
        CHECK(*parsed == expected);
    }
}

TEST_CASE("a bare number is taken in seconds") {
    auto three = parse_duration("3");
    REQUIRE(three);
    CHECK(*three == 3s);
    auto fraction = parse_duration("0.25");
    REQUIRE(fraction);
    CHECK(*fraction == 250ms);
}

TEST_CASE("unreadable durations are invalid input naming the text") {
    for (std::string_view text :
         {"", "ms", "-1s", "2 parsecs", "1e400s", "s5", "1.5.5s", "5sec", "inf", "nans", "1e30h"}) {
        INFO("parsing '" << text << "'");
        const auto parsed = parse_duration(text);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().code == errc::invalid_input);
        CHECK(std::string(parsed.error().kind()) == "invalid_input");
        CHECK(parsed.error().text().find("'" + std::string(text) + "'") != std::string::npos);
    }
}

TEST_CASE("value() on an unreadable duration throws with the text in the message") {
    const auto parsed = parse_duration("2 parsecs");
    CHECK_THROWS_WITH(parsed.value(), Catch::Contains("2 parsecs"));
}

TEST_CASE("the largest durations that fit parse, and the next ones are refused") {
    const auto big = parse_duration("2500000h");  // about 285 years
    REQUIRE(big);
    CHECK(*big == std::chrono::hours(2'500'000));
    CHECK_FALSE(parse_duration("3000000h").has_value());
    CHECK_FALSE(parse_duration("1e19ns").has_value());
}

TEST_CASE("format_duration picks the unit and keeps about three significant digits") {
    const std::vector<std::pair<nanoseconds, std::string>> examples{
        {0ns, "0ns"},         {999ns, "999ns"},     {1500ns, "1.5us"},
        {12'345ns, "12.3us"}, {12'300us, "12.3ms"}, {1'234'567ns, "1.23ms"},
        {250ms, "250ms"},     {2s, "2s"},           {1500ms, "1.5s"},
        {90s, "90s"},         {10min, "10m"},       {90min, "90m"},
        {10h, "10h"},         {-5ms, "-5ms"},
    };
    for (const auto& [value, expected] : examples) {
        INFO(value.count() << " ns");
        CHECK(format_duration(value) == expected);
    }
}

TEST_CASE("format_duration reads back through parse_duration") {
    for (nanoseconds value :
         {nanoseconds(0), nanoseconds(100), nanoseconds(10us), nanoseconds(250ms), nanoseconds(2s),
          nanoseconds(90s), nanoseconds(10min), nanoseconds(10h)}) {
        const auto text = format_duration(value);
        INFO(text);
        const auto parsed = parse_duration(text);
        REQUIRE(parsed);
        CHECK(*parsed == value);
    }
}

TEST_CASE("values just below a unit boundary are not shown in exponent form") {
    // Regression: "{:.3g}" rounds 999.9996 to "1e+03", so 999'999 ns prints as
    // "1e+03us" instead of "1ms"; the same happens below 1 s and 10 m, and
    // for 1000 h and more.
    for (nanoseconds value :
         {nanoseconds(999'999), nanoseconds(999'999'999), nanoseconds(2'000h)}) {
        const auto text = format_duration(value);
        INFO(value.count() << " ns formats as " << text);
        CHECK(text.find('e') == std::string::npos);
        CHECK(parse_duration(text).has_value());
    }
}
