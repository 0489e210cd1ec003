#pragma once
// Charts as inline SVG for the HTML reports (private): linear and log axes
// with ticks at round values, numbers and durations formatted for labels,
// line series (min/max-preserving downsampling to a bounded point count),
// bars, a legend, and a palette that survives greyscale (each series also
// has its own dash pattern and marker).
//
// Every chart is an <svg data-chart="NAME"> holding one
// <path class="series" data-series="..."> per line series (or one
// <rect class="bar"> per bar), so a browser test can count them.
//
// Errors: only std::bad_alloc. Non-finite points are dropped (a NaN y is a
// gap in the line); an empty
// chart draws its axes and says "no data". Cancellation: not applicable.

#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::chart {

/// How axis values are labelled.
enum class unit {
    number,        ///< 1.5k, 250, 0.25
    milliseconds,  ///< values in ms, labelled 250 µs, 12 ms, 1.5 s
    seconds,       ///< values in s, labelled 5 s, 1.5 s, 2 m
    per_second,    ///< 1.5k/s
    percent,       ///< 99.9%
};

/// `value` for a label: three significant digits at most, k/M/G suffixes.
std::string format_number(double value);
/// `value` in `u` (see unit).
std::string format_value(double value, unit u);

struct tick {
    double value;
    std::string label;
};

/// An axis range and its ticks.
struct axis_ticks {
    double low;
    double high;
    std::vector<tick> ticks;
};

/// Ticks at 1, 2 or 5 times a power of ten, at most `max_ticks`, and the
/// range widened to the ticks around [low, high]; a flat range is widened.
axis_ticks linear_ticks(double low, double high, std::size_t max_ticks, unit u);
/// Ticks at powers of ten (with 2 and 5 between when the range spans two
/// decades or less) over [low, high] widened to whole decades; low and
/// high must be positive (non-positive ones are raised to 1e-3 of high).
axis_ticks log_ticks(double low, double high, unit u);

struct point {
    double x;
    double y;
};

/// At most `max_points` points (at least 4): the x range split into
/// max_points / 2 buckets, each keeping its lowest and its highest point,
/// in x order, so spikes and dips survive. Returns `points` when already
/// short enough. Precondition: points ordered by x.
std::vector<point> downsample(std::span<const point> points, std::size_t max_points);

/// A y of gap breaks a line: the points before and after it are not joined.
inline constexpr double gap = std::numeric_limits<double>::quiet_NaN();

/// A line series; style picks the colour, dash pattern and marker.
struct series {
    std::string name;
    std::vector<point> points;
    std::size_t style = 0;
};

struct line_chart {
    std::string id;  ///< data-chart attribute
    std::string title;
    std::string x_label;
    std::string y_label;
    unit x_unit = unit::number;
    unit y_unit = unit::number;
    bool log_x = false;
    bool log_y = false;
    /// Replaces the computed x ticks (e.g. 0%, 90%, 99% on the spectrum).
    std::optional<axis_ticks> x_ticks;
    std::vector<series> lines;
    /// Series longer than this are downsampled.
    std::size_t max_points = 2000;
};

struct bar {
    std::string label;
    double value;
};

struct bar_chart {
    std::string id;
    std::string title;
    std::string y_label;
    std::vector<bar> bars;
};

std::string render(const line_chart& chart);
std::string render(const bar_chart& chart);

/// Text made safe inside HTML and SVG (&, <, >, ", '), as valid UTF-8.
std::string escape(std::string_view text);

/// The start of a self-contained page (doctype, charset, title, the inline
/// style of the charts and tables) up to and including <body>.
std::string page_start(std::string_view title);
/// </body></html>.
std::string page_end();

}  // namespace fanout::chart
