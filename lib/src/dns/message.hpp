#pragma once
// Reading a DNS response (RFC 1035 4.1): its header and answer section.
// Private to the library: it sits on c-ares' name expansion.

#include <fanout/dns/record.hpp>
#include <fanout/outcome.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace fanout::dns::detail {

struct response {
    std::uint16_t id = 0;
    std::uint8_t rcode = 0;
    bool truncated = false;
    std::vector<record> answers;  ///< the answer section, every record in order
};

/// The header and answers of `message`; a failure with
/// errc::malformed_response saying what is wrong when it cannot be read.
/// The answers are read into `reuse`'s records (their strings keep their
/// room): a caller that hands back the records of earlier answers parses
/// without allocating.
result<response> parse_response(std::span<const unsigned char> message,
                                std::vector<record> reuse = {});

}  // namespace fanout::dns::detail
