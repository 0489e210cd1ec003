#include "http/response_parser.hpp"

#include "text.hpp"

#include <algorithm>
#include <cstring>

namespace fanout::http::detail {
namespace {

using fanout::detail::iequals;
using fanout::detail::is_space_or_tab;
using fanout::detail::is_token;
using fanout::detail::is_token_char;
using fanout::detail::trim;

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Field values and reason phrases: no control character but HTAB
// (RFC 9110 5.5: CR, LF and NUL are dangerous; the others are not VCHAR).
// Eight bytes at a time: a byte under 0x20 sets its high bit in
// (x - 0x20...) & ~x; only then are the bytes looked at one by one (a tab).
bool has_control(std::string_view text) noexcept {
    constexpr std::uint64_t spaces = 0x2020202020202020ULL;
    constexpr std::uint64_t high_bits = 0x8080808080808080ULL;
    const char* p = text.data();
    const char* const end = p + text.size();
    const auto slow = [](const char* from, const char* to) {
        for (; from != to; ++from)
            if (static_cast<unsigned char>(*from) < 0x20 && *from != '\t') return true;
        return false;
    };
    for (; end - p >= 8; p += 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        if (((word - spaces) & ~word & high_bits) != 0 && slow(p, p + 8)) return true;
    }
    return slow(p, end);
}

// RFC 9110 5.6.4 qdtext and quoted-pair's second byte.
bool is_qdtext(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return c == '\t' || c == ' ' || byte == 0x21 || (byte >= 0x23 && byte <= 0x5b) ||
           (byte >= 0x5d && byte <= 0x7e) || byte >= 0x80;
}
bool is_quotable(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return c == '\t' || (byte >= 0x20 && byte != 0x7f);
}

// A chunk-size line is short; anything longer is not one.
constexpr std::size_t max_chunk_line = 4096;

// Where the head's lines are concerned, a CR is only ever the first half of
// a CRLF: one anywhere in [from, to) fails.
bool has_cr(const char* from, const char* to) noexcept {
    return to > from && std::memchr(from, '\r', static_cast<std::size_t>(to - from)) != nullptr;
}

// The verdict on a chunk-size line (RFC 9112 7.1: chunk-size [chunk-ext]),
// complete (without its CRLF) or, when !complete, the part received so far.
struct chunk_line {
    bool ok = false;
    bool partial = false;  // valid so far, not yet whole
    std::uint64_t size = 0;
    const char* reason = "";
};

chunk_line read_chunk_line(std::string_view line, bool complete) noexcept {
    chunk_line out;
    const auto more = [&] {  // the line ended where more may follow
        out.ok = !complete;
        out.partial = true;
        return out;
    };
    const auto bad = [&](const char* reason) {
        out.ok = false;
        out.reason = reason;
        return out;
    };
    std::size_t i = 0;
    const std::size_t n = line.size();
    for (; i < n && hex_value(line[i]) >= 0; ++i) {
        if (i == 15) return bad("a chunk size too large");
        out.size = out.size * 16 + static_cast<std::uint64_t>(hex_value(line[i]));
    }
    if (i == 0)
        return i == n ? (complete ? bad("a bad chunk size") : more()) : bad("a bad chunk size");
    const auto skip_bws = [&] {
        while (i < n && is_space_or_tab(line[i])) ++i;
    };
    for (;;) {
        const std::size_t before = i;
        skip_bws();
        if (i == n) {
            if (!complete) return more();
            if (i != before) return bad("whitespace at the end of a chunk-size line");
            out.ok = true;
            return out;
        }
        if (line[i] != ';') return bad("a bad chunk size");
        ++i;
        skip_bws();
        const std::size_t name = i;
        while (i < n && is_token_char(line[i])) ++i;
        if (i == name)
            return i == n && !complete ? more() : bad("a chunk extension without a name");
        const std::size_t after_name = i;
        skip_bws();
        if (i == n) {
            if (!complete) return more();
            if (i != after_name) return bad("whitespace at the end of a chunk-size line");
            out.ok = true;
            return out;
        }
        if (line[i] != '=') {
            i = after_name;  // back to the BWS before ";" (or a bad byte)
            continue;
        }
        ++i;
        skip_bws();
        if (i == n) return complete ? bad("a chunk extension without a value") : more();
        if (line[i] == '"') {
            for (++i;; ++i) {
                if (i == n)
                    return complete ? bad("an unterminated quoted chunk extension") : more();
                if (line[i] == '"') break;
                if (line[i] == '\\') {
                    if (++i == n)
                        return complete ? bad("an unterminated quoted chunk extension") : more();
                    if (!is_quotable(line[i])) return bad("a bad byte in a quoted chunk extension");
                } else if (!is_qdtext(line[i])) {
                    return bad("a bad byte in a quoted chunk extension");
                }
            }
            ++i;
        } else {
            const std::size_t value = i;
            while (i < n && is_token_char(line[i])) ++i;
            if (i == value) return bad("a chunk extension without a value");
        }
    }
}

}  // namespace

void response_parser::reset(bool head_request) noexcept {
    // Every per-answer member back to its default, from one place (the
    // class's initialisers); what keep() set, and the fold buffer's memory,
    // stay.
    response_parser fresh(max_head_);
    fresh.into_ = into_;
    fresh.body_limit_ = body_limit_;
    fresh.truncate_ = truncate_;
    fresh.head_request_ = head_request;
    fresh.folded_.swap(folded_);
    *this = std::move(fresh);
}

void response_parser::keep(response& into, std::uint64_t body_limit, bool truncate) {
    into = response{};
    into_ = &into;
    body_limit_ = body_limit;
    truncate_ = truncate;
}

response_parser::state response_parser::fail(const char* reason) noexcept {
    error_reason_ = reason;
    return state::error;
}

response_parser::state response_parser::parse(std::string_view input) {
    consumed_ = 0;
    if (!input.empty()) got_some_ = true;
    for (;;) {
        const std::string_view rest = input.substr(consumed_);
        state step = state::done;  // done: go on with the next phase
        switch (phase_) {
            case phase::head:
                step = head(rest);
                break;
            case phase::until_close:
            case phase::body:
            case phase::chunk_data:
                step = body_bytes(rest);
                break;
            case phase::chunk_size:
                step = chunk_size_line(rest);
                break;
            case phase::chunk_data_end:
                if (rest.empty() || (rest.size() == 1 && rest[0] == '\r')) return state::need_more;
                if (rest[0] != '\r' || rest[1] != '\n') return fail("a chunk not followed by CRLF");
                consumed_ += 2;
                phase_ = phase::chunk_size;
                break;
            case phase::trailers:
                step = trailer_lines(rest);
                break;
            case phase::done:
                return state::done;
        }
        if (step != state::done) return step;
    }
}

response_parser::state response_parser::head(std::string_view rest) {
    if (scanned_ == 0) {
        // Empty lines before the status line are skipped (RFC 9112 2.2: a
        // CRLF after an interim answer's end, or a body one byte too long).
        while (rest.size() >= 2 && rest[0] == '\r' && rest[1] == '\n') {
            rest.remove_prefix(2);
            consumed_ += 2;
            skipped_ += 2;
            if (skipped_ > max_head_) return fail("too many empty lines before the status line");
        }
        if (rest.empty() || (rest.size() == 1 && rest[0] == '\r')) return state::need_more;
        // Not HTTP/1.x (HTTP/0.9, RTSP, ICE, garbage) is known at once.
        constexpr std::string_view version = "HTTP/1.";
        const auto n = std::min(rest.size(), version.size());
        if (rest.substr(0, n) != version.substr(0, n)) return fail("not an HTTP/1.x status line");
    }
    const char* const base = rest.data();
    const char* const end = base + rest.size();
    std::size_t line = scanned_;  // the start of the first line not yet whole
    for (;;) {
        if (line == status_line_end_ && line != 0 && line < rest.size() &&
            is_space_or_tab(rest[line]))
            return fail("whitespace before the first header line");
        const auto* lf =
            static_cast<const char*>(std::memchr(base + line, '\n', rest.size() - line));
        if (lf == nullptr) {
            // Only the last byte may be a CR: the first half of a CRLF to come.
            if (has_cr(base + line, end - 1)) return fail("a CR not followed by LF in the head");
            if (rest.size() > max_head_) return fail("the response head is too large");
            scanned_ = line;
            return state::need_more;
        }
        const auto at = static_cast<std::size_t>(lf - base);
        if (at == line || base[at - 1] != '\r') return fail("a bare LF line end in the head");
        if (has_cr(base + line, lf - 1)) return fail("a CR not followed by LF in the head");
        if (at + 1 > max_head_) return fail("the response head is too large");
        if (line == 0) {
            // The status line, checked as soon as it is whole.
            if (!parse_status_line(rest.substr(0, at - 1))) return state::error;
            status_line_end_ = at + 1;
        } else if (at - 1 == line) {
            // The empty line: the head is whole.
            consumed_ += at + 1;
            scanned_ = 0;
            status_line_end_ = 0;
            if (!parse_head(rest.substr(0, line))) return state::error;
            if (status_ == 101) return fail("a protocol switch (101) that was not asked for");
            if (status_ < 200) {
                // An interim answer: the real one follows.
                const auto consumed = consumed_;
                reset(head_request_);
                consumed_ = consumed;
                got_some_ = true;
                if (into_ != nullptr) {
                    into_->headers.clear();
                    into_->reason.clear();
                }
                return state::done;
            }
            return begin_body() ? state::done : state::error;
        }
        line = at + 1;
    }
}

bool response_parser::parse_status_line(std::string_view line) {
    // "HTTP/1.1 200 OK": the version, SP, three digits, then the end or SP
    // and a reason phrase, which may be empty.
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line.size() > 12 && line[12] != ' ')) {
        error_reason_ = "not an HTTP/1.x status line";
        return false;
    }
    status_ =
        static_cast<unsigned>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
    if (status_ < 100 || status_ > 599) {
        error_reason_ = "a status code outside 100-599";
        return false;
    }
    const auto reason = line.size() > 13 ? line.substr(13) : std::string_view();
    if (has_control(reason)) {
        error_reason_ = "a control character in the reason phrase";
        return false;
    }
    keep_alive_ = line[7] == '1';
    if (into_ != nullptr) {
        into_->reason.assign(reason);
        into_->headers.reserve(8);  // typical answers have a handful: one allocation, not four
    }
    return true;
}

bool response_parser::parse_head(std::string_view head) {
    // Every line of `head` ends in CRLF, checked while it was read.
    const auto line_end = [&](std::size_t from) {  // the CR of the line's CRLF
        const auto* lf =
            static_cast<const char*>(std::memchr(head.data() + from, '\n', head.size() - from));
        return static_cast<std::size_t>(lf - head.data()) - 1;
    };
    std::size_t pos = line_end(0) + 2;  // the status line is parsed
    std::string_view name;
    std::string_view value;
    bool pending = false;  // name and value wait for a possible fold
    bool folded = false;   // the value is in folded_
    const auto flush = [&] { return !pending || header(name, folded ? folded_ : value); };
    while (pos < head.size()) {
        const auto eol = line_end(pos);
        const std::string_view line = head.substr(pos, eol - pos);
        pos = eol + 2;
        if (is_space_or_tab(line.front())) {
            // Obsolete line folding: the value goes on, joined by one SP.
            if (!pending) {
                error_reason_ = "whitespace before the first header line";
                return false;
            }
            const auto more = trim(line);
            if (has_control(more)) {
                error_reason_ = "a control character in a header value";
                return false;
            }
            if (!folded) {
                folded_.assign(value);
                folded = true;
            }
            if (!more.empty()) {
                if (!folded_.empty()) folded_ += ' ';
                folded_.append(more);
            }
            continue;
        }
        if (!flush()) return false;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            error_reason_ = "a header line without a colon";
            return false;
        }
        name = line.substr(0, colon);
        if (!is_token(name)) {
            error_reason_ =
                name.empty() ? "an empty header name" : "a header name that is not a token";
            return false;
        }
        value = trim(line.substr(colon + 1));
        if (has_control(value)) {
            error_reason_ = "a control character in a header value";
            return false;
        }
        pending = true;
        folded = false;
    }
    return flush();
}

bool response_parser::header(std::string_view name, std::string_view value) {
    if (into_ != nullptr) into_->headers.emplace_back(name, value);
    // The lengths first: most headers are none of these.
    if (name.size() == 14 && iequals(name, "content-length")) {
        if (value.empty() || value.size() > 18 || !std::ranges::all_of(value, is_digit)) {
            error_reason_ = "a Content-Length that is not a number";
            return false;
        }
        std::uint64_t length = 0;
        for (const char c : value) length = length * 10 + static_cast<std::uint64_t>(c - '0');
        if (has_length_ && length != length_) {
            error_reason_ = "two different Content-Length values";
            return false;
        }
        has_length_ = true;
        length_ = length;
    } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
        return transfer_coding(value);
    } else if (name.size() == 10 && iequals(name, "connection")) {
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

bool response_parser::transfer_coding(std::string_view value) {
    if (value.empty()) {
        error_reason_ = "an empty Transfer-Encoding";
        return false;
    }
    has_coding_ = true;
    while (!value.empty()) {
        const auto comma = value.find(',');
        const auto element = trim(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        if (element.empty()) continue;  // empty list elements are allowed (RFC 9110 5.6.1)
        const auto coding = trim(element.substr(0, element.find(';')));
        if (!is_token(coding)) {
            error_reason_ = "a Transfer-Encoding that is not a list of codings";
            return false;
        }
        if (chunked_last_) chunked_before_ = true;
        chunked_last_ = iequals(coding, "chunked");
    }
    return true;
}

bool response_parser::begin_body() noexcept {
    if (into_ != nullptr) into_->status = status_;
    if (head_request_ || status_ == 204 || status_ == 304) {
        phase_ = phase::done;
    } else if (has_coding_) {
        // Transfer-Encoding overrides Content-Length; a message with both
        // may be an attempt at response splitting: not reused.
        if (has_length_) close_ = true;
        if (chunked_last_ && chunked_before_) {
            error_reason_ = "chunked applied more than once";
            return false;
        }
        if (chunked_last_) {
            phase_ = phase::chunk_size;
        } else {
            phase_ = phase::until_close;
            close_ = true;
        }
    } else if (has_length_) {
        if (into_ != nullptr && !truncate_ && length_ > body_limit_) {
            body_too_large_ = true;
            error_reason_ = "a Content-Length over the body limit";
            return false;
        }
        remaining_ = length_;
        phase_ = length_ == 0 ? phase::done : phase::body;
        if (into_ != nullptr)
            into_->body.reserve(static_cast<std::size_t>(std::min(length_, body_limit_)));
    } else {
        phase_ = phase::until_close;
        close_ = true;
    }
    return true;
}

bool response_parser::keep_body(std::string_view bytes) {
    if (into_ == nullptr) return true;
    if (bytes.size() > body_limit_ - kept_) {
        if (!truncate_) {
            body_too_large_ = true;
            error_reason_ = "a body over the body limit";
            return false;
        }
        const auto room = static_cast<std::size_t>(body_limit_ - kept_);
        into_->body.append(bytes.substr(0, room));
        kept_ += room;
        consumed_ += room;
        truncated_ = true;
        phase_ = phase::done;
        return false;
    }
    into_->body.append(bytes);
    kept_ += bytes.size();
    return true;
}

response_parser::state response_parser::body_bytes(std::string_view rest) {
    if (phase_ == phase::until_close) {
        if (!keep_body(rest)) return truncated_ ? state::done : state::error;
        consumed_ += rest.size();
        return state::need_more;
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
    if (!keep_body(rest.substr(0, n))) return truncated_ ? state::done : state::error;
    consumed_ += n;
    remaining_ -= n;
    if (remaining_ > 0) return state::need_more;
    phase_ = phase_ == phase::body ? phase::done : phase::chunk_data_end;
    return state::done;
}

response_parser::state response_parser::chunk_size_line(std::string_view rest) {
    const auto* lf = static_cast<const char*>(std::memchr(rest.data(), '\n', rest.size()));
    if (lf == nullptr) {
        if (rest.size() > max_chunk_line) return fail("a chunk-size line too long");
        // What came of the line may already be wrong: say so now.
        auto partial = rest;
        if (!partial.empty() && partial.back() == '\r') partial.remove_suffix(1);
        const auto verdict = read_chunk_line(partial, false);
        if (!verdict.ok) return fail(verdict.reason);
        return state::need_more;
    }
    const auto at = static_cast<std::size_t>(lf - rest.data());
    if (at == 0 || rest[at - 1] != '\r') return fail("a bare LF line end in the chunked body");
    const auto verdict = read_chunk_line(rest.substr(0, at - 1), true);
    if (!verdict.ok) return fail(verdict.reason);
    consumed_ += at + 1;
    remaining_ = verdict.size;
    phase_ = verdict.size == 0 ? phase::trailers : phase::chunk_data;
    return state::done;
}

response_parser::state response_parser::trailer_lines(std::string_view rest) {
    const auto* lf = static_cast<const char*>(std::memchr(rest.data(), '\n', rest.size()));
    if (lf == nullptr) {
        if (has_cr(rest.data(), rest.data() + rest.size() - 1))
            return fail("a CR not followed by LF in the trailers");
        if (scanned_ + rest.size() > max_head_) return fail("the trailers are too large");
        return state::need_more;
    }
    const auto at = static_cast<std::size_t>(lf - rest.data());
    if (at == 0 || rest[at - 1] != '\r') return fail("a bare LF line end in the trailers");
    if (has_cr(rest.data(), lf - 1)) return fail("a CR not followed by LF in the trailers");
    scanned_ += at + 1;
    if (scanned_ > max_head_) return fail("the trailers are too large");
    consumed_ += at + 1;
    if (at == 1) {
        scanned_ = 0;
        phase_ = phase::done;
    }
    return state::done;
}

response_parser::state response_parser::finish() noexcept {
    if (phase_ == phase::until_close) phase_ = phase::done;
    if (phase_ == phase::done) return state::done;
    if (phase_ == phase::head && !got_some_) return fail("the connection closed before any answer");
    return fail("the connection closed before the answer ended");
}

}  // namespace fanout::http::detail
