#include "dns/name.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace fanout::dns::detail {

std::string without_final_dot(std::string_view name) {
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    return std::string(name);
}

namespace {

// The bytes a label may hold: ASCII letters, digits and "-_*/".
constexpr auto label_bytes = [] {
    std::array<bool, 256> ok{};
    for (int c = 'a'; c <= 'z'; ++c) ok[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) ok[static_cast<std::size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) ok[static_cast<std::size_t>(c)] = true;
    for (const char c : {'-', '_', '*', '/'}) ok[static_cast<unsigned char>(c)] = true;
    return ok;
}();

// Why a name that is not valid is not (the slow path, for the message).
std::string why_not_valid(std::string_view name) {
    if (name.empty()) return "empty name";
    if (name.size() > 253) return fmt::format("{} characters, more than 253", name.size());
    std::size_t label = 0;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const unsigned char c = name[i];
        if (c == '.') {
            if (label == 0) return fmt::format("empty label at character {}", i + 1);
            label = 0;
            continue;
        }
        if (!label_bytes[c]) {
            if (c < 0x20 || c > 0x7e) return fmt::format("byte 0x{:02x} at character {}", c, i + 1);
            return fmt::format("character '{}' at {}", static_cast<char>(c), i + 1);
        }
        if (++label > 63) return fmt::format("a label longer than 63 characters at {}", i + 1);
    }
    return "empty label at the end";
}

}  // namespace

std::optional<std::string> validate_name(std::string_view name) {
    // One pass with a table for the names that are fine (nearly all).
    bool fine = !name.empty() && name.size() <= 253;
    std::size_t label = 0;
    for (std::size_t i = 0; fine && i < name.size(); ++i) {
        const unsigned char c = name[i];
        if (c == '.') {
            fine = label != 0;
            label = 0;
        } else {
            fine = label_bytes[c] && ++label <= 63;
        }
    }
    if (fine && label != 0) return std::nullopt;
    return why_not_valid(name);
}

std::string lower(std::string_view name) {
    std::string out(name);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_localhost(std::string_view name) {
    const auto folded = lower(name);
    return folded == "localhost" || folded.ends_with(".localhost");
}

}  // namespace fanout::dns::detail
