#pragma once
// Domain names as fanout accepts them (private).

#include <optional>
#include <string>
#include <string_view>

namespace fanout::dns::detail {

/// The name without one final dot ("example.com." -> "example.com").
std::string without_final_dot(std::string_view name);

/// Why `name` (without its final dot) is not a domain name fanout will ask
/// for, or nothing when it is one: 1 to 253 characters, labels of 1 to 63,
/// letters, digits and "-_*/" only.
std::optional<std::string> validate_name(std::string_view name);

/// "localhost" and names under it (RFC 6761 6.3), any case.
bool is_localhost(std::string_view name);

/// `name` in lower case (ASCII).
std::string lower(std::string_view name);

}  // namespace fanout::dns::detail
