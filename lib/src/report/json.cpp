#include <fanout/report/json.hpp>

#include <fanout/report/escape.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace fanout::report {

bool append_json_string(std::string& out, std::string_view text) {
    const bool plain = std::ranges::all_of(text, [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && byte != '"' && byte != '\\';
    });
    if (plain) {
        out += '"';
        out += text;
        out += '"';
        return false;
    }
    // Boost.JSON escapes; it copies bytes >= 0x80 as they are, so they must
    // be valid UTF-8 first.
    if (is_valid_utf8(text)) {
        out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
        return false;
    }
    std::string valid;
    valid.reserve(text.size() + 8);
    append_valid_utf8(valid, text);
    out += boost::json::serialize(boost::json::string_view(valid));
    return true;
}

void append_milliseconds(std::string& out, std::chrono::nanoseconds d) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    const auto magnitude = micros < 0 ? -micros : micros;
    fmt::format_to(std::back_inserter(out), "{}{}.{:03}", micros < 0 ? "-" : "", magnitude / 1000,
                   magnitude % 1000);
}

}  // namespace fanout::report
