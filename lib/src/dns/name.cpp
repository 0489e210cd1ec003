#include "dns/name.hpp"

#include <fmt/format.h>

#include <cctype>

namespace fanout::dns::detail {

std::string without_final_dot(std::string_view name) {
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    return std::string(name);
}

std::optional<std::string> validate_name(std::string_view name) {
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
        // ASCII by hand: isalnum() is a call per byte and follows the locale.
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '_' && c != '*' && c != '/') {
            if (c < 0x20 || c > 0x7e) return fmt::format("byte 0x{:02x} at character {}", c, i + 1);
            return fmt::format("character '{}' at {}", static_cast<char>(c), i + 1);
        }
        if (++label > 63) return fmt::format("a label longer than 63 characters at {}", i + 1);
    }
    if (label == 0) return "empty label at the end";
    return std::nullopt;
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
