#pragma once
// Hedged attempts: when an attempt is slow, a second one of the same item
// starts, and the first success wins ("The Tail at Scale"; gRPC's hedging,
// Finagle's backup requests).
//
//   hedge_policy     when to hedge: a fixed delay, or a percentile of the
//                    latency observed so far; gather_options::hedge
//   latency_tracker  latencies of successful attempts, shareable
//   hedge_budget     a token bucket that caps hedges as a share of items
//
// In a gather: an attempt that has not ended after the hedge delay gets a
// twin, if the budget has a token; with max_attempts above 2 (gRPC's
// maxAttempts), another twin follows each further delay while none has
// succeeded, up to max_attempts calls in all. The first of them to
// succeed is the attempt's result; the others are cancelled through their
// cancellation slots and have finished before the outcome is delivered.
// When all fail, the attempt's failure is the one that ended last. The race
// is one attempt for the retry policy (a hedge is not a retry; a failed
// race is retried as the policy says, hedged again if slow) and for the
// per-attempt timeout, which counts from the first call. The outcome's
// `hedges` counts the twins started, and `hedge_won` says whether the
// result came from one.
// Cancellation (from outside, the deadline, fail-fast, the timeout) reaches
// both attempts; they finish before the item ends.
// Errors: nothing here throws but std::bad_alloc. Threads: latency_tracker
// and hedge_budget may be shared by gathers on many loops (a mutex each).

#include <fanout/histogram.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace fanout {

/// Latencies of successful attempts; its percentiles set hedge delays.
class latency_tracker {
  public:
    void record(std::chrono::nanoseconds latency);
    std::uint64_t count() const;
    /// The p-th percentile (0-100) of what was recorded; zero when empty.
    std::chrono::nanoseconds percentile(double p) const;

  private:
    mutable std::mutex mutex_;
    histogram latencies_;
};

/// gRPC's retry throttling, for hedges: every item started adds
/// `token_ratio` tokens (up to `max_tokens`), every hedge takes one, and a
/// hedge is refused when none is left. Over a run, hedges stay under
/// token_ratio * items + max_tokens.
class hedge_budget {
  public:
    explicit hedge_budget(double token_ratio = 0.05, double max_tokens = 10);

    void on_item();
    /// Takes a token if one is there.
    bool try_take();
    double tokens() const;

  private:
    mutable std::mutex mutex_;
    double token_ratio_;
    double max_tokens_;
    double tokens_;
};

struct hedge_policy {
    hedge_policy() {}  // NOLINT: not an aggregate (g++ 12 and co_await)

    /// Hedge after this long; with `percentile` too, this is the delay
    /// until enough latencies are in.
    std::optional<std::chrono::nanoseconds> delay;
    /// Hedge after this percentile (e.g. 95) of the latencies observed so
    /// far, once `min_samples` are in; 0: not used.
    double percentile = 0;
    std::uint64_t min_samples = 50;
    /// Calls of one attempt at most, the first included: 2 is one twin;
    /// each further twin starts one delay after the previous (gRPC's
    /// hedging maxAttempts). Values outside 2..max_hedged_calls are taken
    /// as the nearest of them.
    unsigned max_attempts = 2;
    static constexpr unsigned max_hedged_calls = 5;
    /// Where latencies are observed; nullptr: the gather's own tracker.
    /// Not owned; must outlive the gather.
    latency_tracker* latencies = nullptr;
    /// Caps the hedges; nullptr: the gather's own budget (ratio 0.05,
    /// 10 tokens). Not owned; must outlive the gather.
    hedge_budget* budget = nullptr;

    /// The delay to hedge after, given what was observed; nothing: do not hedge.
    std::optional<std::chrono::nanoseconds> delay_for(const latency_tracker& observed) const;
};

}  // namespace fanout
