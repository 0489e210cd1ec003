#include "http/url_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fanout::http::detail {

std::optional<std::string> url_text_problem(std::string_view text) {
    if (text.empty()) return "the URL is empty";
    if (text.size() > 1 && text.front() == '\'')
        return "it starts with a single quote (column 1): remove the quotes";
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const std::size_t column = i + 1;
        if (byte == ' ')
            return fmt::format("a space at column {} (percent-encode it as %20)", column);
        if (byte < 0x20 || byte == 0x7f)
            return fmt::format("a control character (0x{:02x}) at column {}", byte, column);
        if (byte >= 0x80)
            return fmt::format(
                "a non-ASCII byte (0x{:02x}) at column {} (percent-encode it, or write the host "
                "in its xn-- form)",
                byte, column);
        if (byte == '"')
            return fmt::format("a double quote at column {}{}", column,
                               column == 1 ? ": remove the quotes" : " (percent-encode it as %22)");
        if (byte == '#')
            return fmt::format("a fragment ('#') at column {}: a fragment is never sent, remove it",
                               column);
    }
    if (text.back() == '\'')
        return fmt::format("it ends with a single quote (column {}): remove the quotes",
                           text.size());
    return std::nullopt;
}

std::variant<std::uint16_t, std::string> port_of(std::string_view text) {
    if (text.empty()) return std::string("no port after ':'");
    if (!std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; }))
        return fmt::format("port '{}' is not a number", text);
    const auto digits = text.substr(std::min(text.find_first_not_of('0'), text.size()));
    unsigned long value = 0;
    if (digits.size() <= 5)
        for (const char c : digits) value = value * 10 + static_cast<unsigned long>(c - '0');
    if (digits.size() > 5 || value > 65535 || value == 0)
        return fmt::format("port {} is out of range (1-65535)", text);
    return static_cast<std::uint16_t>(value);
}

bool numeric_host(std::string_view host) noexcept {
    // Every label a number, decimal or 0x hexadecimal, as inet_aton reads them.
    if (host.empty()) return false;
    while (true) {
        const auto dot = host.find('.');
        auto label = host.substr(0, dot);
        if (label.empty()) return false;
        if (label.size() > 1 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
            label.remove_prefix(2);
            if (label.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
                return false;
        } else if (label.find_first_not_of("0123456789") != std::string_view::npos) {
            return false;
        }
        if (dot == std::string_view::npos) return true;
        host.remove_prefix(dot + 1);
    }
}

bool scheme_is(std::string_view scheme, std::string_view lower) noexcept {
    return std::ranges::equal(scheme, lower, [](char a, char b) {
        return (a >= 'A' && a <= 'Z' ? static_cast<char>(a + ('a' - 'A')) : a) == b;
    });
}

}  // namespace fanout::http::detail
