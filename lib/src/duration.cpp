#include <fanout/duration.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <utility>

namespace fanout {

result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return failure{errc::invalid_input, fmt::format("invalid duration '{}': {}", text, why)};
    };
    double number = 0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [end, ec] = std::from_chars(first, last, number);
    if (ec != std::errc{} || end == first) return bad("expected a number followed by a unit (ns, us, ms, s, m, h)");
    if (!std::isfinite(number) || number < 0) return bad("must be a finite, non-negative number");

    const std::string_view unit(end, static_cast<std::size_t>(last - end));
    static constexpr std::pair<std::string_view, double> units[] = {
        {"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    for (const auto& [name, scale] : units) {
        if (unit == name) {
            const double ns = number * scale;
            if (ns > 9.2e18) return bad("too large");
            return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
        }
    }
    return bad("unknown unit (use ns, us, ms, s, m or h)");
}

std::string format_duration(std::chrono::nanoseconds d) {
    const double ns = static_cast<double>(d.count());
    const double magnitude = std::fabs(ns);
    const auto pick = [&](double scale, std::string_view unit) {
        return fmt::format("{:.3g}{}", ns / scale, unit);
    };
    if (magnitude < 1e3) return fmt::format("{}ns", d.count());
    if (magnitude < 1e6) return pick(1e3, "us");
    if (magnitude < 1e9) return pick(1e6, "ms");
    if (magnitude < 600e9) return pick(1e9, "s");
    if (magnitude < 36000e9) return pick(60e9, "m");
    return pick(3600e9, "h");
}

}  // namespace fanout
