// DNS responses as they come from a server (dns/message): the header and
// every answer record, names expanded through compression pointers; each
// answer's data then written as text (what reports print).
#include "dns/message.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parsed = fanout::dns::detail::parse_response(std::span(data, size));
    if (!parsed) {
        if (parsed.error().text().empty()) std::abort();  // every failure says why
        return 0;
    }
    if (parsed->rcode > 15) std::abort();
    for (const auto& answer : parsed->answers) {
        if (answer.ttl > 0x7fffffff) std::abort();
        (void)answer.text();
    }
    return 0;
}
