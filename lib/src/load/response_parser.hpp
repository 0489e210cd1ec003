#pragma once
// A minimal, strict HTTP/1.1 response parser for the load driver (private).
//
// It reads what a load generator needs and nothing else: the status line,
// Content-Length, Transfer-Encoding: chunked and Connection, skipping the
// body without keeping it. A body with neither length nor chunks runs to
// the connection's close (RFC 9112 6.3): the caller says when that came
// (finish()). Anything it does not understand (no status line, another
// transfer coding, a header block over the limit) is an error, so a
// misbehaving server is counted as such instead of measured. Interim 1xx
// answers are skipped.
//
// Errors: parse() returns state::error and stops; reset() starts afresh.
// Nothing throws.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fanout::load::detail {

class response_parser {
  public:
    enum class state { need_more, done, error };

    /// The longest status line and header block accepted.
    static constexpr std::size_t max_head_size = 16 * 1024;

    /// Ready for the answer to a new request; a HEAD request's answer has no body.
    void reset(bool head_request = false) noexcept;

    /// Consumes bytes of `input` (never more than one answer's) and says
    /// whether the answer is complete. `consumed()` says how many were used;
    /// the rest belong to what follows. With need_more, every byte given is
    /// either consumed or must be given again, with more after it, next time.
    state parse(std::string_view input) noexcept;

    /// The body runs to the connection's close: parse() consumes every byte
    /// and says need_more until finish().
    bool delimited_by_close() const noexcept { return phase_ == phase::until_close; }
    /// The connection closed: a body delimited by it is complete (done);
    /// any other answer not yet whole is cut short (error).
    state finish() noexcept;

    std::size_t consumed() const noexcept { return consumed_; }
    unsigned status() const noexcept { return status_; }
    /// The connection stays open after this answer.
    bool keep_alive() const noexcept { return keep_alive_; }
    /// Why parse() returned error, for messages.
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
    // Parses a complete head (status line and headers, without the blank line).
    bool parse_head(std::string_view head) noexcept;
    bool parse_header(std::string_view name, std::string_view value) noexcept;

    phase phase_ = phase::head;
    bool head_request_ = false;
    std::size_t consumed_ = 0;
    std::size_t scanned_ = 0;  // bytes of the head already searched for its end
    unsigned status_ = 0;
    bool keep_alive_ = true;
    bool close_ = false;  // "Connection: close" seen (wins over keep-alive)
    bool chunked_ = false;
    bool has_length_ = false;
    std::uint64_t remaining_ = 0;  // body or chunk bytes still to skip
    const char* error_reason_ = "";
};

}  // namespace fanout::load::detail
