// Durations as written on the command line (-d, --timeout, --deadline,
// thresholds' values): parse_duration, then format_duration of what it read.
#include <fanout/duration.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = fanout::parse_duration(text);
    if (!parsed) {
        if (parsed.error().text().empty()) std::abort();  // every failure says why
        return 0;
    }
    if (parsed->count() < 0) std::abort();  // never negative
    const auto written = fanout::format_duration(*parsed);
    if (written.empty()) std::abort();
    // What messages print reads back, to its three significant digits.
    if (*parsed < std::chrono::hours(1'000'000)) {
        const auto again = fanout::parse_duration(written);
        if (!again) std::abort();
        const double before = static_cast<double>(parsed->count());
        const double after = static_cast<double>(again->count());
        if (std::fabs(after - before) > 0.006 * before + 1) std::abort();
    }
    return 0;
}
