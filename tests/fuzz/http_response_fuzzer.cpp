// The HTTP client's response framing (Beast's parser, as the client drives
// it): interim answers skipped, then one final answer read to its end. Then
// what the client does with an answer: expect_success (Retry-After) and a
// redirect's Location resolved against the request's URL.
//
// Input: one byte for the request ('H' is a HEAD, anything else a GET), one
// byte for how the bytes arrive (its value modulo 64 bytes a read, 0 for all
// at once), then the bytes the server sends.
#include "http/response_reader.hpp"
#include "http/target.hpp"

#include <fanout/http/client.hpp>
#include <fanout/http/message.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using fanout::http::detail::response_reader;

// The server's side of the connection: its bytes, a read at a time.
class peer {
  public:
    peer(std::string_view bytes, std::size_t read_size) : bytes_(bytes), read_size_(read_size) {}

    // Appends the next read to `buffer`; false at the end of the stream.
    bool read(boost::beast::flat_buffer& buffer) {
        if (bytes_.empty()) return false;
        const auto n = read_size_ == 0 ? bytes_.size() : std::min(read_size_, bytes_.size());
        auto space = buffer.prepare(n);
        std::memcpy(space.data(), bytes_.data(), n);
        buffer.commit(n);
        bytes_.remove_prefix(n);
        return true;
    }

  private:
    std::string_view bytes_;
    std::size_t read_size_;
};

// As Beast's read operations: parse what is buffered, read more when the
// parser needs it, and at the end of the stream tell the parser (or fail
// with end_of_stream when nothing came).
error_code drive(response_reader& parser, boost::beast::flat_buffer& buffer, peer& from,
                 bool header_only) {
    for (;;) {
        if (header_only ? parser.is_header_done() : parser.is_done()) return {};
        if (buffer.size() > 0) {
            error_code ec;
            const auto used = parser.put(buffer.data(), ec);
            if (used > buffer.size()) std::abort();
            buffer.consume(used);
            if (ec && ec != bhttp::error::need_more) return ec;
            if (!ec && used > 0) continue;
        }
        if (!from.read(buffer)) {
            if (!parser.got_some()) return bhttp::error::end_of_stream;
            error_code ec;
            parser.put_eof(ec);
            if (!ec && !parser.is_done()) std::abort();
            return ec;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool head_request = data[0] == 'H';
    peer server(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2), data[1] % 64);
    const std::uint64_t body_limit = fanout::http::client_options{}.max_body_size;

    boost::beast::flat_buffer buffer;
    fanout::http::response answer;
    std::optional<response_reader> reading;
    for (;;) {
        answer = fanout::http::response{};
        auto& parser = reading.emplace(answer);
        parser.body_limit(body_limit);
        parser.header_limit(64 * 1024);
        if (head_request) parser.skip(true);
        if (drive(parser, buffer, server, true)) return 0;
        if (answer.status < 100 || answer.status >= 200 || answer.status == 101) break;
    }
    if (drive(*reading, buffer, server, false)) return 0;
    if (answer.body.size() > body_limit) std::abort();
    if (head_request && !answer.body.empty()) std::abort();

    answer.url = "http://127.0.0.1:8080/a/b?c=d";
    const auto location = answer.header("Location");
    if (location) {
        if (auto next = fanout::http::detail::resolve_location(answer.url, *location))
            (void)fanout::http::detail::parse_target(*next);
    }
    (void)fanout::http::expect_success(std::move(answer));
    return 0;
}
