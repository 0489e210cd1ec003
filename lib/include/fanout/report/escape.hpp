#pragma once
// Text from outside (input lines, answers of servers) made safe for an
// output: valid UTF-8 where a format requires it (JSON, Prometheus), and
// nothing a terminal would act on where a person reads it (table, text).
//
//   append_valid_utf8(out, text)   each byte that is not part of a valid UTF-8
//                                  sequence becomes U+FFFD; true when one did
//   append_printable(out, text)    control characters (C0, DEL, C1) and invalid
//                                  bytes written as \xNN, one per byte; the rest as is
//   printable(text)                the same, as a new string
//
// Valid UTF-8 is RFC 3629's: no overlong forms, no surrogates, nothing past
// U+10FFFF. Errors: nothing here throws except std::bad_alloc.

#include <cstddef>
#include <string>
#include <string_view>

namespace fanout::report {

/// The length of the valid UTF-8 sequence `text` starts with (1 to 4); 0 when
/// it starts with a byte that begins none (or `text` is empty).
std::size_t utf8_sequence_length(std::string_view text) noexcept;

/// Whether all of `text` is valid UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

/// Appends `text` with each byte that begins no valid sequence replaced by
/// U+FFFD; returns whether any was.
bool append_valid_utf8(std::string& out, std::string_view text);

/// Whether the sequence at the start of `text` (of `length` bytes, as
/// utf8_sequence_length says) is a control character: C0, DEL or C1.
bool is_control(std::string_view text, std::size_t length) noexcept;

/// Appends `text` with control characters and invalid bytes as \xNN.
void append_printable(std::string& out, std::string_view text);

std::string printable(std::string_view text);

}  // namespace fanout::report
