#include <fanout/load/hgrm.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <iterator>

namespace fanout::load {
namespace {

constexpr double ns_per_ms = 1e6;
// Rows per halving of the distance to 100%, as HdrHistogram's default.
constexpr double ticks_per_half_distance = 5;

double in_ms(std::chrono::nanoseconds value) {
    return static_cast<double>(value.count()) / ns_per_ms;
}

// The next percentile level after `level`, as HdrHistogram's percentile
// iterator steps: finer as the distance to 100% halves.
double next_level(double level) {
    const auto halvings = std::floor(std::log2(100.0 / (100.0 - level))) + 1;
    return level + 100.0 / (ticks_per_half_distance * std::exp2(halvings));
}

}  // namespace

std::string to_hgrm(const histogram& h) {
    std::string out;
    auto to = std::back_inserter(out);
    fmt::format_to(to, "{:>12} {:>14} {:>10} {:>14}\n\n", "Value", "Percentile", "TotalCount",
                   "1/(1-Percentile)");
    const auto buckets = h.buckets();
    const double total = static_cast<double>(h.count());
    double level = 0;
    std::uint64_t cumulative = 0;
    double sum_of_squares = 0;
    const double mean = in_ms(h.mean());
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        const auto& b = buckets[i];
        cumulative += b.count;
        const double middle = (in_ms(b.lowest) + in_ms(b.highest)) / 2;
        sum_of_squares += static_cast<double>(b.count) * (middle - mean) * (middle - mean);
        const bool last = i + 1 == buckets.size();
        // A bucket reports its highest value (the top one: the exact max).
        const double value = last ? in_ms(h.max()) : in_ms(std::min(b.highest, h.max()));
        const double reached = 100.0 * static_cast<double>(cumulative) / total;
        while (level <= reached && level < 100.0) {
            fmt::format_to(to, "{:12.3f} {:14.6f} {:10} {:14.2f}\n", value, level / 100, cumulative,
                           1.0 / (1.0 - level / 100));
            level = next_level(level);
            if (last) break;  // the top bucket gives one row, then 100%
        }
        if (last)
            fmt::format_to(to, "{:12.3f} {:14.6f} {:10} {:>14}\n", value, 1.0, cumulative, "inf");
    }
    const double deviation = total > 0 ? std::sqrt(sum_of_squares / total) : 0.0;
    const auto highest = static_cast<std::uint64_t>(histogram::highest_trackable.count());
    constexpr unsigned sub_bucket_count = 2048;  // values below 2^11 ns are exact
    const auto bucket_count = std::bit_width(highest) - std::bit_width(sub_bucket_count - 1u) + 1;
    fmt::format_to(to, "#[Mean    = {:12.3f}, StdDeviation   = {:12.3f}]\n", mean, deviation);
    fmt::format_to(to, "#[Max     = {:12.3f}, Total count    = {:12}]\n", in_ms(h.max()),
                   h.count());
    fmt::format_to(to, "#[Buckets = {:12}, SubBuckets     = {:12}]\n", bucket_count,
                   sub_bucket_count);
    return out;
}

}  // namespace fanout::load
