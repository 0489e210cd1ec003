#pragma once
// line: one numbered line of an item-per-line input, as lines() and
// line_source give it.

#include <cstddef>
#include <string>

namespace fanout {

struct line {
    std::size_t number = 0;  ///< from 1
    std::string text;        ///< without the line end
    /// Longer than the reader's bound (line_source): text holds its start only.
    bool too_long = false;
};

}  // namespace fanout
