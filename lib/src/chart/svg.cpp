#include "chart/svg.hpp"

#include <fanout/report/escape.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <limits>

namespace fanout::chart {
namespace {

constexpr double chart_width = 760;
constexpr double plot_left = 72;
constexpr double plot_right = chart_width - 24;
constexpr double plot_height = 220;
constexpr double legend_row_height = 18;
constexpr double char_width = 6.6;  // of the 11 px sans-serif labels, roughly

// Okabe-Ito colours (told apart with colour blindness), each with a dash
// pattern and a marker of its own, so series stay apart in greyscale.
struct look {
    const char* colour;
    const char* dash;  // empty: solid
    const char* marker;
};
constexpr std::array<look, 8> looks{{
    {"#1b1b1b", "", "circle"},
    {"#0072b2", "8 4", "square"},
    {"#d55e00", "2 3", "triangle"},
    {"#009e73", "10 3 2 3", "diamond"},
    {"#cc79a7", "5 2", "circle"},
    {"#e69f00", "12 4 2 4", "square"},
    {"#56b4e9", "1 3", "triangle"},
    {"#7f7f7f", "6 6", "diamond"},
}};

const look& look_of(std::size_t style) {
    return looks[style % looks.size()];
}

// A marker of `style` centred on (x, y).
void append_marker(std::string& out, const look& l, double x, double y) {
    auto to = std::back_inserter(out);
    const std::string_view m = l.marker;
    if (m == "circle")
        fmt::format_to(to, R"(<circle cx="{:.1f}" cy="{:.1f}" r="3"/>)", x, y);
    else if (m == "square")
        fmt::format_to(to, R"(<rect x="{:.1f}" y="{:.1f}" width="6" height="6"/>)", x - 3, y - 3);
    else if (m == "triangle")
        fmt::format_to(to, R"(<path d="M{:.1f} {:.1f}l3.5 6h-7z"/>)", x, y - 3.5);
    else
        fmt::format_to(to, R"(<path d="M{:.1f} {:.1f}l3.5 3.5l-3.5 3.5l-3.5 -3.5z"/>)", x, y - 3.5);
}

std::string trimmed(std::string text) {
    if (text.find('.') != std::string::npos && text.find('e') == std::string::npos) {
        while (text.back() == '0') text.pop_back();
        if (text.back() == '.') text.pop_back();
    }
    return text;
}

double nice_step(double raw) {
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double normal = raw / magnitude;
    const double factor = normal <= 1 ? 1 : normal <= 2 ? 2 : normal <= 5 ? 5 : 10;
    return factor * magnitude;
}

// Maps a value of [low, high] to pixels [from, to], on a log scale when asked.
struct scale {
    double low;
    double high;
    bool log;
    double from;
    double to;
    double operator()(double v) const {
        const double a = log ? std::log10(low) : low;
        const double b = log ? std::log10(high) : high;
        const double x = log ? std::log10(v) : v;
        const double share = b > a ? (x - a) / (b - a) : 0.5;
        return from + std::clamp(share, -0.05, 1.05) * (to - from);
    }
};

struct legend_layout {
    std::vector<std::pair<double, double>> positions;  // per item, x and y offset
    double height = 0;
};

// Legend items left to right, wrapping so that none overlaps the next.
legend_layout lay_out_legend(const std::vector<std::string>& names) {
    legend_layout out;
    double x = plot_left;
    double row = 0;
    for (const auto& name : names) {
        const double width = 34 + char_width * static_cast<double>(name.size()) + 16;
        if (x + width > plot_right && x > plot_left) {
            x = plot_left;
            ++row;
        }
        out.positions.emplace_back(x, row * legend_row_height);
        x += width;
    }
    out.height = names.empty() ? 0 : (row + 1) * legend_row_height;
    return out;
}

}  // namespace

std::string escape(std::string_view text) {
    std::string valid;
    report::append_valid_utf8(valid, text);
    std::string out;
    out.reserve(valid.size());
    for (const char c : valid) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string format_number(double value) {
    if (!std::isfinite(value)) return "-";
    if (value == 0) return "0";
    static constexpr std::array<const char*, 4> suffixes{"", "k", "M", "G"};
    for (std::size_t i = 0; i < suffixes.size(); ++i) {
        const double scaled = value / std::pow(1000.0, static_cast<double>(i));
        // Rounded to three significant digits, it must stay under 1000.
        auto text = trimmed(fmt::format(
            "{:.{}f}", scaled,
            std::max(0, 2 - static_cast<int>(std::floor(std::log10(std::abs(scaled)))))));
        if (std::abs(std::stod(text)) < 1000 || i + 1 == suffixes.size()) return text + suffixes[i];
    }
    return trimmed(fmt::format("{:.3g}", value));
}

std::string format_value(double value, unit u) {
    switch (u) {
        case unit::number:
            return format_number(value);
        case unit::per_second:
            return format_number(value) + "/s";
        case unit::percent:
            return format_number(value) + "%";
        case unit::seconds:
            if (std::abs(value) >= 300) return format_number(value / 60) + " min";
            return format_number(value) + " s";
        case unit::milliseconds:
            if (value == 0) return "0";
            if (std::abs(value) < 1) return format_number(value * 1000) + " µs";
            if (std::abs(value) >= 1000) return format_number(value / 1000) + " s";
            return format_number(value) + " ms";
    }
    return format_number(value);
}

axis_ticks linear_ticks(double low, double high, std::size_t max_ticks, unit u) {
    if (!std::isfinite(low) || !std::isfinite(high)) low = 0, high = 1;
    if (high < low) std::swap(low, high);
    if (high == low) {
        const double pad = low == 0 ? 1 : std::abs(low) * 0.1;
        low -= low == 0 ? 0 : pad;
        high += pad;
    }
    max_ticks = std::max<std::size_t>(max_ticks, 2);
    // Long times tick on whole minutes.
    const double per = u == unit::seconds && high - low >= 300 ? 60 : 1;
    const double step = per * nice_step((high - low) / per / static_cast<double>(max_ticks - 1));
    axis_ticks out{std::floor(low / step) * step, std::ceil(high / step) * step, {}};
    for (double v = out.low; v <= out.high + step * 1e-9; v += step) {
        const double clean = std::abs(v) < step * 1e-9 ? 0 : v;
        out.ticks.push_back({clean, format_value(clean, u)});
    }
    return out;
}

axis_ticks log_ticks(double low, double high, unit u) {
    if (!(high > 0) || !std::isfinite(high)) high = 1;
    if (!(low > 0) || !std::isfinite(low) || low > high) low = high / 1000;
    auto first = static_cast<int>(std::floor(std::log10(low) + 1e-9));
    auto last = static_cast<int>(std::ceil(std::log10(high) - 1e-9));
    if (last <= first) last = first + 1;
    axis_ticks out{std::pow(10.0, first), std::pow(10.0, last), {}};
    const bool fine = last - first <= 2;
    for (int decade = first; decade <= last; ++decade) {
        const double base = std::pow(10.0, decade);
        out.ticks.push_back({base, format_value(base, u)});
        if (fine && decade < last)
            for (const double m : {2.0, 5.0})
                out.ticks.push_back({m * base, format_value(m * base, u)});
    }
    return out;
}

std::vector<point> downsample(std::span<const point> points, std::size_t max_points) {
    max_points = std::max<std::size_t>(max_points, 4);
    if (points.size() <= max_points) return {points.begin(), points.end()};
    const std::size_t buckets = max_points / 2;
    const double first = points.front().x;
    const double width = (points.back().x - first) / static_cast<double>(buckets);
    std::vector<point> out;
    out.reserve(max_points);
    std::size_t i = 0;
    for (std::size_t b = 0; b < buckets && i < points.size(); ++b) {
        const double end = b + 1 == buckets ? std::numeric_limits<double>::infinity()
                                            : first + width * static_cast<double>(b + 1);
        std::size_t lowest = i;
        std::size_t highest = i;
        for (; i < points.size() && (points[i].x < end || i == lowest); ++i) {
            if (points[i].y < points[lowest].y) lowest = i;
            if (points[i].y > points[highest].y) highest = i;
        }
        out.push_back(points[std::min(lowest, highest)]);
        if (lowest != highest) out.push_back(points[std::max(lowest, highest)]);
    }
    return out;
}

namespace {

// The opening of a chart's <svg>, with its id, size and title.
void open_svg(std::string& out, std::string_view id, std::string_view title, double height) {
    fmt::format_to(
        std::back_inserter(out),
        R"(<svg xmlns="http://www.w3.org/2000/svg" data-chart="{}" viewBox="0 0 {} {:.0f}" )"
        R"(width="{}" height="{:.0f}" role="img" aria-label="{}">)",
        escape(id), chart_width, height, chart_width, height, escape(title));
    fmt::format_to(std::back_inserter(out), R"(<text class="title" x="{}" y="20">{}</text>)",
                   plot_left, escape(title));
}

}  // namespace

std::string render(const line_chart& chart) {
    std::vector<series> lines;
    double x_low = std::numeric_limits<double>::infinity();
    double x_high = -x_low;
    double y_low = x_low;
    double y_high = -x_low;
    for (const auto& s : chart.lines) {
        // Runs of points between gaps (a NaN y), each downsampled on its own.
        std::vector<std::vector<point>> runs(1);
        std::size_t total = 0;
        for (const auto& p : s.points) {
            if (std::isnan(p.y) && !runs.back().empty()) runs.emplace_back();
            if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
            if ((chart.log_x && p.x <= 0) || (chart.log_y && p.y <= 0)) continue;
            runs.back().push_back(p);
            ++total;
            x_low = std::min(x_low, p.x);
            x_high = std::max(x_high, p.x);
            y_low = std::min(y_low, p.y);
            y_high = std::max(y_high, p.y);
        }
        series kept{s.name, {}, s.style};
        for (const auto& run : runs) {
            if (run.empty()) continue;
            if (!kept.points.empty()) kept.points.push_back({run.front().x, gap});
            const auto budget = chart.max_points * run.size() / std::max<std::size_t>(total, 1);
            for (const auto& p : downsample(run, budget)) kept.points.push_back(p);
        }
        lines.push_back(std::move(kept));
    }
    const bool empty = !(x_low <= x_high);
    if (empty) x_low = 0, x_high = 1, y_low = 0, y_high = 1;
    if (!chart.log_y) y_low = std::min(0.0, y_low);

    const auto x_axis = chart.x_ticks ? *chart.x_ticks
                        : chart.log_x ? log_ticks(x_low, x_high, chart.x_unit)
                                      : linear_ticks(x_low, x_high, 9, chart.x_unit);
    const auto y_axis = chart.log_y ? log_ticks(y_low, y_high, chart.y_unit)
                                    : linear_ticks(y_low, y_high, 6, chart.y_unit);
    std::vector<std::string> names;
    for (const auto& s : lines) names.push_back(s.name);
    const auto legend = lay_out_legend(names);
    const double plot_top = 34 + legend.height + 8;
    const double plot_bottom = plot_top + plot_height;
    const double height = plot_bottom + 44;
    const scale x{x_axis.low, x_axis.high, chart.log_x, plot_left, plot_right};
    const scale y{y_axis.low, y_axis.high, chart.log_y, plot_bottom, plot_top};

    std::string out;
    auto to = std::back_inserter(out);
    open_svg(out, chart.id, chart.title, height);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& l = look_of(lines[i].style);
        const auto [lx, ly] = legend.positions[i];
        const double cy = 34 + ly + 4;
        fmt::format_to(
            to,
            R"(<g class="legend" stroke="{0}" fill="{0}"><line x1="{1:.1f}" y1="{2:.1f}" )"
            R"(x2="{3:.1f}" y2="{2:.1f}" stroke-width="2" stroke-dasharray="{4}"/>)",
            l.colour, lx, cy, lx + 28, l.dash);
        append_marker(out, l, lx + 14, cy);
        fmt::format_to(to, R"(<text x="{:.1f}" y="{:.1f}" stroke="none" fill="#222">{}</text></g>)",
                       lx + 34, cy + 4, escape(lines[i].name));
    }
    // Grid and tick labels.
    out += R"(<g class="axes">)";
    for (const auto& t : y_axis.ticks) {
        const double py = y(t.value);
        fmt::format_to(to,
                       R"(<line class="grid" x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}"/>)"
                       R"(<text class="tick" x="{}" y="{:.1f}" text-anchor="end">{}</text>)",
                       plot_left, py, plot_right, py, plot_left - 6, py + 4, escape(t.label));
    }
    for (const auto& t : x_axis.ticks) {
        const double px = x(t.value);
        fmt::format_to(to,
                       R"(<line class="grid" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>)"
                       R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>)",
                       px, plot_top, px, plot_bottom, px, plot_bottom + 16, escape(t.label));
    }
    fmt::format_to(to,
                   R"(<rect class="frame" x="{}" y="{:.1f}" width="{}" height="{}" fill="none"/>)",
                   plot_left, plot_top, plot_right - plot_left, plot_height);
    fmt::format_to(to, R"(<text class="label" x="{}" y="{:.1f}" text-anchor="middle">{}</text>)",
                   (plot_left + plot_right) / 2, plot_bottom + 36, escape(chart.x_label));
    fmt::format_to(to,
                   R"~(<text class="label" transform="translate(14 {:.1f}) rotate(-90)" )~"
                   R"~(text-anchor="middle">{}</text>)~",
                   (plot_top + plot_bottom) / 2, escape(chart.y_label));
    out += "</g>";
    if (empty)
        fmt::format_to(
            to, R"(<text class="empty" x="{}" y="{:.1f}" text-anchor="middle">no data</text>)",
            (plot_left + plot_right) / 2, (plot_top + plot_bottom) / 2);
    for (const auto& s : lines) {
        const auto& l = look_of(s.style);
        fmt::format_to(to,
                       R"(<path class="series" data-series="{}" fill="none" stroke="{}" )"
                       R"(stroke-width="1.6" stroke-dasharray="{}" d=")",
                       escape(s.name), l.colour, l.dash);
        char command = 'M';
        std::size_t drawn = 0;
        for (const auto& p : s.points) {
            if (std::isnan(p.y)) {
                command = 'M';
                continue;
            }
            fmt::format_to(to, "{}{:.1f} {:.1f}", command, x(p.x), y(p.y));
            command = 'L';
            ++drawn;
        }
        out += "\"/>";
        // Few points: mark each one, so that a short run still shows.
        if (drawn <= 30) {
            fmt::format_to(to, R"(<g class="markers" fill="{}">)", l.colour);
            for (const auto& p : s.points)
                if (!std::isnan(p.y)) append_marker(out, l, x(p.x), y(p.y));
            out += "</g>";
        }
    }
    out += "</svg>";
    return out;
}

std::string render(const bar_chart& chart) {
    constexpr double row = 22;
    constexpr double label_width = 220;
    const double top = 34;
    const double height =
        top + row * static_cast<double>(std::max<std::size_t>(chart.bars.size(), 1)) + 30;
    double most = 0;
    for (const auto& b : chart.bars) most = std::max(most, b.value);
    const double bar_left = plot_left + label_width;
    const double bar_room = plot_right - bar_left - 70;
    std::string out;
    auto to = std::back_inserter(out);
    open_svg(out, chart.id, chart.title, height);
    if (chart.bars.empty())
        fmt::format_to(to, R"(<text class="empty" x="{}" y="{:.1f}">none</text>)", bar_left,
                       top + 15);
    for (std::size_t i = 0; i < chart.bars.size(); ++i) {
        const auto& b = chart.bars[i];
        const double y = top + row * static_cast<double>(i);
        const double width = most > 0 ? std::max(1.0, b.value / most * bar_room) : 1.0;
        std::string label = b.label.size() > 34 ? b.label.substr(0, 33) + "…" : b.label;
        const auto& l = look_of(i);
        fmt::format_to(to,
                       R"(<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>)"
                       R"(<rect class="bar" data-bar="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" )"
                       R"(height="{:.1f}" fill="{}"/>)"
                       R"(<text class="tick" x="{:.1f}" y="{:.1f}">{}</text>)",
                       bar_left - 8, y + 15, escape(label), escape(b.label), bar_left, y + 3, width,
                       row - 6, l.colour, bar_left + width + 6, y + 15,
                       escape(format_number(b.value)));
    }
    fmt::format_to(to, R"(<text class="label" x="{:.1f}" y="{:.1f}">{}</text>)", bar_left,
                   height - 8, escape(chart.y_label));
    out += "</svg>";
    return out;
}

std::string page_start(std::string_view title) {
    return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
body {{ font: 14px/1.4 sans-serif; color: #222; margin: 1.5em auto; max-width: 800px; padding: 0 1em; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 2px 10px 2px 0; text-align: left; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: 2px 14px; }}
dt {{ font-weight: bold; }} dd {{ margin: 0; font-family: monospace; word-break: break-all; }}
.warning {{ border-left: 4px solid #d55e00; padding: 4px 10px; background: #fff4ec; }}
.note {{ color: #555; font-size: 0.9em; }}
svg {{ display: block; max-width: 100%; height: auto; margin: 0.6em 0; }}
svg text {{ font: 11px sans-serif; fill: #222; }}
svg text.title {{ font-size: 13px; font-weight: bold; }}
svg .grid {{ stroke: #e3e3e3; }} svg .frame {{ stroke: #888; }}
th[data-sort] {{ cursor: pointer; text-decoration: underline dotted; }}
</style></head><body>
)",
                       escape(title));
}

std::string page_end() {
    return "</body></html>\n";
}

}  // namespace fanout::chart
