#pragma once
// When and how long to wait before trying a failed operation again.
//
// Exponential backoff with full jitter by default: after attempt n fails, the
// wait is uniform in [0, min(max_backoff, initial_backoff * multiplier^(n-1))].
// A retry-after hint carried by the failure (e.g. from HTTP 429/503) raises
// the wait to at least the hint, still capped at max_backoff.
// Nothing here throws or waits; gather applies the policy.

#include <fanout/outcome.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>

namespace fanout {

struct retry_policy {
    enum class jitter_kind { full, none };

    unsigned max_attempts = 1;  ///< 1: no retry
    std::chrono::nanoseconds initial_backoff = std::chrono::milliseconds(100);
    std::chrono::nanoseconds max_backoff = std::chrono::seconds(10);
    double multiplier = 2.0;
    jitter_kind jitter = jitter_kind::full;
    /// Which failures are worth another attempt; empty: default_retryable.
    std::function<bool(const failure&)> retry_if;

    /// Everything but cancellation, deadline, invalid input and exceptions
    /// thrown by user code (those are bugs, and repeating them helps nobody).
    static bool default_retryable(const failure& f) noexcept;

    bool should_retry(const failure& f) const {
        return retry_if ? retry_if(f) : default_retryable(f);
    }

    /// The wait after attempt `failed_attempt` (from 1) failed with `why`.
    std::chrono::nanoseconds backoff(unsigned failed_attempt, const failure& why,
                                     std::mt19937_64& random) const;
};

/// Convenience: a policy with `attempts` attempts and the default backoff.
inline retry_policy retry_up_to(unsigned attempts) {
    retry_policy p;
    p.max_attempts = attempts;
    return p;
}

}  // namespace fanout
