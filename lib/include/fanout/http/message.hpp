#pragma once
// What the HTTP client sends and receives: request, response, timings.
//
// Errors: validate() returns a failure (http::errc::invalid_request) naming
// the bad part; expect_success() turns a status outside 2xx/3xx into a
// failure carrying the status (failure::http_status) and the answer's
// Retry-After hint. Nothing here throws except std::bad_alloc.

#include <fanout/outcome.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fanout::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Which HTTP version a request is sent with.
enum class version {
    /// On https, ALPN offers h2 and http/1.1 and the server picks (as curl
    /// does); plain http stays HTTP/1.1.
    automatic,
    http1_1,  ///< HTTP/1.1 only (ALPN offers nothing on https)
    /// HTTP/2 over TLS: ALPN offers h2 only, and a server that does not pick
    /// it fails the request (errc::http2_not_negotiated). Plain http stays 1.1.
    http2,
    /// HTTP/2 without negotiation (h2c by prior knowledge) on plain http;
    /// on https, as http2.
    http2_prior_knowledge,
};

struct request {
    std::string method = "GET";
    std::string url;  ///< absolute: http://host[:port]/path?query or https://...
    header_list headers;
    std::string body;
    /// Overrides client_options::http_version for this request.
    std::optional<version> http_version;

    /// Nothing, or why the request cannot be sent: a method that is not a
    /// token, a header name that is not a token, a value with CR, LF or NUL.
    std::optional<failure> validate() const;
};

/// Nothing, or why `url` cannot be requested: not absolute, a scheme other
/// than http or https (in any case), a port outside 1-65535, user
/// information, a space, quote, fragment or non-ASCII byte (with its
/// column). A failure (http::errc::invalid_url) naming the URL.
std::optional<failure> check_url(std::string_view url);

/// How long each phase of a request took (the last redirect's request);
/// zero for phases it did not need: dns, connect and tls on a reused
/// connection, tls on plain http.
struct timings {
    std::chrono::nanoseconds dns{};
    std::chrono::nanoseconds connect{};
    std::chrono::nanoseconds tls{};
    std::chrono::nanoseconds first_byte{};  ///< from sending to the first byte of the answer
    std::chrono::nanoseconds total{};
    bool reused_connection = false;
};

struct response {
    unsigned status = 0;
    std::string reason;
    header_list headers;
    std::string body;
    timings timing;
    std::string url;  ///< where the answer came from (the last redirect's target)
    /// The version that answered: "1.1" or "2" (HTTP/1.0 answers say "1.1").
    std::string http_version;
    /// The address that answered, "a.b.c.d:port" or "[v6]:port" (the last
    /// redirect's, like url).
    std::string peer_address;
    /// For https: when the server's certificate stops being valid (its
    /// notAfter); nothing for plain HTTP.
    std::optional<std::chrono::system_clock::time_point> certificate_expiry;
    unsigned redirects = 0;  ///< redirects followed to get here
    /// The body is the first client_options::max_body_size bytes of a longer
    /// one (with client_options::truncate_body).
    bool body_truncated = false;

    /// The first header of this name (any case); nothing when absent.
    std::optional<std::string_view> header(std::string_view name) const;

    /// The wait its Retry-After header asks for (delay-seconds, or an HTTP
    /// date from now, RFC 9110 10.2.3); nothing when absent or unreadable.
    std::optional<std::chrono::milliseconds> retry_after() const;
};

/// `answer` when its status is 2xx or 3xx; otherwise a failure naming the
/// request and status: fanout::errc::rate_limited for 429, http::errc::
/// bad_status else. The failure's http_status is the status (the default
/// retry policy retries only 408, 425, 429, 500, 502, 503 and 504), and a
/// Retry-After (seconds or an HTTP date) becomes its retry_after hint, which
/// the retry policy honours (a hint over a year is taken as a year; a date
/// gone by as no wait).
result<response> expect_success(result<response> answer);

}  // namespace fanout::http
