#pragma once
// Durations as people write them: "250ms", "2s", "1.5m", "10us".
//
// Errors: parse_duration returns a failure (errc::invalid_input) naming the
// text it could not read; format_duration never fails.

#include <fanout/outcome.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace fanout {

/// Reads a non-negative number with a unit: ns, us, ms, s, m, h.
/// A bare number is taken in seconds.
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// A short human form with about three significant digits: "12.3ms", "2s".
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace fanout
