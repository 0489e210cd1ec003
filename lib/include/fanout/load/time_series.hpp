#pragma once
// load::time_series: a load run interval by interval — requests sent,
// answered and failed (by kind), and the latency of the answers that came in
// each interval, in a compact histogram — kept by each loop, merged, and
// carried in the result's JSON, so a report can draw the run over time.
//
// Memory is bounded: an interval is a few counters and two sparse
// histograms (at most 1,920 buckets each, usually a few dozen), and a series
// never holds more than max_intervals intervals: past that, its intervals
// widen (neighbours merged), so an hour-long run stays small.
//
// Errors: from_json() throws std::invalid_argument naming what is wrong;
// recording and merging only throw std::bad_alloc.
// Cancellation: not applicable.
// Threads: not thread-safe; each loop keeps its own and the run merges them.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fanout::load {

/// A small latency histogram for one interval: 32 buckets per octave, so a
/// percentile is reported within 3.2% of the true value (the run's full
/// histograms hold 0.1%); exact below 64 ns; exact count and max. It holds
/// the buckets from its lowest value's to its highest's (8 bytes each).
class interval_histogram {
  public:
    static constexpr unsigned sub_bucket_bits = 5;

    void record(std::chrono::nanoseconds value, std::uint64_t count = 1);
    interval_histogram& operator+=(const interval_histogram& other);

    std::uint64_t count() const noexcept { return count_; }
    /// The exact largest value recorded; 0 when empty.
    std::chrono::nanoseconds max() const noexcept;
    /// The value at percentile `p` in [0, 100]: the highest value of the
    /// bucket holding that rank, clamped to max(); 0 when empty.
    std::chrono::nanoseconds percentile(double p) const noexcept;

    /// {"count", "max_ns", "buckets": [index, count, index, count, ...]}.
    boost::json::value to_json() const;
    static interval_histogram from_json(const boost::json::value& json);

    friend bool operator==(const interval_histogram&, const interval_histogram&) = default;

  private:
    // The counts of buckets first_ .. first_ + counts_.size() - 1: dense
    // between the lowest and the highest bucket recorded (a few hundred at
    // most for real latencies), so a record is an index and an add.
    std::uint16_t first_ = 0;
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t max_ns_ = 0;
};

/// What happened in one interval. Requests are counted when sent, answers
/// and errors when they end, and latency is recorded in the interval its
/// answer (or timeout) came.
struct interval_counts {
    std::uint64_t sent = 0;
    std::uint64_t answered = 0;
    std::uint64_t errors = 0;
    std::map<std::string, std::uint64_t> errors_by_kind;
    interval_histogram latency;            ///< from each request's actual send
    interval_histogram corrected_latency;  ///< open loop: from each intended start

    interval_counts& operator+=(const interval_counts& other);
    friend bool operator==(const interval_counts&, const interval_counts&) = default;
};

struct time_series {
    /// Format version of to_json(); from_json() accepts this one only.
    static constexpr int json_version = 1;
    /// A series never holds more; past it the intervals double in width.
    static constexpr std::size_t max_intervals = 3600;
    /// The width a series starts with.
    static constexpr std::chrono::nanoseconds first_interval = std::chrono::milliseconds(100);
    /// The width once a run passes 20 s (a run under 20 s keeps 100 ms).
    static constexpr std::chrono::nanoseconds long_run_interval = std::chrono::seconds(1);

    std::chrono::nanoseconds interval = first_interval;
    /// Wall-clock time of the start of interval 0, in ns since the Unix
    /// epoch (0: not known, e.g. a loop's own series before the run sets it).
    std::int64_t start_unix_ns = 0;
    std::vector<interval_counts> intervals;

    /// The interval `since_start` falls in, created as needed; the series
    /// widens its intervals first when it would pass 20 s at 100 ms or hold
    /// more than max_intervals. A negative time counts in interval 0.
    interval_counts& at(std::chrono::nanoseconds since_start);

    /// Re-bins into intervals of `width` (each old interval counted in the
    /// new one its start falls in), starting at `start_unix_ns`.
    void rebin(std::chrono::nanoseconds width, std::int64_t new_start_unix_ns);

    /// Adds `other`, aligned by wall-clock start: the merged series starts at
    /// the earlier start and has the wider of the two intervals (wider still
    /// when the span would pass max_intervals). An empty side adopts the
    /// other's layout.
    time_series& operator+=(const time_series& other);

    /// The sums over every interval.
    interval_counts total() const;

    boost::json::value to_json() const;
    /// The series to_json() wrote; throws std::invalid_argument otherwise.
    static time_series from_json(const boost::json::value& json);

    friend bool operator==(const time_series&, const time_series&) = default;
};

}  // namespace fanout::load
