#pragma once
// to_html(result, about): a load run as one self-contained HTML page (inline
// SVG and style, no script, font or anything fetched), readable from
// file:// with no network:
//   - a header: the command, target, duration, connections, threads,
//     protocol and mode, and the summary table (counts, rates, percentiles);
//   - latency over time: p50, p99 and max per interval on a log axis,
//     corrected and uncorrected in open loop;
//   - throughput over time: sent, answered and errors per second, and in
//     open loop the rate asked for as a line;
//   - the percentile spectrum, HdrHistogram style (x = 1/(1-p) on a log
//     axis labelled 0%, 90%, 99%, ...), corrected and uncorrected, with each
//     input run of a merge overlaid;
//   - status codes and error kinds as bars.
// Each chart is an <svg data-chart="latency|throughput|spectrum|status|errors">
// with one <path class="series"> per line (see lib/src/chart/svg.hpp).
// A result without a time series (format version 1) draws the spectrum and
// bars and says the charts over time are not available.
//
// Errors: only std::bad_alloc. Cancellation: not applicable.

#include <fanout/load/result.hpp>

#include <string>
#include <vector>

namespace fanout::load {

/// One run of a merge, overlaid on the percentile spectrum.
struct report_input {
    std::string name;  ///< e.g. the file it was read from
    const result* run = nullptr;
};

/// What the page says about the run beside its result.
struct report_about {
    std::string title = "fanout load report";
    std::string command;  ///< the command line
    std::string target;   ///< the URL(s)
    std::string protocol = "HTTP/1.1";
    /// merge: the runs merged (each drawn on the spectrum); empty for one run.
    std::vector<report_input> inputs;
};

std::string to_html(const result& r, const report_about& about);

}  // namespace fanout::load
