#include <fanout/report/escape.hpp>

#include <fmt/format.h>

#include <iterator>

namespace fanout::report {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

bool continuation(unsigned char byte) noexcept {
    return (byte & 0xC0) == 0x80;
}

void append_byte_escape(std::string& out, unsigned char byte) {
    fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view text) noexcept {
    if (text.empty()) return 0;
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = at(0);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
        if (lead == 0xED) high = 0x9F;  // surrogates U+D800..DFFF
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;   // overlong below U+10000
        if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
    } else {
        return 0;  // a continuation byte, C0, C1 (overlong) or F5..FF
    }
    if (text.size() < length || at(1) < low || at(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (!continuation(at(i))) return 0;
    return length;
}

bool is_valid_utf8(std::string_view text) noexcept {
    while (!text.empty()) {
        const auto length = utf8_sequence_length(text);
        if (length == 0) return false;
        text.remove_prefix(length);
    }
    return true;
}

bool append_valid_utf8(std::string& out, std::string_view text) {
    bool replaced = false;
    while (!text.empty()) {
        const auto length = utf8_sequence_length(text);
        if (length == 0) {
            out += replacement;
            replaced = true;
            text.remove_prefix(1);
        } else {
            out.append(text.data(), length);
            text.remove_prefix(length);
        }
    }
    return replaced;
}

bool is_control(std::string_view text, std::size_t length) noexcept {
    const auto lead = static_cast<unsigned char>(text[0]);
    if (length == 1) return lead < 0x20 || lead == 0x7F;
    // U+0080..U+009F: C2 80..C2 9F.
    return length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[1]) <= 0x9F;
}

void append_printable(std::string& out, std::string_view text) {
    while (!text.empty()) {
        const auto length = utf8_sequence_length(text);
        if (length == 0 || is_control(text, length)) {
            const auto bytes = length == 0 ? 1 : length;
            for (std::size_t i = 0; i < bytes; ++i)
                append_byte_escape(out, static_cast<unsigned char>(text[i]));
            text.remove_prefix(bytes);
        } else {
            out.append(text.data(), length);
            text.remove_prefix(length);
        }
    }
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    append_printable(out, text);
    return out;
}

}  // namespace fanout::report
