#pragma once
// The client's HTTP/1.1 response framing (private): Beast's parser, with
// callbacks that fill a fanout::http::response directly. Beast's parser with
// a string body would first build its own field container (an allocation
// and a tree insertion per field) to be copied out again.
//
// Errors: Beast's (boost::beast::http::error), through the error_code of
// put() and of the reads that drive it; nothing throws but std::bad_alloc.
// Apart from the client, the fuzz harness of tests/fuzz drives it from bytes.

#include <fanout/http/message.hpp>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fanout::http::detail {

class response_reader : public boost::beast::http::basic_parser<false> {
  public:
    /// With `cut_at`, a body is kept up to that size and the parse stops
    /// there (body_limit, truncated() true).
    explicit response_reader(response& out, std::optional<std::size_t> cut_at = std::nullopt)
        : out_(out), cut_at_(cut_at) {}

    bool truncated() const noexcept { return truncated_; }

  private:
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                         error_code&) override {}
    void on_response_impl(int status, string_view reason, int, error_code&) override {
        out_.status = static_cast<unsigned>(status);
        out_.reason.assign(reason.data(), reason.size());
        out_.headers.reserve(8);  // typical answers have a handful: one allocation, not four
    }
    void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                       error_code&) override {
        out_.headers.emplace_back(std::string(name.data(), name.size()),
                                  std::string(value.data(), value.size()));
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
        // The parser has checked the length against the body limit already.
        if (length)
            out_.body.reserve(static_cast<std::size_t>(
                cut_at_ ? std::min<std::uint64_t>(*length, *cut_at_) : *length));
    }
    std::size_t on_body_impl(string_view body, error_code& ec) override { return keep(body, ec); }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
        return keep(body, ec);
    }
    void on_finish_impl(error_code&) override {}

    std::size_t keep(string_view body, error_code& ec) {
        if (cut_at_ && body.size() > *cut_at_ - out_.body.size()) {
            const auto room = *cut_at_ - out_.body.size();
            out_.body.append(body.data(), room);
            truncated_ = true;
            ec = boost::beast::http::error::body_limit;
            return room;
        }
        out_.body.append(body.data(), body.size());
        return body.size();
    }

    response& out_;
    std::optional<std::size_t> cut_at_;
    bool truncated_ = false;
};

}  // namespace fanout::http::detail
