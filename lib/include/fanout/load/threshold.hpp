#pragma once
// load::threshold: a pass/fail condition on a load result, as written on the
// command line: "p99>50ms", "p99.9>=1s", "max>2s", "mean>10ms",
// "errors>1%", "errors>0", "rps<1000", "requests<5000". The condition names
// a failure: the run fails when it holds.
//
// Latency metrics (pN, mean, max) read the honest histogram: corrected for
// coordinated omission in open loop. "errors" is a count, or with a % a
// share of the requests sent; unanswered requests count as errors.
// "unanswered" (a count or a %) is those alone.
//
// Errors: parse_threshold returns a failure (errc::invalid_input) naming the
// text and what it expected; evaluation never fails.
// Cancellation: not applicable.

#include <fanout/load/result.hpp>
#include <fanout/outcome.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::load {

struct threshold {
    enum class metric {
        latency_percentile,
        latency_mean,
        latency_max,
        errors,
        unanswered,
        rps,
        requests
    };
    enum class comparison { less, less_equal, greater, greater_equal };

    metric what = metric::latency_percentile;
    double percentile = 99;  ///< for latency_percentile
    comparison op = comparison::greater;
    /// Nanoseconds for latency, a count, a percentage (with `percent`) or
    /// requests per second.
    double value = 0;
    bool percent = false;  ///< errors and unanswered only: value is a percentage
    std::string text;      ///< as written, for messages
};

/// Reads a threshold; see the top of this header for the forms.
fanout::result<threshold> parse_threshold(std::string_view text);

/// Every threshold of `texts`, or the failure of the first bad one.
fanout::result<std::vector<threshold>> parse_thresholds(const std::vector<std::string>& texts);

/// The measured value of the threshold's metric in `r`, in its units.
double measure(const threshold& t, const result& r) noexcept;

/// Empty when the condition does not hold (passes); otherwise a message
/// naming it and the value seen: "p99>50ms failed: p99 was 73.2ms".
std::optional<std::string> check(const threshold& t, const result& r);

/// The messages of the thresholds that fail on `r`, in their order.
std::vector<std::string> failed_thresholds(const std::vector<threshold>& thresholds,
                                           const result& r);

}  // namespace fanout::load
