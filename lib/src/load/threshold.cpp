#include <fanout/load/threshold.hpp>

#include <fanout/duration.hpp>

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>

namespace fanout::load {
namespace {

std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

// A finite non-negative number taking all of `text`.
std::optional<double> parse_number(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0)
        return std::nullopt;
    return value;
}

bool is_latency(threshold::metric m) noexcept {
    return m == threshold::metric::latency_percentile || m == threshold::metric::latency_mean ||
           m == threshold::metric::latency_max;
}

}  // namespace

fanout::result<threshold> parse_threshold(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return failure{make_error_code(errc::invalid_input),
                       fmt::format("bad threshold '{}': {} (examples: 'p99>50ms', 'errors>1%', "
                                   "'rps<1000')",
                                   text, why)};
    };
    threshold out;
    out.text = std::string(trim(text));
    const auto op_at = text.find_first_of("<>");
    if (op_at == std::string_view::npos) return bad("no comparison (< <= > >=)");
    const std::string_view name = trim(text.substr(0, op_at));
    std::string_view rest = text.substr(op_at);
    const bool or_equal = rest.size() > 1 && rest[1] == '=';
    if (rest[0] == '<')
        out.op = or_equal ? threshold::comparison::less_equal : threshold::comparison::less;
    else
        out.op = or_equal ? threshold::comparison::greater_equal : threshold::comparison::greater;
    const std::string_view value = trim(rest.substr(or_equal ? 2 : 1));
    if (value.empty()) return bad("no value after the comparison");

    if (name == "mean" || name == "max" || (name.size() > 1 && name[0] == 'p')) {
        if (name == "mean") {
            out.what = threshold::metric::latency_mean;
        } else if (name == "max") {
            out.what = threshold::metric::latency_max;
        } else {
            const auto p = parse_number(name.substr(1));
            if (!p || *p <= 0 || *p > 100) return bad("a percentile is p0.1 to p100");
            out.what = threshold::metric::latency_percentile;
            out.percentile = *p;
        }
        const auto d = parse_duration(value);
        if (!d) return bad("the value must be a duration such as 50ms");
        out.value = static_cast<double>(d->count());
    } else if (name == "errors" || name == "unanswered") {
        out.what = name == "errors" ? threshold::metric::errors : threshold::metric::unanswered;
        std::string_view number = value;
        if (number.back() == '%') {
            out.percent = true;
            number.remove_suffix(1);
        }
        const auto n = parse_number(trim(number));
        if (!n) return bad("the value must be a count or a percentage such as 1%");
        out.value = *n;
    } else if (name == "rps" || name == "requests") {
        out.what = name == "rps" ? threshold::metric::rps : threshold::metric::requests;
        const auto n = parse_number(value);
        if (!n) return bad("the value must be a number");
        out.value = *n;
    } else {
        return bad(fmt::format(
            "unknown metric '{}' (pN, mean, max, errors, unanswered, rps, requests)", name));
    }
    return out;
}

fanout::result<std::vector<threshold>> parse_thresholds(const std::vector<std::string>& texts) {
    std::vector<threshold> out;
    for (const auto& text : texts) {
        auto parsed = parse_threshold(text);
        if (!parsed) return std::move(parsed.error());
        out.push_back(std::move(*parsed));
    }
    return out;
}

double measure(const threshold& t, const result& r) noexcept {
    switch (t.what) {
        case threshold::metric::latency_percentile:
            return static_cast<double>(r.honest_latency().percentile(t.percentile).count());
        case threshold::metric::latency_mean:
            return static_cast<double>(r.honest_latency().mean().count());
        case threshold::metric::latency_max:
            return static_cast<double>(r.honest_latency().max().count());
        case threshold::metric::errors:
            // Unanswered requests are not passed as answered.
            return t.percent ? r.error_percent() : static_cast<double>(r.errors + r.unanswered);
        case threshold::metric::unanswered:
            return t.percent && r.sent > 0
                       ? 100.0 * static_cast<double>(r.unanswered) / static_cast<double>(r.sent)
                       : static_cast<double>(r.unanswered);
        case threshold::metric::rps:
            return r.requests_per_second();
        case threshold::metric::requests:
            return static_cast<double>(r.responses);
    }
    return 0;
}

std::optional<std::string> check(const threshold& t, const result& r) {
    const double seen = measure(t, r);
    bool holds = false;
    switch (t.op) {
        case threshold::comparison::less:
            holds = seen < t.value;
            break;
        case threshold::comparison::less_equal:
            holds = seen <= t.value;
            break;
        case threshold::comparison::greater:
            holds = seen > t.value;
            break;
        case threshold::comparison::greater_equal:
            holds = seen >= t.value;
            break;
    }
    if (!holds) return std::nullopt;
    std::string shown;
    if (is_latency(t.what))
        shown = format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(seen)));
    else if ((t.what == threshold::metric::errors || t.what == threshold::metric::unanswered) &&
             t.percent)
        shown = fmt::format("{:.2f}%", seen);
    else if (t.what == threshold::metric::rps)
        shown = fmt::format("{:.1f}", seen);
    else
        shown = fmt::format("{:.0f}", seen);
    std::string name;
    switch (t.what) {
        case threshold::metric::latency_percentile:
            name = fmt::format("p{}", t.percentile);
            break;
        case threshold::metric::latency_mean:
            name = "mean";
            break;
        case threshold::metric::latency_max:
            name = "max";
            break;
        case threshold::metric::errors:
            name = "errors";
            break;
        case threshold::metric::unanswered:
            name = "unanswered";
            break;
        case threshold::metric::rps:
            name = "rps";
            break;
        case threshold::metric::requests:
            name = "requests";
            break;
    }
    return fmt::format("{} failed: {} was {}", t.text, name, shown);
}

std::vector<std::string> failed_thresholds(const std::vector<threshold>& thresholds,
                                           const result& r) {
    std::vector<std::string> out;
    for (const auto& t : thresholds)
        if (auto message = check(t, r)) out.push_back(std::move(*message));
    return out;
}

}  // namespace fanout::load
