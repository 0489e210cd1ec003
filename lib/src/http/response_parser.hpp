#pragma once
// The HTTP/1.1 response parser of the wire layer (private): the one framing
// code of the library. The client keeps what it reads (status, reason,
// headers, body); the load driver keeps nothing and skips bodies; both frame
// with this code.
//
// Framing follows RFC 9112. Where the RFC leaves a choice, the choice is
// curl's or, where curl has none, that of the established strict parsers:
// - Content-Length frames the body; two that differ fail; a value that is
//   not digits fails.
// - Transfer-Encoding: the codings of every such header, in order; chunked
//   last frames by chunks; chunked anywhere else, or another coding last,
//   means the body runs to the connection's close (RFC 9112 6.3 item 4). An
//   empty Transfer-Encoding fails. With both headers, Transfer-Encoding
//   wins and the connection is not reused (6.3 item 3).
// - Neither: the body runs to the close (6.3 item 8), and finish() ends it.
// - HEAD answers, 1xx, 204 and 304 have no body. Interim 1xx answers are
//   skipped; 101 fails (no protocol switch was asked for).
// - Status line "HTTP/1.0" or "HTTP/1.1", SP, three digits (100-599), then
//   the end of the line or SP and a reason phrase (possibly empty). Empty
//   lines before it are skipped (RFC 9112 2.2).
// - Every line ends in CRLF: a bare LF or a CR without LF fails at once.
// - Header names are tokens (nothing between the name and the colon);
//   values hold no control characters but HTAB. A header line starting with
//   whitespace continues the previous one (obsolete folding, unfolded to one
//   SP as RFC 9112 5.2 asks of a user agent); right after the status line it
//   fails (2.2).
// - A chunk-size line is hex digits then extensions (";" name ["=" token or
//   quoted string], BWS allowed around ";" and "="); anything else, trailing
//   spaces without an extension, or ";" with no name, fails.
// Nothing ever waits for bytes that cannot complete a message: each verdict
// is taken as soon as the bytes that decide it arrive.
//
// Errors: parse() and finish() return state::error and stop; error_reason()
// names the rule that failed (a fixed string, usable as a key). reset()
// starts afresh. Only keeping (the client) allocates; nothing else throws.

#include <fanout/http/message.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace fanout::http::detail {

class response_parser {
  public:
    enum class state { need_more, done, error };

    /// The longest status line and header block the client accepts.
    static constexpr std::size_t default_max_head = 64 * 1024;

    explicit response_parser(std::size_t max_head = default_max_head) noexcept
        : max_head_(max_head) {}

    /// Ready for the answer to a new request; a HEAD request's answer has no
    /// body. Whatever keep() set stays set.
    void reset(bool head_request = false) noexcept;

    /// Keep the answer in `into` (cleared now): status, reason, headers and
    /// body. A body over `body_limit` bytes fails (body_too_large()), or,
    /// with `truncate`, is kept up to the limit and the answer ends there
    /// (truncated(); the connection is then not reusable).
    void keep(response& into, std::uint64_t body_limit, bool truncate);

    /// Consumes bytes of `input` (never more than one answer's) and says
    /// whether the answer is complete. consumed() says how many were used;
    /// the rest belong to what follows. With need_more, every byte given is
    /// either consumed or must be given again, with more after it, next time.
    state parse(std::string_view input);

    /// The connection closed (end of stream): a body delimited by it is
    /// complete; any other answer not yet whole is cut short (error).
    state finish() noexcept;

    /// The body runs to the connection's close.
    bool delimited_by_close() const noexcept { return phase_ == phase::until_close; }
    /// The final (non-1xx) head has been read.
    bool head_done() const noexcept { return phase_ != phase::head; }
    /// Some byte of an answer has been given since reset() (a connection
    /// that closes before any is a stale pooled one, not a broken answer).
    bool got_some() const noexcept { return got_some_; }

    std::size_t consumed() const noexcept { return consumed_; }
    unsigned status() const noexcept { return status_; }
    /// The connection may carry the next request after this answer.
    bool keep_alive() const noexcept { return keep_alive_ && !close_ && !truncated_; }
    bool truncated() const noexcept { return truncated_; }
    bool body_too_large() const noexcept { return body_too_large_; }
    /// Why parse() or finish() returned error, for messages.
    const char* error_reason() const noexcept { return error_reason_; }

  private:
    enum class phase {
        head,
        body,
        until_close,
        chunk_size,
        chunk_data,
        chunk_data_end,
        trailers,
        done
    };

    state fail(const char* reason) noexcept;
    state head(std::string_view rest);
    state chunk_size_line(std::string_view rest);
    state trailer_lines(std::string_view rest);
    state body_bytes(std::string_view rest);
    // Parses a complete head (status line and header lines, each with its
    // CRLF, without the empty line that ends it).
    bool parse_head(std::string_view head);
    bool parse_status_line(std::string_view line);
    bool header(std::string_view name, std::string_view value);
    bool transfer_coding(std::string_view value);
    bool begin_body() noexcept;
    bool keep_body(std::string_view bytes);

    std::size_t max_head_;
    response* into_ = nullptr;
    std::uint64_t body_limit_ = 0;
    bool truncate_ = false;

    phase phase_ = phase::head;
    bool head_request_ = false;
    bool got_some_ = false;
    std::size_t consumed_ = 0;
    std::size_t scanned_ = 0;          // bytes of the head (or trailers) already checked
    std::size_t skipped_ = 0;          // empty lines skipped before the status line
    std::size_t status_line_end_ = 0;  // where the first header line starts, once known
    unsigned status_ = 0;
    bool keep_alive_ = true;  // the version's default, or Connection: keep-alive
    bool close_ = false;      // "Connection: close" seen, or framing says so
    bool has_length_ = false;
    bool has_coding_ = false;      // a Transfer-Encoding was seen
    bool chunked_last_ = false;    // its last coding is chunked
    bool chunked_before_ = false;  // chunked came before another coding
    bool truncated_ = false;
    bool body_too_large_ = false;
    std::uint64_t length_ = 0;
    std::uint64_t remaining_ = 0;  // body or chunk bytes still to read
    std::uint64_t kept_ = 0;       // body bytes given to the answer
    std::string folded_;           // a header value unfolded from several lines
    const char* error_reason_ = "";
};

}  // namespace fanout::http::detail
