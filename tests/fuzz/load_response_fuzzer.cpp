// The wire layer's response parser (http/response_parser) as the load driver
// uses it (skipping bodies), fed as the
// driver feeds it: pipelined answers one after the other on a connection,
// the bytes arriving a read at a time. The same bytes given all at once and
// a read at a time must read the same answers.
//
// Input: one byte for the requests ('H': HEAD requests, their answers have
// no body), one byte for how the bytes arrive (its value modulo 64 bytes a
// read, 0 for all at once), then the bytes the server sends.
#include "http/response_parser.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using fanout::http::detail::response_parser;

struct answer {
    unsigned status;
    bool keep_alive;
    bool operator==(const answer&) const = default;
};

struct reading {
    std::vector<answer> answers;
    bool failed = false;
    std::size_t left_over = 0;  // bytes given but not consumed at the end
    bool operator==(const reading&) const = default;
};

// Reads answers from `wire` as the driver does: what the parser consumes
// is dropped; what it does not is given again with the next read.
reading read_all(std::string_view wire, std::size_t read_size, bool head_requests) {
    reading out;
    response_parser parser;
    parser.reset(head_requests);
    std::string pending;
    std::size_t begin = 0;
    while (!out.failed) {
        const auto n = read_size == 0 ? wire.size() : std::min(read_size, wire.size());
        if (n == 0 && begin == pending.size()) break;
        pending.append(wire.substr(0, n));
        wire.remove_prefix(n);
        for (;;) {
            const std::string_view given(pending.data() + begin, pending.size() - begin);
            const auto state = parser.parse(given);
            if (parser.consumed() > given.size()) std::abort();
            begin += parser.consumed();
            if (state == response_parser::state::need_more) break;
            if (state == response_parser::state::error) {
                if (*parser.error_reason() == '\0') std::abort();  // every error says why
                out.failed = true;
                break;
            }
            if (parser.status() < 200 || parser.status() > 599) std::abort();
            out.answers.push_back({parser.status(), parser.keep_alive()});
            parser.reset(head_requests);
            if (begin == pending.size()) break;
        }
        if (n == 0) break;  // the end of the stream: nothing more will come
    }
    if (!out.failed) out.left_over = pending.size() - begin;
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool head_requests = data[0] == 'H';
    const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);
    const auto at_once = read_all(wire, 0, head_requests);
    const auto in_reads = read_all(wire, data[1] % 64, head_requests);
    if (!(at_once == in_reads)) std::abort();
    return 0;
}
