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
    if (ec != std::errc{} || end == first)
        return bad("expected a number followed by a unit (ns, us, ms, s, m, h)");
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
    if (magnitude < 999.5) return fmt::format("{}ns", d.count());
    // Each unit is used while the value, rounded to three significant
    // digits, stays below its limit; never exponent form.
    struct unit {
        double scale;
        std::string_view name;
        double below;  // in ns
    };
    static constexpr unit units[] = {{1e3, "us", 999.5e3},
                                     {1e6, "ms", 999.5e6},
                                     {1e9, "s", 599.5e9},
                                     {60e9, "m", 599.5 * 60e9},
                                     {3600e9, "h", 0}};
    for (const auto& u : units) {
        if (u.below != 0 && magnitude >= u.below) continue;
        const double value = ns / u.scale;
        const double size = std::fabs(value);
        const int decimals = size < 9.995 ? 2 : (size < 99.95 ? 1 : 0);
        std::string text = fmt::format("{:.{}f}", value, decimals);
        if (text.find('.') != std::string::npos) {
            while (text.back() == '0') text.pop_back();
            if (text.back() == '.') text.pop_back();
        }
        return text + std::string(u.name);
    }
    return {};  // not reached: the last unit has no limit
}

}  // namespace fanout
