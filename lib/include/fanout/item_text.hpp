#pragma once
// item_text(line): the item one line of an item-per-line input holds (fanout
// sweep's targets, fanout dns's names), shared by input.hpp's readers and
// line_source. Errors: none; a line without an item gives nothing.

#include <optional>
#include <string_view>

namespace fanout {

/// The item a line holds: the text between leading spaces and tabs and the
/// end or a comment ('#' first, or after a space or tab), trimmed; nothing
/// for a blank line or a comment.
inline std::optional<std::string_view> item_text(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos || text[first] == '#') return std::nullopt;
    text.remove_prefix(first);
    for (std::size_t at = text.find('#'); at != std::string_view::npos; at = text.find('#', at + 1))
        if (text[at - 1] == ' ' || text[at - 1] == '\t') {
            text = text.substr(0, at);
            break;
        }
    return text.substr(0, text.find_last_not_of(" \t") + 1);
}

}  // namespace fanout
