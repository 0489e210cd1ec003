// DNS responses as they come from a server (dns/message): the header and
// every answer record, names expanded through compression pointers (fanout's
// own reader for plain names, c-ares' for the rest); each answer's data then
// written as text (what reports print). The same bytes are matched against a
// query the way the transport matches a datagram to the lookup waiting for
// it (dns/query), and the query is built from the first bytes as a name.
#include "dns/message.hpp"
#include "dns/query.hpp"

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    const auto parsed = fanout::dns::detail::parse_response(bytes);
    if (!parsed) {
        if (parsed.error().text().empty()) std::abort();  // every failure says why
    } else {
        if (parsed->rcode > 15) std::abort();
        for (const auto& answer : parsed->answers) {
            if (answer.ttl > 0x7fffffff) std::abort();
            if (answer.name.size() > 1100) std::abort();  // 255 bytes, each \DDD at worst
            std::string text;
            answer.append_text(text);
            if (text != answer.text()) std::abort();
        }
    }
    // A query for a name made of the first bytes: never written past its
    // buffer, and answered by a response that echoes it.
    fanout::dns::detail::query_buffer query{};
    const std::string_view name(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 300));
    const auto length = fanout::dns::detail::encode_query(query, 0x1234, name, 1);
    if (length > query.size()) std::abort();
    if (length != 0) {
        auto echo = query;
        echo[2] |= 0x80;
        if (!fanout::dns::detail::answers_query({echo.data(), length}, {query.data(), length}))
            std::abort();
    }
    if (size >= 12 && length != 0)
        (void)fanout::dns::detail::answers_query(bytes, {query.data(), length});
    return 0;
}
