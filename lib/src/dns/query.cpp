#include "dns/query.hpp"

#include <cstring>

namespace fanout::dns::detail {

std::size_t encode_query(query_buffer& out, std::uint16_t id, std::string_view name,
                         std::uint16_t type) {
    if (name.size() > 253) return 0;
    std::size_t at = 0;
    const auto put = [&](std::uint8_t byte) { out[at++] = byte; };
    put(static_cast<std::uint8_t>(id >> 8));
    put(static_cast<std::uint8_t>(id & 0xff));
    put(0x01);  // RD
    put(0x00);
    put(0);  // one question, nothing else
    put(1);
    for (int i = 0; i < 6; ++i) put(0);
    while (!name.empty()) {
        const auto dot = name.find('.');
        const auto label = name.substr(0, dot);
        if (label.empty() || label.size() > 63) return 0;
        put(static_cast<std::uint8_t>(label.size()));
        std::memcpy(out.data() + at, label.data(), label.size());
        at += label.size();
        name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    }
    put(0);
    put(static_cast<std::uint8_t>(type >> 8));
    put(static_cast<std::uint8_t>(type & 0xff));
    put(0);
    put(1);  // IN
    return at;
}

bool answers_query(std::span<const std::uint8_t> response, std::span<const std::uint8_t> query) {
    constexpr std::size_t header = 12;
    if (response.size() < query.size() || query.size() <= header) return false;
    if (response[0] != query[0] || response[1] != query[1]) return false;
    if ((response[2] & 0x80) == 0) return false;  // not a response
    if (response[4] != 0 || response[5] != 1) return false;
    // The question as sent: uncompressed labels, so byte for byte (letters
    // in any case), then type and class. Servers nearly always echo it
    // exactly: one memcmp, and the letter by letter check only when it fails.
    if (std::memcmp(response.data() + header, query.data() + header, query.size() - header) == 0)
        return true;
    for (std::size_t i = header; i < query.size(); ++i) {
        std::uint8_t a = response[i];
        std::uint8_t b = query[i];
        if (a >= 'A' && a <= 'Z') a = static_cast<std::uint8_t>(a | 0x20);
        if (b >= 'A' && b <= 'Z') b = static_cast<std::uint8_t>(b | 0x20);
        if (a != b) return false;
    }
    return true;
}

}  // namespace fanout::dns::detail
