#pragma once
// Progress of a run: thread-safe counters, a pure one-line renderer, and a
// line redrawn on a terminal while the run goes on.
//
// Errors: nothing here throws except allocation (render_progress_line, the
// progress_line constructor and start()); a failed write to the terminal is
// ignored. Cancellation: progress_line::stop() (and its destructor) cancels
// its timer; a tick already queued does nothing once stopped.
//
// Threads: `progress` may be updated from any thread (relaxed atomics; a
// snapshot is a consistent-enough view for display, not a barrier).
// A `progress_line` is used from the thread that runs its executor.

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fanout {

/// The counters of a `progress` at one moment.
struct progress_snapshot {
    std::optional<std::uint64_t> total;  ///< unknown for lazy inputs
    std::uint64_t started = 0;
    std::uint64_t done = 0;  ///< successes and failures
    std::uint64_t failed = 0;
    std::uint64_t retried = 0;  ///< retries started (not counted in `started`)

    /// started - done (0 if a racy read saw more done than started).
    std::uint64_t in_flight() const noexcept { return started > done ? started - done : 0; }

    std::chrono::nanoseconds elapsed{};  ///< since the `progress` was constructed
    /// The concurrency limit now, when it is adaptive (a gather with
    /// gather_options::adaptive sets it); nothing otherwise.
    std::optional<std::uint64_t> limit;
};

/// Counters of a run, updated by gather (or by hand) from any loop thread.
class progress {
  public:
    /// Elapsed time counts from here.
    progress();
    progress(const progress&) = delete;
    progress& operator=(const progress&) = delete;

    /// The total is `total` (and known) from now on.
    void set_total(std::uint64_t total) noexcept;
    /// Adds `n` to the total (known from now on), e.g. as a lazy input is read.
    void add_total(std::uint64_t n) noexcept;

    void on_start() noexcept;
    void on_retry() noexcept;
    /// One item ended; `ok` false counts it as failed too.
    void on_done(bool ok) noexcept;
    /// Makes the counts these, for a run that keeps counters of its own
    /// and publishes their sums now and then (fanout::load's loops).
    void set_counts(std::uint64_t started, std::uint64_t done, std::uint64_t failed) noexcept;
    /// The adaptive concurrency limit is `limit` now (shown from then on).
    void set_limit(std::uint64_t limit) noexcept;

    progress_snapshot snapshot() const noexcept;

  private:
    std::chrono::steady_clock::time_point started_at_;
    std::atomic<bool> total_known_{false};
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::uint64_t> started_{0};
    std::atomic<std::uint64_t> done_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> retried_{0};
    std::atomic<std::uint64_t> limit_{0};  // 0: no adaptive limit
};

/// A count with a comma every three digits: 1234567 -> "1,234,567".
std::string format_count(std::uint64_t value);

/// Counts by name, in the map's order: "nxdomain 50, timeout 1,234"; empty
/// for an empty map. Status codes read the same way: "200 9,998, 503 2".
std::string format_counts(const std::map<std::string, std::uint64_t>& counts);
std::string format_counts(const std::map<unsigned, std::uint64_t>& counts);

/// One line of text for a snapshot, without colour or control characters:
/// "label 12,345/20,000 done  61.7%  1,234 failed  800 in flight  25,010/s  0:01.2".
/// With no total, the "/total" and the percentage are left out; "N retried"
/// appears when there were retries, and "800 in flight (limit 850)" when
/// the limit is adaptive. The rate is done per second of elapsed.
std::string render_progress_line(const progress_snapshot& snapshot, std::string_view label = {});

/// Redraws render_progress_line on `out` every `interval`, but only when `out`
/// is a terminal; on a pipe or a file it writes nothing at all.
class progress_line {
  public:
    /// `counters` must outlive the drawing (until stop() or destruction).
    progress_line(boost::asio::any_io_executor executor, const progress& counters,
                  std::string label = {}, std::FILE* out = stderr,
                  std::chrono::milliseconds interval = std::chrono::milliseconds(200));
    progress_line(const progress_line&) = delete;
    progress_line& operator=(const progress_line&) = delete;
    /// Stops (see stop()).
    ~progress_line();

    /// Draws now and then every interval; does nothing if already started or
    /// not drawing.
    void start();
    /// Cancels the timer and clears the line if it drew; safe to repeat, and
    /// start() may be called again afterwards.
    void stop();
    /// True only when `out` is a terminal.
    bool drawing() const noexcept;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace fanout
