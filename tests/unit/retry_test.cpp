#include <fanout/retry.hpp>

#include "test_loop.hpp"

#include <fanout/dns/error.hpp>
#include <fanout/http/error.hpp>
#include <fanout/probe/error.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;
using fanout::errc;
using fanout::failure;
using fanout::retry_policy;
using std::chrono::nanoseconds;

namespace {

retry_policy exponential(nanoseconds initial, nanoseconds max, retry_policy::jitter_kind jitter) {
    retry_policy p;
    p.initial_backoff = initial;
    p.max_backoff = max;
    p.jitter = jitter;
    return p;
}

failure with_hint(std::chrono::milliseconds hint) {
    failure f{errc::rate_limited};
    f.retry_after = hint;
    return f;
}

}  // namespace

TEST_CASE("a default policy makes one attempt with exponential full-jitter backoff") {
    retry_policy p;
    CHECK(p.max_attempts == 1);
    CHECK(p.initial_backoff == 100ms);
    CHECK(p.max_backoff == 10s);
    CHECK(p.multiplier == 2.0);
    CHECK(p.jitter == retry_policy::jitter_kind::full);
    CHECK_FALSE(p.retry_if);
}

TEST_CASE("default_retryable refuses cancellation, deadlines, bad input and exceptions") {
    struct row {
        failure why;
        bool retryable;
    };
    const std::vector<row> table{
        {errc::timeout, true},
        {errc::rate_limited, true},
        {errc::retries_exhausted, true},
        {errc::queue_full, true},
        {failure{net::error::connection_refused}, true},
        {failure{net::error::connection_reset}, true},
        {failure{net::error::timed_out}, true},
        {failure{net::error::host_unreachable}, true},
        {failure{net::error::eof}, true},
        {errc::cancelled, false},
        {errc::deadline_exceeded, false},
        {errc::invalid_input, false},
        {errc::exception, false},
        {failure{net::error::operation_aborted}, false},
    };
    for (const auto& [why, retryable] : table) {
        INFO(why.code.message());
        CHECK(retry_policy::default_retryable(why) == retryable);
        CHECK(retry_policy{}.should_retry(why) == retryable);
    }
}

TEST_CASE("retry_if replaces the default choice of what to retry") {
    retry_policy p;
    p.retry_if = [](const failure& f) { return f.code == errc::cancelled; };
    CHECK(p.should_retry(failure{errc::cancelled}));
    CHECK_FALSE(p.should_retry(failure{errc::timeout}));
}

TEST_CASE("retries(n) tries a failed item again n times, attempts(n) makes n in all") {
    CHECK(fanout::retries(0).max_attempts == 1);
    CHECK(fanout::retries(2).max_attempts == 3);
    CHECK(fanout::attempts(1).max_attempts == 1);
    CHECK(fanout::attempts(3).max_attempts == 3);
    CHECK(fanout::attempts(0).max_attempts == 1);  // at least the first
    CHECK(fanout::retries(std::numeric_limits<unsigned>::max()).max_attempts ==
          std::numeric_limits<unsigned>::max());
    for (const auto& p : {fanout::retries(4), fanout::attempts(5)}) {
        CHECK(p.max_attempts == 5);
        CHECK(p.initial_backoff == retry_policy{}.initial_backoff);
        CHECK(p.max_backoff == retry_policy{}.max_backoff);
        CHECK(p.multiplier == retry_policy{}.multiplier);
        CHECK(p.jitter == retry_policy::jitter_kind::full);
        CHECK_FALSE(p.retry_if);
    }
}

TEST_CASE("the deprecated retry_up_to still counts attempts") {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(fanout::retry_up_to(3).max_attempts == fanout::attempts(3).max_attempts);
#pragma GCC diagnostic pop
}

TEST_CASE("default_retryable refuses permanent failures: invalid input, names, certificates") {
    namespace http = fanout::http;
    namespace dns = fanout::dns;
    namespace probe = fanout::probe;
    struct row {
        boost::system::error_code code;
        bool retryable;
    };
    const std::vector<row> table{
        {http::errc::invalid_url, false},
        {http::errc::invalid_request, false},
        {http::errc::certificate_expired, false},
        {http::errc::certificate_not_yet_valid, false},
        {http::errc::certificate_name_mismatch, false},
        {http::errc::certificate_untrusted, false},
        {http::errc::certificate_self_signed, false},
        {http::errc::redirect_loop, false},
        {http::errc::too_many_redirects, false},
        {http::errc::body_too_large, false},
        {http::errc::tls_failure, true},  // a handshake cut short may pass next time
        {http::errc::malformed_response, true},
        {http::errc::connection_closed, true},
        {dns::errc::nxdomain, false},
        {dns::errc::no_data, false},
        {dns::errc::bad_name, false},
        {dns::errc::servfail, true},
        {dns::errc::refused, true},
        {dns::errc::connection_refused, true},
        {probe::errc::invalid_target, false},
        {probe::errc::certificate_expired, false},
        {probe::errc::too_slow, true},
    };
    CHECK(fanout::is_permanent(fanout::make_error_code(errc::invalid_input)));
    CHECK_FALSE(fanout::is_permanent(fanout::make_error_code(errc::timeout)));
    CHECK_FALSE(fanout::is_permanent(net::error::connection_refused));  // not a kinded category
    for (const auto& [code, retryable] : table) {
        INFO(code.category().name() << " " << fanout::error_kind(code));
        CHECK(fanout::is_permanent(code) == !retryable);
        CHECK(retry_policy::default_retryable(failure{code}) == retryable);
    }
}

TEST_CASE("an HTTP status is retried only when it is 408, 425, 429, 500, 502, 503 or 504") {
    std::set<unsigned> retried;
    for (unsigned status = 100; status < 600; ++status) {
        failure f{fanout::http::errc::bad_status};
        f.http_status = status;
        if (retry_policy::default_retryable(f)) retried.insert(status);
        CHECK(retry_policy::retryable_status(status) == retry_policy::default_retryable(f));
    }
    CHECK(retried == std::set<unsigned>{408, 425, 429, 500, 502, 503, 504});

    // The status decides whatever the code: a check's unexpected 404 is not
    // retried, its 503 is.
    failure unexpected{fanout::probe::errc::unexpected_status};
    unexpected.http_status = 404;
    CHECK_FALSE(retry_policy::default_retryable(unexpected));
    unexpected.http_status = 503;
    CHECK(retry_policy::default_retryable(unexpected));
    // But a permanent code stays permanent.
    failure too_large{fanout::http::errc::body_too_large};
    too_large.http_status = 503;
    CHECK_FALSE(retry_policy::default_retryable(too_large));
}

TEST_CASE("a retry-after hint longer than max_backoff ends the retries, with retry_if too") {
    retry_policy p;
    p.max_backoff = 2s;
    CHECK(p.should_retry(with_hint(2s)));
    CHECK_FALSE(p.should_retry(with_hint(2001ms)));
    p.retry_if = [](const failure&) { return true; };
    CHECK(p.should_retry(with_hint(1s)));
    CHECK_FALSE(p.should_retry(with_hint(1h)));
}

TEST_CASE("without jitter the backoff doubles from the initial wait and stops at the cap") {
    const auto p = exponential(100ms, 10s, retry_policy::jitter_kind::none);
    std::mt19937_64 random(1);
    const failure why{errc::timeout};
    const std::vector<nanoseconds> expected{100ms,  200ms,  400ms, 800ms, 1600ms,
                                            3200ms, 6400ms, 10s,   10s,   10s};
    for (unsigned attempt = 1; attempt <= expected.size(); ++attempt) {
        INFO("attempt " << attempt);
        CHECK(p.backoff(attempt, why, random) == expected[attempt - 1]);
    }
}

TEST_CASE("another multiplier gives its own exact sequence") {
    auto p = exponential(10ms, 1s, retry_policy::jitter_kind::none);
    p.multiplier = 3.0;
    std::mt19937_64 random(1);
    const failure why{errc::timeout};
    CHECK(p.backoff(1, why, random) == 10ms);
    CHECK(p.backoff(2, why, random) == 30ms);
    CHECK(p.backoff(3, why, random) == 90ms);
    CHECK(p.backoff(4, why, random) == 270ms);
    CHECK(p.backoff(5, why, random) == 810ms);
    CHECK(p.backoff(6, why, random) == 1s);
}

TEST_CASE("full jitter stays between zero and the exponential ceiling") {
    const auto p = exponential(100ms, 10s, retry_policy::jitter_kind::full);
    const failure why{errc::timeout};
    std::mt19937_64 random(20240601);
    for (unsigned attempt = 1; attempt <= 12; ++attempt) {
        const nanoseconds ceiling = std::min<nanoseconds>(10s, 100ms * (1LL << (attempt - 1)));
        INFO("attempt " << attempt << ", ceiling " << ceiling.count() << " ns");
        std::set<nanoseconds::rep> distinct;
        nanoseconds lowest = nanoseconds::max();
        nanoseconds highest = nanoseconds::min();
        for (int draw = 0; draw < 1000; ++draw) {
            const auto wait = p.backoff(attempt, why, random);
            REQUIRE(wait >= 0ns);
            REQUIRE(wait <= ceiling);
            distinct.insert(wait.count());
            lowest = std::min(lowest, wait);
            highest = std::max(highest, wait);
        }
        // It really varies, and covers the range.
        CHECK(distinct.size() > 900);
        CHECK(lowest < ceiling / 10);
        CHECK(highest > ceiling * 9 / 10);
    }
}

TEST_CASE("the same seed gives the same jittered waits") {
    const auto p = exponential(100ms, 10s, retry_policy::jitter_kind::full);
    const failure why{errc::timeout};
    std::mt19937_64 one(7);
    std::mt19937_64 two(7);
    for (unsigned attempt = 1; attempt <= 20; ++attempt)
        CHECK(p.backoff(attempt, why, one) == p.backoff(attempt, why, two));
}

TEST_CASE("huge attempt numbers saturate at the cap instead of overflowing") {
    const failure why{errc::timeout};
    std::mt19937_64 random(3);
    const auto none = exponential(100ms, 10s, retry_policy::jitter_kind::none);
    const auto full = exponential(100ms, 10s, retry_policy::jitter_kind::full);
    for (unsigned attempt :
         {64u, 65u, 1000u, 1025u, 100'000u, std::numeric_limits<unsigned>::max()}) {
        INFO("attempt " << attempt);
        CHECK(none.backoff(attempt, why, random) == 10s);
        const auto jittered = full.backoff(attempt, why, random);
        CHECK(jittered >= 0ns);
        CHECK(jittered <= 10s);
    }
}

TEST_CASE("a policy capped at the largest duration saturates instead of going negative") {
    // Regression: backoff() clamps to double(max_backoff) == 2^63 ns and converts that
    // back to int64, which overflows.
    auto p = exponential(1s, nanoseconds::max(), retry_policy::jitter_kind::none);
    std::mt19937_64 random(3);
    const auto wait = p.backoff(200, failure{errc::timeout}, random);
    CHECK(wait > 24h);
}

TEST_CASE("a zero initial backoff stays zero however many attempts failed") {
    // Regression: 0 * multiplier^(n-1) is 0 * inf == NaN once the power overflows
    // (n > 1024 with multiplier 2), and NaN survives the clamp.
    for (auto jitter : {retry_policy::jitter_kind::none, retry_policy::jitter_kind::full}) {
        const auto p = exponential(0ns, 10s, jitter);
        std::mt19937_64 random(3);
        CHECK(p.backoff(1, failure{errc::timeout}, random) == 0ns);
        CHECK(p.backoff(2000, failure{errc::timeout}, random) == 0ns);
    }
}

TEST_CASE("a retry-after hint raises the wait to at least the hint") {
    std::mt19937_64 random(5);
    const auto none = exponential(100ms, 10s, retry_policy::jitter_kind::none);
    CHECK(none.backoff(1, with_hint(500ms), random) == 500ms);
    CHECK(none.backoff(1, with_hint(50ms), random) == 100ms);  // never lowers it
    CHECK(none.backoff(4, with_hint(500ms), random) == 800ms);

    const auto full = exponential(100ms, 10s, retry_policy::jitter_kind::full);
    for (int draw = 0; draw < 200; ++draw) {
        CHECK(full.backoff(1, with_hint(300ms), random) == 300ms);
        const auto wait = full.backoff(5, with_hint(300ms), random);  // ceiling 1.6 s
        CHECK(wait >= 300ms);
        CHECK(wait <= 1600ms);
    }
}

TEST_CASE("a retry-after hint is capped at max_backoff") {
    std::mt19937_64 random(5);
    for (auto jitter : {retry_policy::jitter_kind::none, retry_policy::jitter_kind::full}) {
        const auto p = exponential(100ms, 10s, jitter);
        CHECK(p.backoff(1, with_hint(1h), random) == 10s);
        CHECK(p.backoff(1, with_hint(10s), random) == 10s);
        CHECK(p.backoff(1, with_hint(std::chrono::milliseconds(9'999)), random) == 9'999ms);
    }
}

TEST_CASE("a retry-after hint too large for nanoseconds is still capped") {
    // Regression: backoff() converts the hint to nanoseconds without a range check;
    // a hint above ~106 days overflows int64 and the hint is ignored.
    std::mt19937_64 random(5);
    const auto p = exponential(100ms, 10s, retry_policy::jitter_kind::none);
    CHECK(p.backoff(1, with_hint(std::chrono::milliseconds::max()), random) == 10s);
    CHECK(p.backoff(1, with_hint(std::chrono::hours(24 * 365 * 1000)), random) == 10s);
}
