#include "load/response_parser.hpp"

#include <algorithm>

namespace fanout::load::detail {
namespace {

char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// ASCII only, without the locale std::tolower consults on every call.
bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::ranges::equal(a, b,
                              [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A chunk-size line is short; anything longer is not one.
constexpr std::size_t max_chunk_line = 1024;

}  // namespace

void response_parser::reset(bool head_request) noexcept {
    *this = response_parser();
    head_request_ = head_request;
}

response_parser::state response_parser::fail(const char* reason) noexcept {
    error_reason_ = reason;
    return state::error;
}

response_parser::state response_parser::parse(std::string_view input) noexcept {
    consumed_ = 0;
    for (;;) {
        const std::string_view rest = input.substr(consumed_);
        switch (phase_) {
            case phase::head: {
                // Search only what was not searched before (keeping 3 bytes
                // of overlap for a terminator split across reads).
                const std::size_t from = scanned_ > 3 ? scanned_ - 3 : 0;
                const auto end = rest.find("\r\n\r\n", from);
                if (end == std::string_view::npos) {
                    if (rest.size() > max_head_size) return fail("the response head is too large");
                    scanned_ = rest.size();
                    return state::need_more;
                }
                if (end + 4 > max_head_size) return fail("the response head is too large");
                consumed_ += end + 4;
                scanned_ = 0;
                if (!parse_head(rest.substr(0, end))) return state::error;
                if (close_) keep_alive_ = false;
                if (status_ == 101) return fail("a protocol switch (101) is not supported");
                if (status_ < 200) {  // interim answer: the real one follows
                    const bool head_request = head_request_;
                    const std::size_t consumed = consumed_;
                    reset(head_request);
                    consumed_ = consumed;
                    continue;
                }
                if (head_request_ || status_ == 204 || status_ == 304) {
                    phase_ = phase::done;
                } else if (chunked_) {
                    phase_ = phase::chunk_size;
                } else if (has_length_) {
                    phase_ = remaining_ == 0 ? phase::done : phase::body;
                } else {
                    phase_ = phase::until_close;
                    keep_alive_ = false;
                }
                break;
            }
            case phase::until_close:
                consumed_ += rest.size();
                return state::need_more;
            case phase::body:
            case phase::chunk_data: {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
                consumed_ += n;
                remaining_ -= n;
                if (remaining_ > 0) return state::need_more;
                phase_ = phase_ == phase::body ? phase::done : phase::chunk_data_end;
                break;
            }
            case phase::chunk_size: {
                const auto end = rest.find("\r\n");
                if (end == std::string_view::npos) {
                    if (rest.size() > max_chunk_line) return fail("a chunk-size line is too long");
                    return state::need_more;
                }
                std::string_view line = rest.substr(0, end);
                if (const auto ext = line.find(';'); ext != std::string_view::npos)
                    line = line.substr(0, ext);
                line = trim(line);
                if (line.empty() || line.size() > 15) return fail("a bad chunk size");
                std::uint64_t size = 0;
                for (const char c : line) {
                    const int digit = hex_value(c);
                    if (digit < 0) return fail("a bad chunk size");
                    size = size * 16 + static_cast<std::uint64_t>(digit);
                }
                consumed_ += end + 2;
                remaining_ = size;
                phase_ = size == 0 ? phase::trailers : phase::chunk_data;
                break;
            }
            case phase::chunk_data_end: {
                if (rest.size() < 2) return state::need_more;
                if (rest[0] != '\r' || rest[1] != '\n') return fail("a chunk without its CRLF");
                consumed_ += 2;
                phase_ = phase::chunk_size;
                break;
            }
            case phase::trailers: {
                const auto end = rest.find("\r\n");
                if (end == std::string_view::npos) {
                    if (rest.size() > max_head_size) return fail("the trailers are too large");
                    return state::need_more;
                }
                consumed_ += end + 2;
                if (end == 0) phase_ = phase::done;
                break;
            }
            case phase::done:
                return state::done;
        }
    }
}

response_parser::state response_parser::finish() noexcept {
    if (phase_ == phase::until_close) phase_ = phase::done;
    if (phase_ == phase::done) return state::done;
    return fail("the connection closed before the answer ended");
}

bool response_parser::parse_head(std::string_view head) noexcept {
    auto line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK": version, a space, three digits, then a space or the end.
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." ||
        (status_line[7] != '0' && status_line[7] != '1') || status_line[8] != ' ' ||
        !is_digit(status_line[9]) || !is_digit(status_line[10]) || !is_digit(status_line[11]) ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        error_reason_ = "not an HTTP/1.x status line";
        return false;
    }
    status_ = static_cast<unsigned>((status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 +
                                    (status_line[11] - '0'));
    if (status_ < 100 || status_ > 599) {
        error_reason_ = "a status code outside 100-599";
        return false;
    }
    keep_alive_ = status_line[7] == '1';
    while (line_end != std::string_view::npos) {
        head.remove_prefix(line_end + 2);
        line_end = head.find("\r\n");
        const std::string_view line = head.substr(0, line_end);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' ||
            line.front() == '\t' || line.substr(0, colon).find_first_of(" \t") != line.npos) {
            error_reason_ = "a malformed header line";
            return false;
        }
        if (!parse_header(line.substr(0, colon), trim(line.substr(colon + 1)))) return false;
    }
    return true;
}

bool response_parser::parse_header(std::string_view name, std::string_view value) noexcept {
    if (iequals(name, "content-length")) {
        if (value.empty() || value.size() > 18 || !std::ranges::all_of(value, is_digit)) {
            error_reason_ = "a bad Content-Length";
            return false;
        }
        std::uint64_t length = 0;
        for (const char c : value) length = length * 10 + static_cast<std::uint64_t>(c - '0');
        if (has_length_ && length != remaining_) {
            error_reason_ = "two different Content-Length headers";
            return false;
        }
        has_length_ = true;
        remaining_ = length;
    } else if (iequals(name, "transfer-encoding")) {
        if (!iequals(value, "chunked")) {
            error_reason_ = "a transfer coding other than chunked";
            return false;
        }
        chunked_ = true;
    } else if (iequals(name, "connection")) {
        while (!value.empty()) {
            const auto comma = value.find(',');
            const auto token = trim(value.substr(0, comma));
            if (iequals(token, "close")) close_ = true;
            if (iequals(token, "keep-alive")) keep_alive_ = true;
            value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        }
    }
    return true;
}

}  // namespace fanout::load::detail
