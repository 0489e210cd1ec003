#pragma once
// HTTP/1.1 request heads of the wire layer (private): the check of what a
// caller asks to send and the bytes written for it, one code for the client
// (a head per request) and the load plan (a head per distinct request, made
// before the run).
//
// Errors: request_problem() says what cannot be sent; write_request_head()
// writes only what was checked. Nothing throws but std::bad_alloc.

#include <fanout/http/message.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace fanout::http::detail {

/// Why `method` and `headers` cannot be sent as they are: a method or a
/// header name that is not a token (RFC 9110 5.6.2; NUL never is), a value
/// with CR, LF or NUL (5.5). Nothing when they can.
std::optional<std::string> request_problem(std::string_view method, const header_list& headers);

struct request_head {
    std::string_view method;
    std::string_view target;       ///< origin-form: path and query
    std::string_view host_header;  ///< sent as Host unless `headers` has one
    const header_list* headers = nullptr;
    std::size_t body_size = 0;
    std::string_view user_agent;  ///< sent unless empty or `headers` has one
};

/// Appends to `out`: the request line, Host (first, as RFC 9112 3.2 asks,
/// unless given), the headers as given but Content-Length and
/// Transfer-Encoding (the framing is computed: a length that disagrees with
/// the body would desynchronise the connection), User-Agent, Content-Length
/// when there is a body or the method defines one (POST, PUT), and the empty
/// line. The headers must have passed request_problem().
void write_request_head(std::string& out, const request_head& head);

/// Whether a request header is left off an HTTP/2 stream: the fields that
/// mean something for one HTTP/1.1 connection only (RFC 9113 8.2.2:
/// Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, and
/// TE other than "trailers"), and Host and Content-Length, which
/// :authority and the sender's own length carry.
bool h2_omitted_header(std::string_view name, std::string_view value);

/// `name` in lower case, as HTTP/2 sends field names.
std::string h2_field_name(std::string_view name);
/// Appends h2_field_name(name) to `out`.
void append_h2_field_name(std::string& out, std::string_view name);

}  // namespace fanout::http::detail
