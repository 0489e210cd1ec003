#pragma once
// The HTTP client's error codes (`fanout::http::errc`, category "http").
//
// Errors: these are values, carried in a `fanout::failure` whose message
// names the request ("GET http://host/path: ..."). Connection errors keep
// their system codes (connection_refused, connection_reset...), DNS failures
// their dns::errc code. A timeout of any phase is fanout::errc::timeout (kind
// "timeout", as for gather's per-attempt timeout and the resolver's), its
// message naming the phase and the limit ("connect to host:443 timed out
// after 5s"). Permanent codes (see kinded_category::permanent, which the
// default retry policy reads): invalid_url, invalid_request,
// the certificate_* codes, body_too_large, too_many_redirects, redirect_loop,
// header_list_too_large, http2_not_negotiated;
// bad_status carries the status in the failure's http_status instead.

#include <fanout/error.hpp>

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace fanout::http {

enum class errc {
    invalid_url = 1,     ///< not an absolute http:// or https:// URL
    invalid_request,     ///< a method or header that cannot be sent (CR or LF in it...)
    tls_failure,         ///< the TLS handshake failed (the message says why)
    malformed_response,  ///< the response is not HTTP/1.x
    connection_closed,   ///< the peer closed the connection before the response ended
    body_too_large,      ///< the body is larger than the client's limit
    too_many_redirects,  ///< more redirects than the client follows
    redirect_loop,       ///< a redirect led back to a URL already visited
    bad_status,          ///< expect_success(): the status is not 2xx or 3xx
    // The TLS handshake failed verifying the server's certificate:
    certificate_expired,        ///< it is past its notAfter
    certificate_not_yet_valid,  ///< it is before its notBefore
    certificate_name_mismatch,  ///< it names neither the host nor the address asked for
    certificate_untrusted,      ///< its issuer is unknown or not trusted (no chain to a CA)
    certificate_self_signed,    ///< it signs itself and is not trusted as such
    // HTTP/2:
    stream_reset,           ///< the server reset the stream (the message names the h2 error code)
    goaway,                 ///< the server closed the connection (GOAWAY) before answering
    protocol_error,         ///< the peer broke the HTTP/2 protocol (the message says how)
    flow_control_stall,     ///< the server's flow-control window stayed shut until the timeout
    header_list_too_large,  ///< the response's header list is over the client's limit
    http2_not_negotiated,   ///< HTTP/2 was required but the server did not pick h2 by ALPN
};

/// The category of `http::errc`; its name is "http". Report kinds are the
/// enumerator names ("body_too_large", "redirect_loop"...), except that
/// bad_status is "http_status".
const boost::system::error_category& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

/// Whether `ec` is one of the certificate_* codes.
bool is_certificate_error(const boost::system::error_code& ec) noexcept;

}  // namespace fanout::http

namespace boost::system {
template <>
struct is_error_code_enum<fanout::http::errc> : std::true_type {};
}  // namespace boost::system
