#pragma once
// load::result: what a load run measured — counts, bytes, status codes,
// errors by kind, latency histograms, duration — with a JSON round trip and
// a merge, so shards run on several machines combine into one report.
//
// Errors: from_json() throws std::invalid_argument naming what is wrong with
// its input; merging and formatting only throw std::bad_alloc.
// Cancellation: not applicable (a run cut short yields the result of what was
// done; `interrupted` says so).
//
// Note: inside namespace fanout::load, `result` is this type; the generic
// value-or-failure template is spelled fanout::result<T> there.

#include <fanout/histogram.hpp>
#include <fanout/load/time_series.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fanout::load {

struct result {
    /// Format version written by to_json() and accepted by from_json().
    static constexpr int json_version = 2;
    /// The oldest version from_json() still reads (version 1: no series).
    static constexpr int oldest_json_version = 1;

    // Every request sent ends as exactly one of answered, error or
    // unanswered: sent == responses + errors + unanswered.

    /// Requests sent: written, or lost to a failed connect (a failed connect
    /// stands for the request it would have carried).
    std::uint64_t sent = 0;
    std::uint64_t responses = 0;  ///< complete answers read, whatever their status
    /// Requests that ended in an error, failed connects included (see
    /// errors_by_kind). A request not answered within the timeout is one
    /// (kind "timeout"), also when the duration ended while it was in flight.
    std::uint64_t errors = 0;
    std::uint64_t connect_errors = 0;  ///< failed connects (also counted in errors)
    /// Requests in flight when the run stopped at once (interrupted, or not
    /// drained in time): neither answered nor failed.
    std::uint64_t unanswered = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::map<unsigned, std::uint64_t> status_counts;      ///< status code -> answers
    std::map<std::string, std::uint64_t> errors_by_kind;  ///< "timeout" -> count...
    /// The malformed_response errors by the rule the answer broke ("not an
    /// HTTP/1.x status line" -> count...), each answer once (pipelined
    /// requests behind it count as malformed_response errors too).
    std::map<std::string, std::uint64_t> malformed_reasons;
    /// HTTP/2: the stream_reset errors by the h2 error code the server's
    /// RST_STREAM carried ("INTERNAL_ERROR" -> count...).
    std::map<std::string, std::uint64_t> reset_codes;

    /// From the start of sending to the end (for a merge: the longest run,
    /// as shards of one test run at the same time).
    std::chrono::nanoseconds duration{};
    std::uint64_t connections = 0;
    std::uint64_t threads = 0;
    /// Requests in flight per connection: the pipelining depth on HTTP/1.1,
    /// the concurrent streams asked for on HTTP/2.
    std::uint64_t pipeline = 1;
    /// "http/1.1" or "h2" ("mixed" for a merge of both); results written
    /// before it was kept read as "http/1.1".
    std::string protocol = "http/1.1";
    /// Open loop: the requests per second asked for (summed over a merge).
    std::optional<double> rate;
    bool interrupted = false;  ///< the run was cancelled before its end
    std::uint64_t runs = 1;    ///< results merged into this one
    /// The ids of the runs counted here (see make_run_id), one per run, so a
    /// merge can refuse a run given twice; empty in results written before
    /// run ids existed. A merge appends the other's.
    std::vector<std::string> run_ids;

    /// Latency from each request's actual send to its answer's last byte;
    /// a request that timed out is recorded with the time it was given.
    histogram latency;
    /// Open loop only: latency from each request's intended start (corrected
    /// for coordinated omission); empty in closed loop.
    histogram corrected_latency;
    /// The run interval by interval (empty in results of format version 1);
    /// a merge aligns the runs' series by wall-clock start.
    time_series series;

    /// responses per second of duration; 0 when duration is 0.
    double requests_per_second() const noexcept;
    /// Requests sent per second of duration.
    double sent_per_second() const noexcept;
    /// The percentage of requests sent that were not answered: errors and
    /// unanswered.
    double error_percent() const noexcept;
    /// Open loop: whether requests were sent at (at least 98% of) the rate
    /// asked for; always true in closed loop.
    bool rate_kept() const noexcept;
    /// The histogram that tells the truth about latency: corrected in open
    /// loop, the only one in closed loop.
    const histogram& honest_latency() const noexcept;

    /// Adds `other`'s counts and records; duration becomes the longer one.
    result& operator+=(const result& other);

    boost::json::value to_json() const;
    /// The result to_json() wrote; throws std::invalid_argument otherwise.
    static result from_json(const boost::json::value& json);
};

/// A new run id: 32 hex digits from std::random_device (128 random bits).
std::string make_run_id();

/// The report a person reads: requests, duration, rates, bytes, latency
/// percentiles (50, 90, 99, 99.9, 99.99, max; corrected and uncorrected in
/// open loop), status codes and errors by kind, one item a line.
std::string to_text(const result& r);

}  // namespace fanout::load
