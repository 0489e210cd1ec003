#include <fanout/http/message.hpp>

#include <fanout/error.hpp>
#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <string>

namespace http = fanout::http;
using namespace std::chrono_literals;

namespace {

// The failure expect_success makes of an answer with this status and Retry-After.
fanout::failure refused(unsigned status, std::string retry_after) {
    http::response answer;
    answer.status = status;
    answer.url = "http://127.0.0.1/";
    answer.headers.emplace_back("Retry-After", std::move(retry_after));
    auto checked = http::expect_success(std::move(answer));
    REQUIRE_FALSE(checked);
    return checked.error();
}

constexpr std::chrono::milliseconds a_year = std::chrono::hours(24 * 365);

}  // namespace

TEST_CASE("a 2xx or 3xx answer passes expect_success as it is") {
    http::response answer;
    answer.status = 204;
    const auto checked = http::expect_success(answer);
    REQUIRE(checked);
    CHECK(checked->status == 204);
}

TEST_CASE("a Retry-After in seconds becomes the failure's hint") {
    const auto f = refused(503, "120");
    CHECK(f.code == http::errc::bad_status);
    REQUIRE(f.retry_after);
    CHECK(*f.retry_after == 120s);
}

TEST_CASE("a Retry-After date a few seconds ahead is a hint of those seconds") {
    const auto in_a_minute = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                                  std::chrono::minutes(1));
    std::tm when{};
    gmtime_r(&in_a_minute, &when);
    char text[64];
    REQUIRE(std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &when) > 0);
    const auto f = refused(429, text);
    CHECK(f.code == fanout::errc::rate_limited);
    REQUIRE(f.retry_after);
    CHECK(*f.retry_after > 50s);
    CHECK(*f.retry_after <= 60s);
}

TEST_CASE("a Retry-After date gone by means no wait") {
    const auto f = refused(503, "Wed, 21 Oct 2015 07:28:00 GMT");
    REQUIRE(f.retry_after);
    CHECK(*f.retry_after == 0ms);
}

// Found by the http_response fuzz harness: the date was converted to
// system_clock's nanoseconds, which end in 2262 (signed overflow).
TEST_CASE("a Retry-After date centuries ahead is taken as a year, without overflow") {
    const auto f = refused(503, "Wed, 21 Oct 3828 07:28:00 GMT");
    REQUIRE(f.retry_after);
    CHECK(*f.retry_after == a_year);
}

TEST_CASE("a Retry-After of more seconds than milliseconds can hold is taken as a year") {
    for (const auto* seconds : {"10000000000000000", "18446744073709551615"}) {
        const auto f = refused(429, seconds);
        REQUIRE(f.retry_after);
        CHECK(*f.retry_after == a_year);
    }
}

TEST_CASE("a Retry-After that is neither seconds nor a date gives no hint") {
    CHECK_FALSE(refused(503, "soon").retry_after);
    CHECK_FALSE(refused(503, "-5").retry_after);
}
