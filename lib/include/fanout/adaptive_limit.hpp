#pragma once
// An adaptive concurrency limit: how many attempts may be in flight toward
// one backend, moved by the latency and failures they see (Netflix's
// concurrency-limits, Envoy's adaptive concurrency).
//
//   aimd_policy      times `backoff_ratio` on a drop, at most once per
//                    round trip; while the limit is in use (in flight at
//                    least half of it), +1 per success until the first
//                    drop, then +1 per round trip (TCP Reno's shape)
//   gradient_policy  once per window of samples: limit * gradient +
//                    headroom, gradient = (min RTT + buffer) / sample RTT
//   adaptive_limit   the shared, thread-safe limit under one of them; a
//                    gather takes it as gather_options::adaptive
//
// Samples: each admitted attempt ends with its latency and a verdict.
// success: the backend answered (a failure that `drops_if` does not count
// is one too); drop: a failure that counts (by default every failure but
// cancelled, deadline_exceeded and circuit_open: timeouts, resets, refused
// connections, 503s as the caller's fn reports them), or for AIMD a success
// slower than `drop_after`; none: the attempt was cut short by cancellation,
// the deadline or the run's stop, and says nothing about the backend (its
// permit is returned, no sample is taken).
// Limits: current() stays within [min_limit, max_limit]. It may fall below
// the attempts in flight; then nothing is admitted until enough of them end.
// Errors: the constructors throw std::invalid_argument for a policy whose
// limits are out of order (min 0, min > max, initial outside them), and for
// a gradient's percentile outside 0..100 or negative headroom;
// otherwise nothing here throws but std::bad_alloc.
// Cancellation: a waiting acquire() that is cancelled takes nothing and
// returns false (it never throws for it); an attempt cancelled after it was
// admitted is released with verdict none.
// Threads: every member may be called from any thread (state under a
// mutex), so one adaptive_limit (held by shared_ptr) may serve gathers on
// many loops toward one backend; they share its in-flight count. Waiters
// are served in FIFO order and resume on their own executor (a coroutine
// on its own loop or strand); the executor given to the constructor keeps
// waiting acquires counted as its work, so it must be running while any
// wait.

#include <fanout/outcome.hpp>
#include <fanout/semaphore.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <variant>
#include <vector>

namespace fanout {

/// Additive increase, multiplicative decrease. With `per_round_trip` (the
/// default) it is TCP Reno's congestion window: +1 per success while in
/// use until the first drop (slow start), then +1 per round trip (1/limit
/// per success), and one backoff per round trip. Without it, Netflix's
/// AIMDLimit: +1 per success while in use and a backoff on every drop; that
/// one settles only where about 1 - backoff_ratio of samples succeed.
/// Either way it settles where drops begin: `drop_after` (or the caller's
/// failures) says where that is.
struct aimd_policy {
    aimd_policy() {}  // NOLINT: not an aggregate (g++ 12 and co_await)

    std::size_t initial = 10;
    std::size_t min_limit = 1;
    std::size_t max_limit = 200;
    /// On a drop the limit becomes floor(limit * backoff_ratio) (at least min_limit).
    double backoff_ratio = 0.9;
    /// true: after the first drop the limit grows by one per round trip,
    /// and a drop of an attempt that started before the last backoff is
    /// counted but does not back off again (a burst of drops from one
    /// round trip backs off once); false: Netflix's AIMDLimit (see above).
    bool per_round_trip = true;
    /// A success slower than this counts as a drop; nothing: none does.
    std::optional<std::chrono::nanoseconds> drop_after;
};

/// The gradient of latency (Netflix's Gradient2, Envoy's gradient controller).
/// Samples are taken in windows of max(window_samples, current limit)
/// verdicts (about one round trip's worth). At a window's end, with
/// sample = the window's mean latency (or its `sample_percentile`) and
/// min = the lowest window sample so far:
///   gradient  = clamp((min * (1 + buffer)) / sample, min_gradient, max_gradient)
///   new       = limit * gradient + headroom
///   limit     = limit * (1 - smoothing) + new * smoothing
/// Past the backend's knee the mean grows with the limit (Little's law), so
/// limit * gradient is (1 + buffer) times what the backend serves at its
/// unloaded latency, and the limit settles at about that plus `headroom`.
/// A percentile is a poorer sample when service times are regular: with a
/// queue shorter than the backend's concurrency, fewer than half the
/// requests wait, and the p50 stays at the minimum until the limit is
/// about 1.5 times the knee.
/// A window with a drop in it ends with limit * drop_backoff instead. A
/// window whose most in flight stayed under half the limit (the caller did
/// not need it) never raises the limit. With min_rtt_every > 0, after that
/// many windows the limit is pinned at min_limit for one window whose
/// sample becomes the new min (Envoy's periodic min RTT measurement), then
/// the limit goes back to where it was.
struct gradient_policy {
    gradient_policy() {}  // NOLINT: not an aggregate (g++ 12 and co_await)

    std::size_t initial = 20;
    std::size_t min_limit = 1;
    std::size_t max_limit = 1000;
    double smoothing = 0.2;
    double buffer = 0.1;  ///< share of the min RTT a sample may exceed it by and still grow
    double min_gradient = 0.5;
    double max_gradient = 2.0;
    std::size_t window_samples = 20;
    /// Nothing: a window's sample is its mean; else this percentile (0..100;
    /// Envoy's default is 50).
    std::optional<double> sample_percentile;
    /// Added to each window's proposal: the queue the limit allows past the
    /// gradient, and what lets it climb out of a low estimate (Gradient2's
    /// queue size, 4; Envoy adds sqrt(limit)). At least 0.
    double headroom = 4;
    double drop_backoff = 0.9;
    std::size_t min_rtt_every = 0;  ///< windows between min RTT measurements; 0: never
};

/// What an admitted attempt ended as (see the top of this header).
enum class limit_verdict { success, drop, none };

struct adaptive_limit_stats {
    std::size_t current = 0;
    std::size_t in_flight = 0;  ///< attempts admitted and not yet released
    std::size_t lowest = 0;     ///< the lowest limit so far
    std::size_t highest = 0;    ///< the highest limit so far
    std::uint64_t samples = 0;  ///< verdicts success or drop
    std::uint64_t drops = 0;
    std::uint64_t ignored = 0;  ///< verdicts none
    std::uint64_t windows = 0;  ///< gradient windows ended (0 for AIMD)
    /// Gradient: the min RTT in use and the last window's sample (zero
    /// before the first window ends, and for AIMD).
    std::chrono::nanoseconds min_rtt{};
    std::chrono::nanoseconds last_sample_rtt{};
};

class adaptive_limit {
  public:
    using executor_type = boost::asio::any_io_executor;

    adaptive_limit(executor_type executor, aimd_policy policy);
    adaptive_limit(executor_type executor, gradient_policy policy);
    adaptive_limit(const adaptive_limit&) = delete;
    adaptive_limit& operator=(const adaptive_limit&) = delete;
    ~adaptive_limit();

    /// The limit now.
    std::size_t current() const;
    std::size_t in_flight() const;
    std::size_t max_limit() const noexcept { return max_limit_; }
    std::size_t min_limit() const noexcept { return min_limit_; }
    adaptive_limit_stats stats() const;

    /// Which failures count as drops; empty: every one but cancelled,
    /// deadline_exceeded and circuit_open. Set it before sharing the limit.
    std::function<bool(const failure&)> drops_if;
    /// The verdict a gather gives an attempt that ended in `f`.
    limit_verdict judge(const failure& f) const;

    /// Admits an attempt if in flight < current() and nobody waits.
    bool try_acquire();
    /// Waits, without blocking the loop, until an attempt is admitted
    /// (true), or until cancelled (false, nothing taken).
    boost::asio::awaitable<bool> acquire();
    /// The end of an admitted attempt: its sample (unless `what` is none)
    /// moves the limit, and its place is given back.
    void release(std::chrono::nanoseconds latency, limit_verdict what);

    /// A sample taken with `in_flight` attempts in flight, without
    /// admission: what release() feeds the policy (for tests and for
    /// callers that count in flight themselves).
    void record(std::chrono::nanoseconds latency, std::size_t in_flight, limit_verdict what);

  private:
    struct aimd_state {
        aimd_policy policy;
        std::chrono::steady_clock::time_point last_backoff{};
        bool slow_start = true;  // no drop yet
        double credit = 0;       // growth owed, in parts of one
    };
    struct gradient_state {
        gradient_policy policy;
        double estimate = 0;
        std::vector<std::chrono::nanoseconds> window;  // latencies of its successes
        std::size_t window_seen = 0;                   // its samples, drops too
        std::size_t window_peak_in_flight = 0;
        bool window_dropped = false;
        std::chrono::nanoseconds min_rtt{};
        std::size_t windows_since_min = 0;
        bool measuring_min = false;
        double estimate_before_measuring = 0;
    };

    void sample_locked(std::chrono::nanoseconds latency, std::size_t in_flight, limit_verdict what);
    void aimd_sample_locked(aimd_state& state, std::chrono::nanoseconds latency,
                            std::size_t in_flight, bool dropped);
    void gradient_sample_locked(gradient_state& state, std::chrono::nanoseconds latency,
                                std::size_t in_flight, bool dropped);
    void end_window_locked(gradient_state& state);
    void set_limit_locked(std::size_t limit);

    std::size_t min_limit_;
    std::size_t max_limit_;
    mutable std::mutex mutex_;
    std::variant<aimd_state, gradient_state> policy_;
    // Admission: permits free in the semaphore + in flight == limit + owed.
    // A shrink takes free permits back, and what it cannot take is owed:
    // the next releases pay it instead of freeing a permit.
    semaphore permits_;
    std::size_t limit_;
    std::size_t owed_ = 0;
    std::size_t in_flight_ = 0;
    adaptive_limit_stats stats_;
};

}  // namespace fanout
