#include <fanout/load/html_report.hpp>

#include "chart/svg.hpp"

#include <fanout/duration.hpp>
#include <fanout/progress.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace fanout::load {
namespace {

using chart::escape;

double in_ms(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e6;
}

// Interval midpoints in seconds from the series' start.
double midpoint_s(const time_series& s, std::size_t k) {
    return (static_cast<double>(k) + 0.5) * std::chrono::duration<double>(s.interval).count();
}

chart::series latency_line(const time_series& s, bool corrected, double p, std::string name,
                           std::size_t style) {
    chart::series out{std::move(name), {}, style};
    for (std::size_t k = 0; k < s.intervals.size(); ++k) {
        const auto& h = corrected ? s.intervals[k].corrected_latency : s.intervals[k].latency;
        // An interval with no answer is a gap in the line, not a slope across it.
        out.points.push_back(
            {midpoint_s(s, k), h.count() > 0 ? in_ms(h.percentile(p)) : chart::gap});
    }
    return out;
}

std::string latency_over_time(const result& r) {
    chart::line_chart c;
    c.id = "latency";
    c.title = "Latency over time (per interval of " + format_duration(r.series.interval) + ")";
    c.x_label = "time since start";
    c.y_label = "latency";
    c.x_unit = chart::unit::seconds;
    c.y_unit = chart::unit::milliseconds;
    c.log_y = true;
    std::size_t style = 0;
    const bool open_loop = r.rate.has_value();
    for (const bool corrected : {true, false}) {
        if (corrected && !open_loop) continue;
        const std::string which = !open_loop ? "" : corrected ? " corrected" : " uncorrected";
        for (const auto& [p, name] : {std::pair{50.0, "p50"}, {99.0, "p99"}, {100.0, "max"}})
            c.lines.push_back(latency_line(r.series, corrected, p, name + which, style++));
    }
    return chart::render(c);
}

std::string throughput_over_time(const result& r) {
    chart::line_chart c;
    c.id = "throughput";
    c.title = "Throughput over time";
    c.x_label = "time since start";
    c.y_label = "requests per second";
    c.x_unit = chart::unit::seconds;
    c.y_unit = chart::unit::per_second;
    const auto& s = r.series;
    const double width_s = std::chrono::duration<double>(s.interval).count();
    chart::series sent{"sent", {}, 0};
    chart::series answered{"answered", {}, 1};
    chart::series errors{"errors", {}, 2};
    for (std::size_t k = 0; k < s.intervals.size(); ++k) {
        const auto& one = s.intervals[k];
        const double x = midpoint_s(s, k);
        sent.points.push_back({x, static_cast<double>(one.sent) / width_s});
        answered.points.push_back({x, static_cast<double>(one.answered) / width_s});
        errors.points.push_back({x, static_cast<double>(one.errors) / width_s});
    }
    c.lines = {std::move(sent), std::move(answered), std::move(errors)};
    if (r.rate) {
        const double end = std::max(std::chrono::duration<double>(r.duration).count(),
                                    static_cast<double>(s.intervals.size()) * width_s);
        c.lines.push_back({"rate asked for", {{0, *r.rate}, {end, *r.rate}}, 3});
    }
    return chart::render(c);
}

// The spectrum of `h`: value at percentile 100 * (1 - 1/x) for x from 1 to
// where the records run out, evenly on the log axis.
chart::series spectrum_line(const histogram& h, std::string name, std::size_t style) {
    chart::series out{std::move(name), {}, style};
    if (h.count() == 0) return out;
    const double last = std::max(10.0, static_cast<double>(h.count()));
    constexpr int per_decade = 40;
    const int steps = static_cast<int>(std::ceil(std::log10(last) * per_decade));
    for (int i = 0; i <= steps; ++i) {
        const double x = std::min(std::pow(10.0, static_cast<double>(i) / per_decade), last);
        out.points.push_back({x, in_ms(h.percentile(100.0 * (1.0 - 1.0 / x)))});
    }
    return out;
}

std::string percentile_spectrum(const result& r, const report_about& about) {
    chart::line_chart c;
    c.id = "spectrum";
    c.title = "Latency by percentile";
    c.x_label = "percentile";
    c.y_label = "latency";
    c.log_x = true;
    c.log_y = true;
    c.y_unit = chart::unit::milliseconds;
    const bool open_loop = r.rate.has_value();
    const std::string merged = about.inputs.empty() ? "" : "all runs, ";
    std::size_t style = 0;
    if (open_loop)
        c.lines.push_back(spectrum_line(r.corrected_latency, merged + "corrected", style++));
    c.lines.push_back(
        spectrum_line(r.latency, merged + (open_loop ? "uncorrected" : "latency"), style++));
    for (const auto& input : about.inputs)
        if (input.run != nullptr)
            c.lines.push_back(spectrum_line(input.run->honest_latency(), input.name, style++));
    // Ticks: 0%, 90%, 99%, ... as far as the records go.
    double furthest = 10;
    for (const auto& line : c.lines)
        if (!line.points.empty()) furthest = std::max(furthest, line.points.back().x);
    chart::axis_ticks ticks{1, 10, {}};
    std::string nines;
    for (int decade = 0; decade <= 6; ++decade) {
        const double x = std::pow(10.0, decade);
        ticks.high = x;
        std::string label = decade == 0 ? "0%" : decade == 1 ? "90%" : "99" + nines + "%";
        if (decade >= 2) nines = nines.empty() ? ".9" : nines + "9";
        ticks.ticks.push_back({x, label});
        if (x >= furthest) break;
    }
    c.x_ticks = std::move(ticks);
    return chart::render(c);
}

std::string status_bars(const result& r) {
    chart::bar_chart c;
    c.id = "status";
    c.title = "Status codes";
    c.y_label = "answers";
    for (const auto& [status, count] : r.status_counts)
        c.bars.push_back({std::to_string(status), static_cast<double>(count)});
    return chart::render(c);
}

std::string error_bars(const result& r) {
    chart::bar_chart c;
    c.id = "errors";
    c.title = "Errors by kind";
    c.y_label = "requests";
    for (const auto& [kind, count] : r.errors_by_kind)
        c.bars.push_back({kind, static_cast<double>(count)});
    if (r.unanswered > 0) c.bars.push_back({"unanswered", static_cast<double>(r.unanswered)});
    for (const auto& [why, count] : r.malformed_reasons)
        c.bars.push_back({"malformed: " + why, static_cast<double>(count)});
    return chart::render(c);
}

void append_row(std::string& out, std::string_view name, const std::string& value) {
    fmt::format_to(std::back_inserter(out), "<dt>{}</dt><dd>{}</dd>\n", escape(name),
                   escape(value));
}

std::string header(const result& r, const report_about& about) {
    std::string out;
    auto to = std::back_inserter(out);
    fmt::format_to(to, "<h1>{}</h1>\n<dl>\n", escape(about.title));
    if (!about.command.empty()) append_row(out, "command", about.command);
    if (!about.target.empty()) append_row(out, "target", about.target);
    if (r.series.start_unix_ns > 0) {
        const auto start = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds(r.series.start_unix_ns)));
        append_row(out, "started",
                   fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                               fmt::gmtime(std::chrono::system_clock::to_time_t(start))));
    }
    append_row(out, "duration", format_duration(r.duration));
    append_row(out, "mode",
               r.rate ? fmt::format("open loop at {}/s asked", chart::format_number(*r.rate))
                      : std::string("closed loop"));
    append_row(out, "connections", format_count(r.connections));
    append_row(out, "threads", format_count(r.threads));
    append_row(out, "protocol",
               about.protocol + (r.pipeline > 1 ? fmt::format(", pipeline {}", r.pipeline) : ""));
    if (r.runs > 1) append_row(out, "runs merged", format_count(r.runs));
    out += "</dl>\n";

    out +=
        "<table class=\"summary\"><tr><th>requests</th><th class=\"n\">count</th>"
        "<th class=\"n\">per second</th></tr>\n";
    const double seconds = std::chrono::duration<double>(r.duration).count();
    for (const auto& [name, count] : {std::pair{"sent", r.sent},
                                      {"answered", r.responses},
                                      {"errors", r.errors},
                                      {"unanswered", r.unanswered}}) {
        fmt::format_to(
            to, "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n", name,
            format_count(count),
            seconds > 0 ? chart::format_number(static_cast<double>(count) / seconds) : "-");
    }
    fmt::format_to(to,
                   "<tr><td>error share</td><td class=\"n\">{:.2f}%</td><td></td></tr></table>\n",
                   r.error_percent());

    out += "<table class=\"percentiles\"><tr><th>latency</th>";
    for (const char* name : {"p50", "p90", "p99", "p99.9", "p99.99", "max", "mean"})
        fmt::format_to(to, "<th class=\"n\">{}</th>", name);
    out += "</tr>\n";
    const auto row = [&](std::string_view name, const histogram& h) {
        fmt::format_to(to, "<tr><td>{}</td>", name);
        for (const double p : {50.0, 90.0, 99.0, 99.9, 99.99, 100.0})
            fmt::format_to(to, "<td class=\"n\">{}</td>", format_duration(h.percentile(p)));
        fmt::format_to(to, "<td class=\"n\">{}</td></tr>\n", format_duration(h.mean()));
    };
    if (r.rate) {
        row("corrected", r.corrected_latency);
        row("uncorrected", r.latency);
    } else {
        row("from send", r.latency);
    }
    out += "</table>\n";
    if (!r.rate_kept())
        fmt::format_to(to,
                       "<p class=\"warning\">The rate asked for was not kept: {}/s asked, {}/s "
                       "sent. The server or this generator was too slow; corrected latency "
                       "counts from each request's intended start.</p>\n",
                       chart::format_number(*r.rate), chart::format_number(r.sent_per_second()));
    if (r.interrupted)
        out += "<p class=\"warning\">Interrupted: the counts are of what was done.</p>\n";
    return out;
}

}  // namespace

std::string to_html(const result& r, const report_about& about) {
    std::string out = chart::page_start(about.title);
    out += header(r, about);
    out += "<h2>Over time</h2>\n";
    if (r.series.intervals.empty()) {
        out +=
            "<p class=\"note\">This result has no time series (written by an older "
            "fanout): the charts over time are not available.</p>\n";
    } else {
        out += latency_over_time(r);
        out += throughput_over_time(r);
        out +=
            "<p class=\"note\">Each point is one interval; latency is counted in the "
            "interval its answer (or timeout) came in";
        if (r.rate) out += "; corrected latency counts from each request's intended start";
        out += ".</p>\n";
    }
    out += "<h2>Distribution</h2>\n";
    out += percentile_spectrum(r, about);
    out += "<h2>Answers and errors</h2>\n";
    out += status_bars(r);
    out += error_bars(r);
    out += chart::page_end();
    return out;
}

}  // namespace fanout::load
