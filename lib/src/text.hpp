#pragma once
// Text helpers of the library (private): ASCII case folding, trimming of
// optional whitespace, and the RFC 9110 token test. ASCII only, on purpose:
// protocol text is not localised, and std::tolower consults the locale on
// every call. Nothing here allocates or throws.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

namespace fanout::detail {

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// Equal but for ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

constexpr bool is_space_or_tab(char c) noexcept {
    return c == ' ' || c == '\t';
}

/// Without leading and trailing spaces and tabs (HTTP's OWS).
constexpr std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && is_space_or_tab(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space_or_tab(text.back())) text.remove_suffix(1);
    return text;
}

/// RFC 9110 5.6.2 tchar: a visible ASCII character other than a delimiter.
/// NUL, controls, space, DEL and bytes over 0x7f are not.
inline constexpr auto token_chars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~"))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();

constexpr bool is_token_char(char c) noexcept {
    return token_chars[static_cast<unsigned char>(c)];
}

/// One or more token characters (a method, a header name, a coding).
constexpr bool is_token(std::string_view text) noexcept {
    return !text.empty() && std::ranges::all_of(text, is_token_char);
}

}  // namespace fanout::detail
