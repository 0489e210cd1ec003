#pragma once
// Pieces of JSON written straight into a string, for records written field by
// field: at hundreds of thousands of records a second, building a
// boost::json::object per record costs more than the work it reports.
//
// Errors: nothing here throws except std::bad_alloc. The JSON is always
// valid: in text that is not valid UTF-8, each byte that begins no valid
// sequence becomes U+FFFD, and append_json_string() says so (records then
// carry "invalid_utf8":true).

#include <chrono>
#include <string>
#include <string_view>

namespace fanout::report {

/// Appends `text` as a JSON string, quotes included. Plain ASCII without
/// quotes, backslashes or control characters is copied as it is. Returns
/// whether invalid UTF-8 was replaced by U+FFFD.
bool append_json_string(std::string& out, std::string_view text);

/// Appends `d` as milliseconds with three decimals (whole microseconds,
/// no floating-point formatting): 1.234, 0.050.
void append_milliseconds(std::string& out, std::chrono::nanoseconds d);

}  // namespace fanout::report
