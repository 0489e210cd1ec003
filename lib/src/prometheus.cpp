#include <fanout/prometheus.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace fanout {
namespace {

bool name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool name_char(char c) {
    return name_start(c) || (c >= '0' && c <= '9');
}

void check_metric_name(std::string_view name) {
    const bool valid = !name.empty() && (name_start(name[0]) || name[0] == ':') &&
                       std::ranges::all_of(name, [](char c) { return name_char(c) || c == ':'; });
    if (!valid)
        throw std::invalid_argument(
            fmt::format("prometheus: '{}' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", name));
}

void check_labels(const prometheus_labels& labels, bool histogram) {
    for (auto it = labels.begin(); it != labels.end(); ++it) {
        const std::string_view name = it->first;
        const bool valid = !name.empty() && name_start(name[0]) &&
                           std::ranges::all_of(name, name_char) && !name.starts_with("__");
        if (!valid)
            throw std::invalid_argument(fmt::format(
                "prometheus: '{}' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no leading __)",
                name));
        if (histogram && name == "le")
            throw std::invalid_argument("prometheus: 'le' is the histogram's own label");
        if (std::any_of(labels.begin(), it, [&](const auto& l) { return l.first == name; }))
            throw std::invalid_argument(fmt::format("prometheus: label '{}' given twice", name));
    }
}

// Escapes as the format allows: \\ and \n, and \" in label values. Other
// control characters have no escape and become U+FFFD.
void append_escaped(std::string& out, std::string_view text, bool label_value) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && label_value)
            out += "\\\"";
        else if (byte < 0x20 || byte == 0x7f)
            out += "\xEF\xBF\xBD";
        else
            out += c;
    }
}

// {a="x",b="y"} with `extra` (le="...") last; nothing when there are none.
std::string label_set(const prometheus_labels& labels, std::string_view extra_name = {},
                      std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return {};
    std::string out = "{";
    for (const auto& [name, value] : labels) {
        if (out.size() > 1) out += ',';
        out += name;
        out += "=\"";
        append_escaped(out, value, true);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (out.size() > 1) out += ',';
        fmt::format_to(std::back_inserter(out), "{}=\"{}\"", extra_name, extra_value);
    }
    out += '}';
    return out;
}

void append_family_head(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped(out, help, false);
    fmt::format_to(std::back_inserter(out), "\n# TYPE {} {}\n", name, type);
}

// Seconds in the shortest form that reads back as the same double
// ("0.0025", "10"), as Prometheus's own clients write them.
std::string seconds_text(double seconds) {
    return fmt::format("{}", seconds);
}

double seconds_of(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

std::vector<std::chrono::nanoseconds> default_latency_buckets() {
    using std::chrono::microseconds;
    return {microseconds(1'000),     microseconds(2'500),     microseconds(5'000),
            microseconds(10'000),    microseconds(25'000),    microseconds(50'000),
            microseconds(100'000),   microseconds(250'000),   microseconds(500'000),
            microseconds(1'000'000), microseconds(2'500'000), microseconds(5'000'000),
            microseconds(10'000'000)};
}

void append_prometheus_histogram(std::string& out, const histogram& h, std::string_view name,
                                 std::string_view help,
                                 std::span<const std::chrono::nanoseconds> bounds,
                                 const prometheus_labels& labels) {
    check_metric_name(name);
    check_labels(labels, true);
    if (!std::ranges::is_sorted(bounds) || std::ranges::adjacent_find(bounds) != bounds.end() ||
        (!bounds.empty() && bounds.front() <= std::chrono::nanoseconds::zero()))
        throw std::invalid_argument(
            "prometheus: histogram bounds must be positive and strictly ascending");

    const auto counts = h.cumulative_counts(bounds);
    append_family_head(out, name, "histogram", help);
    for (std::size_t i = 0; i < bounds.size(); ++i)
        fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", name,
                       label_set(labels, "le", seconds_text(seconds_of(bounds[i]))), counts[i]);
    fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", name,
                   label_set(labels, "le", "+Inf"), h.count());
    const auto plain = label_set(labels);
    fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n", name, plain,
                   seconds_text(static_cast<double>(h.sum_ns()) / 1e9));
    fmt::format_to(std::back_inserter(out), "{}_count{} {}\n", name, plain, h.count());
}

void append_prometheus_histogram(std::string& out, const histogram& h, std::string_view name,
                                 std::string_view help, const prometheus_labels& labels) {
    const auto bounds = default_latency_buckets();
    append_prometheus_histogram(out, h, name, help, bounds, labels);
}

void append_prometheus_progress(std::string& out, const progress_snapshot& snapshot,
                                std::string_view prefix, const prometheus_labels& labels) {
    check_metric_name(prefix);
    check_labels(labels, false);
    const auto set = label_set(labels);
    const auto family = [&](std::string_view suffix, std::string_view type, std::string_view help,
                            std::uint64_t value) {
        const auto name = fmt::format("{}_{}", prefix, suffix);
        append_family_head(out, name, type, help);
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, set, value);
    };
    family("started_total", "counter", "Items started (first attempts).", snapshot.started);
    family("done_total", "counter", "Items ended, successes and failures.", snapshot.done);
    family("failed_total", "counter", "Items ended in failure.", snapshot.failed);
    family("retried_total", "counter", "Attempts after a failed one.", snapshot.retried);
    family("in_flight", "gauge", "Items started and not yet ended.", snapshot.in_flight());
    if (snapshot.total)
        family("items", "gauge", "Items to do in all, when known.", *snapshot.total);
}

}  // namespace fanout
