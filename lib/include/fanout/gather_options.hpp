#pragma once
// What a gather is asked (gather_options) and what it reports
// (gather_summary); see <fanout/gather.hpp>.

#include <fanout/adaptive_limit.hpp>
#include <fanout/circuit_breaker.hpp>
#include <fanout/hedge.hpp>
#include <fanout/progress.hpp>
#include <fanout/rate_limiter.hpp>
#include <fanout/retry.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace fanout {

enum class failure_mode {
    collect_all,  ///< every item runs; failures are reported
    fail_fast,    ///< the first failure cancels the rest
};

/// Why a gather stopped early (none: it ran to the end of its input).
/// enough: options.enough_successes items succeeded (first_of, quorum).
enum class stop_reason { none, cancelled, deadline, fail_fast, fault, enough };

struct gather_options {
    std::size_t limit = 64;  ///< items in flight at most; must be at least 1
    /// An adaptive limit instead of `limit` (which is then not used): an
    /// attempt starts only while the attempts in flight under it, this
    /// gather's and those of every gather sharing it, are fewer than its
    /// current(); each attempt's latency and verdict move it (see
    /// <fanout/adaptive_limit.hpp>). Retries wait for admission again
    /// after their backoff; a hedge's twin runs under its first attempt's
    /// admission. The progress shows the limit, the summary its range.
    std::shared_ptr<adaptive_limit> adaptive;
    /// Each attempt is cancelled after this long (errc::timeout).
    std::optional<std::chrono::nanoseconds> per_attempt_timeout;
    /// The whole run ends at this time: items in flight are cancelled
    /// (errc::deadline_exceeded), the rest are reported as errc::cancelled.
    std::optional<std::chrono::steady_clock::time_point> deadline;
    failure_mode on_failure = failure_mode::collect_all;
    retry_policy retry;  ///< default: one attempt
    /// Shared token bucket: each attempt takes a token first. Not owned; may
    /// be shared by many gathers on many loops; must outlive the gather.
    rate_limiter* rate = nullptr;
    /// With a key function: at most this many items of one key in flight
    /// (0: no per-key limit). Items wait for their key in FIFO order while
    /// holding their global slot.
    std::size_t per_key_limit = 0;
    /// Counters to update (started, retried, done, failed). Not owned.
    fanout::progress* progress = nullptr;
    /// Circuit breakers by key (the key function's, which must return
    /// something a std::string_view can view; without a key function one
    /// breaker, of key "", serves every item). An attempt whose breaker is
    /// open is not made: the item ends as errc::circuit_open (see
    /// <fanout/circuit_breaker.hpp>). Not owned; may be shared by many
    /// gathers on many loops; must outlive the gather.
    circuit_breakers* breakers = nullptr;
    /// Hedged attempts: a slow attempt gets a twin, the first success wins
    /// (see <fanout/hedge.hpp>). Nothing: no hedging.
    std::optional<hedge_policy> hedge;
    /// Once this many items have succeeded the rest is cancelled (items in
    /// flight end as errc::cancelled, the inputs left as not started) and
    /// the summary says stop_reason::enough; 0: run to the end. first_of
    /// and quorum (first_of.hpp) set it.
    std::size_t enough_successes = 0;
};

struct gather_summary {
    std::uint64_t total = 0;  ///< outcomes delivered (== inputs read)
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;        ///< includes cancelled and not started
    std::uint64_t not_started = 0;   ///< ended as cancelled with no attempt
    std::uint64_t circuit_open = 0;  ///< ended as errc::circuit_open (counted in failed)
    stop_reason stopped = stop_reason::none;
    /// With gather_options::adaptive: its limit when the run ended, and the
    /// lowest and highest this run saw (as its attempts ended); 0 without.
    std::size_t limit_final = 0;
    std::size_t limit_lowest = 0;
    std::size_t limit_highest = 0;
};

/// The key function of a gather without a per-key limit.
struct no_key {};

}  // namespace fanout
