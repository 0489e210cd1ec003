// The wire layer's response parser as the HTTP client drives it: keeping the
// answer (reason, headers, body within the limit, or cut at it), the bytes
// arriving a read at a time and the close at the end. Then what the client
// does with an answer: expect_success (Retry-After) and a redirect's
// Location resolved against the request's URL. The same bytes given all at
// once and a read at a time must read the same answer.
//
// Input: one byte for the request ('H' is a HEAD, 'T' a GET whose body is
// cut at the limit, anything else a GET), one byte for how the bytes arrive
// (its value modulo 64 bytes a read, 0 for all at once), then the bytes the
// server sends.
#include "http/response_parser.hpp"
#include "http/target.hpp"

#include <fanout/http/message.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using fanout::http::detail::response_parser;
using state = response_parser::state;

constexpr std::uint64_t body_limit = 4096;

struct reading {
    state last = state::need_more;
    fanout::http::response answer;
    bool truncated = false;
    bool keep_alive = false;
};

reading read(std::string_view wire, std::size_t read_size, bool head, bool truncate) {
    reading out;
    response_parser parser;
    parser.reset(head);
    parser.keep(out.answer, body_limit, truncate);
    std::string buffer;
    while (out.last == state::need_more) {
        const auto n = read_size == 0 ? wire.size() : std::min(read_size, wire.size());
        if (n == 0) {
            out.last = parser.finish();
            break;
        }
        buffer.append(wire.substr(0, n));
        wire.remove_prefix(n);
        out.last = parser.parse(buffer);
        if (parser.consumed() > buffer.size()) std::abort();
        buffer.erase(0, parser.consumed());
        if (out.last == state::error && *parser.error_reason() == '\0') std::abort();
    }
    out.truncated = parser.truncated();
    out.keep_alive = parser.keep_alive();
    if (out.last == state::done) {
        if (out.answer.status < 200 || out.answer.status > 599) std::abort();
        if (out.answer.body.size() > body_limit) std::abort();
        if (head && !out.answer.body.empty()) std::abort();
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool head = data[0] == 'H';
    const bool truncate = data[0] == 'T';
    const std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);
    auto at_once = read(wire, 0, head, truncate);
    const auto in_reads = read(wire, data[1] % 64, head, truncate);
    if (at_once.last != in_reads.last) std::abort();
    if (at_once.last == state::done && (at_once.answer.status != in_reads.answer.status ||
                                        at_once.answer.body != in_reads.answer.body ||
                                        at_once.answer.headers != in_reads.answer.headers ||
                                        at_once.keep_alive != in_reads.keep_alive))
        std::abort();
    if (at_once.last != state::done) return 0;

    auto& answer = at_once.answer;
    answer.url = "http://127.0.0.1:8080/a/b?c=d";
    if (const auto location = answer.header("Location")) {
        if (auto next = fanout::http::detail::resolve_location(answer.url, *location))
            (void)fanout::http::detail::parse_target(*next);
    }
    (void)fanout::http::expect_success(std::move(answer));
    return 0;
}
