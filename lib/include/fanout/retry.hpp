#pragma once
// When and how long to wait before trying a failed operation again.
//
//   retries(n)  -> retry_policy   a failed item is tried again up to n times
//   attempts(n) -> retry_policy   n attempts in all, the first included
//
// Exponential backoff with full jitter by default: after attempt n fails, the
// wait is uniform in [0, min(max_backoff, initial_backoff * multiplier^(n-1))].
// A retry-after hint carried by the failure (an HTTP Retry-After) raises the
// wait to at least the hint; a hint longer than max_backoff ends the retries
// (the peer asked not to be tried again before then, and the policy will not
// wait that long).
// What is retried by default: see default_retryable. Failures that the same
// attempt would meet again (permanent ones) are not.
// Nothing here throws or waits; gather applies the policy.

#include <fanout/outcome.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>

namespace fanout {

struct retry_policy {
    enum class jitter_kind { full, none };

    unsigned max_attempts = 1;  ///< attempts in all, the first included; 1: no retry
    std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(100);
    std::chrono::nanoseconds max_backoff = std::chrono::seconds(10);
    double multiplier = 2.0;
    jitter_kind jitter = jitter_kind::full;
    /// Which failures are worth another attempt; empty: default_retryable.
    std::function<bool(const failure& f)> retry_if;

    /// Everything but:
    ///  - cancellation, the deadline, and exceptions thrown by user code
    ///    (those are bugs, and repeating them helps nobody);
    ///  - permanent codes (fanout::is_permanent): invalid input (a URL, a
    ///    request, a name, a target), NXDOMAIN and no-data answers, names
    ///    that are no domain names, certificates or host names that do not
    ///    verify, redirect loops and too many redirects, bodies over the limit;
    ///  - an HTTP answer (failure::http_status set) whose status is not one
    ///    of retryable_status(): a 404 stays a 404.
    static bool default_retryable(const failure& f) noexcept;

    /// The statuses worth another try: 408, 425, 429, 500, 502, 503, 504.
    static bool retryable_status(unsigned status) noexcept;

    /// Whether `f` deserves another attempt, attempts left aside: retry_if's
    /// choice (default_retryable without one), and never when f's
    /// retry-after hint is longer than max_backoff.
    bool should_retry(const failure& f) const {
        if (f.retry_after && *f.retry_after > max_backoff) return false;
        return retry_if ? retry_if(f) : default_retryable(f);
    }

    /// The wait after attempt `failed_attempt` (from 1) failed with `why`.
    std::chrono::nanoseconds backoff(unsigned failed_attempt, const failure& why,
                                     std::mt19937_64& random) const;
};

/// A policy of `n` attempts in all, the first included (attempts(1): no
/// retry; attempts(0) is taken as 1), with the default backoff.
inline retry_policy attempts(unsigned n) {
    retry_policy p;
    p.max_attempts = n > 0 ? n : 1;
    return p;
}

/// A policy that tries a failed item again up to `n` times (n + 1 attempts
/// in all), with the default backoff.
inline retry_policy retries(unsigned n) {
    return attempts(n < std::numeric_limits<unsigned>::max() ? n + 1 : n);
}

/// Counts attempts, not retries: retry_up_to(3) is retries(2).
[[deprecated(
    "retry_up_to counts attempts: say attempts(n), or retries(n - 1)")]] inline retry_policy
retry_up_to(unsigned attempts) {
    return fanout::attempts(attempts);
}

}  // namespace fanout
