#pragma once
// Prometheus text exposition (format 0.0.4) of fanout's counters, for a
// service that embeds fanout and is scraped:
//
//   append_prometheus_histogram(out, histogram, name, help, bounds, labels)
//       name_bucket{le="..."} (cumulative, then le="+Inf"), name_sum and
//       name_count, values in seconds
//   append_prometheus_progress(out, snapshot, prefix, labels)
//       prefix_started_total, prefix_done_total, prefix_failed_total,
//       prefix_retried_total (counters), prefix_in_flight and, when known,
//       prefix_items (gauges)
//
// Each call appends whole metric families (# HELP, # TYPE, then samples);
// the caller joins the families of one scrape, each name once, and serves
// them as text/plain; version=0.0.4. Histogram buckets are the HDR
// histogram's own counts summed up to each bound (see
// histogram::cumulative_counts): a value within 0.1% above a bound may count
// below it.
// Errors: a metric name, a prefix or a label name that Prometheus would
// reject (names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__", "le" is the
// histogram's own), or bounds that are not ascending and positive, throw
// std::invalid_argument: they are programming errors. Label values and help
// texts are escaped as the format says (backslash, double quote in values,
// line feed); other control characters (CR, NUL...), which the format cannot
// escape, become U+FFFD. Label values are taken to be UTF-8. Nothing else
// throws but std::bad_alloc.
// Threads: the functions are pure; a progress snapshot may come from any
// thread, a histogram is read as its owner's thread leaves it.

#include <fanout/histogram.hpp>
#include <fanout/progress.hpp>

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fanout {

/// Labels of every sample of a family, in order: {"backend", "eu-1"}...
using prometheus_labels = std::vector<std::pair<std::string, std::string>>;

/// Latency bounds for a network fan-out: 1 ms to 10 s in 1-2.5-5 steps
/// (1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s).
std::vector<std::chrono::nanoseconds> default_latency_buckets();

/// Appends `h` as the histogram family `name` (see the top of this header).
void append_prometheus_histogram(std::string& out, const histogram& h, std::string_view name,
                                 std::string_view help,
                                 std::span<const std::chrono::nanoseconds> bounds,
                                 const prometheus_labels& labels = {});

/// The same, with default_latency_buckets().
void append_prometheus_histogram(std::string& out, const histogram& h, std::string_view name,
                                 std::string_view help, const prometheus_labels& labels = {});

/// Appends the counters of a progress snapshot as families named
/// `prefix`_started_total... (see the top of this header).
void append_prometheus_progress(std::string& out, const progress_snapshot& snapshot,
                                std::string_view prefix, const prometheus_labels& labels = {});

}  // namespace fanout
