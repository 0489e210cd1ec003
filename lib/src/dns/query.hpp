#pragma once
// DNS queries on the wire (private): encoding one, and telling whether a
// response answers it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace fanout::dns::detail {

/// The largest query: the header, a name of 255 bytes, type and class.
inline constexpr std::size_t max_query_size = 12 + 255 + 4;

using query_buffer = std::array<std::uint8_t, max_query_size>;

/// Writes a recursive query (RD set, no EDNS) for `name` (validated:
/// labels of 1 to 63 bytes, no final dot) of class IN; its length, 0 when
/// the name does not fit.
std::size_t encode_query(query_buffer& out, std::uint16_t id, std::string_view name,
                         std::uint16_t type);

/// Sets the id of an encoded query.
inline void set_query_id(query_buffer& query, std::uint16_t id) {
    query[0] = static_cast<std::uint8_t>(id >> 8);
    query[1] = static_cast<std::uint8_t>(id & 0xff);
}

/// The id of a message of at least 2 bytes.
inline std::uint16_t message_id(std::span<const std::uint8_t> message) {
    return static_cast<std::uint16_t>(message[0] << 8 | message[1]);
}

/// True when `response` is a response (QR set) with the id of `query` and
/// its one question: the same name (ASCII case ignored), type and class.
bool answers_query(std::span<const std::uint8_t> response, std::span<const std::uint8_t> query);

}  // namespace fanout::dns::detail
