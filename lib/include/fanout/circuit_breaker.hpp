#pragma once
// A circuit breaker per key (per backend, per host): after too many
// failures a key's items stop being tried for a while.
//
//   circuit_breaker          one key's state: closed -> open -> half-open
//   circuit_breakers         a registry of breakers by key, one policy
//
// closed: every attempt is let through; its verdict is recorded. The breaker
// opens after `consecutive_failures` failures in a row, or when at least
// `minimum_calls` of the last `window` verdicts are in and the share of
// failures among them reaches `failure_ratio`.
// open: nothing is let through, for `open_for`; each open that follows a
// failed trial lasts `open_growth` times the one before, up to
// `max_open_for` (Envoy's growing ejection time). An `open_for` of
// nanoseconds::max() keeps the breaker open for good (httpx's -maxhr).
// half-open: `half_open_trials` attempts are let through as trials; when
// all of them succeed the breaker closes (and the next open is back to
// `open_for`), when one fails it opens again.
//
// In a gather (gather_options::breakers, with the key function the per-key
// limit uses; without one, one breaker serves every item): an attempt that
// its key's breaker refuses is not made. An item refused before its first
// attempt ends at once as errc::circuit_open with attempts == 0; one refused
// before a retry ends as errc::circuit_open with the attempts it made.
// Verdicts: a success, or a failure that `counts_if` rejects, closes the
// row of failures; cancellation, the deadline and the run's stops give no
// verdict (a trial cut short frees its place for another).
// Errors: nothing here throws but std::bad_alloc. Threads: every member of
// both classes may be called from any thread (state under a mutex), so one
// registry may serve gathers on many loops; a breaker lives as long as its
// registry (the registry keeps every key it has seen).

#include <fanout/outcome.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fanout {

struct circuit_breaker_policy {
    circuit_breaker_policy() {}  // NOLINT: not an aggregate (see STYLE: g++ 12 and co_await)

    /// Opens after this many failures in a row; 0: no such rule.
    unsigned consecutive_failures = 5;
    /// Opens when failures reach this share of the window (e.g. 0.5); 0: no such rule.
    double failure_ratio = 0;
    unsigned window = 20;         ///< verdicts the ratio looks at (the last ones)
    unsigned minimum_calls = 10;  ///< verdicts needed before the ratio is used
    std::chrono::nanoseconds open_for = std::chrono::seconds(30);
    double open_growth = 2.0;  ///< each reopening after a failed trial lasts this much longer
    std::chrono::nanoseconds max_open_for = std::chrono::minutes(5);
    unsigned half_open_trials = 1;  ///< attempts let through half-open; at least 1
    /// Which failures count against the key; empty: every one but cancelled,
    /// deadline_exceeded and circuit_open. A failure that does not count is
    /// taken as a success (the backend answered).
    std::function<bool(const failure&)> counts_if;

    /// Whether `f` counts against its key (see counts_if).
    bool counts(const failure& f) const;
};

enum class circuit_state { closed, open, half_open };

class circuit_breaker {
  public:
    using clock = std::chrono::steady_clock;

    /// How an attempt was let through (or not).
    enum class admission { refused, admitted, trial };
    /// What an admitted attempt ended as.
    enum class verdict { success, failure, none };

    explicit circuit_breaker(const circuit_breaker_policy& policy);
    circuit_breaker(const circuit_breaker&) = delete;
    circuit_breaker& operator=(const circuit_breaker&) = delete;

    /// Whether an attempt may start now; a trial when half-open.
    admission admit(clock::time_point now = clock::now());
    /// The end of an attempt that admit() let through.
    void record(admission how, verdict what, clock::time_point now = clock::now());
    /// The verdict a gather gives `f` under this breaker's policy.
    verdict judge(const failure& f) const {
        return policy_->counts(f) ? verdict::failure : verdict::success;
    }

    circuit_state state(clock::time_point now = clock::now()) const;
    /// How many times it has opened.
    std::uint64_t times_opened() const;
    /// Attempts it has refused.
    std::uint64_t refused() const;

  private:
    void open_locked(clock::time_point now, bool after_trial);
    void close_locked();

    const circuit_breaker_policy* policy_;
    mutable std::mutex mutex_;
    circuit_state state_ = circuit_state::closed;
    clock::time_point open_until_{};
    std::chrono::nanoseconds last_open_for_{};
    unsigned failures_in_a_row_ = 0;
    std::vector<bool> window_;  // ring of the last verdicts: true = failure
    std::size_t window_next_ = 0;
    std::size_t window_failures_ = 0;
    unsigned trials_in_flight_ = 0;
    unsigned trial_successes_ = 0;
    std::uint64_t times_opened_ = 0;
    std::uint64_t refused_ = 0;

    friend class circuit_breakers;
};

/// Breakers by key, made on first use, all with one policy.
class circuit_breakers {
  public:
    explicit circuit_breakers(circuit_breaker_policy policy);
    circuit_breakers(const circuit_breakers&) = delete;
    circuit_breakers& operator=(const circuit_breakers&) = delete;
    ~circuit_breakers();

    /// The breaker of `key`; the reference stays valid while the registry lives.
    circuit_breaker& at(std::string_view key);

    const circuit_breaker_policy& policy() const noexcept { return policy_; }
    /// Keys seen so far.
    std::size_t size() const;
    /// Keys whose breaker is open now.
    std::size_t open_now() const;

  private:
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view key) const noexcept {
            return std::hash<std::string_view>{}(key);
        }
    };
    circuit_breaker_policy policy_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::unique_ptr<circuit_breaker>, key_hash, std::equal_to<>>
        breakers_;
};

}  // namespace fanout
