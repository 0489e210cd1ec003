#pragma once
// The client side of a TLS handshake with a named peer (private), shared by
// the HTTP client and the load drivers: SNI, the peer's name checked by
// OpenSSL itself, and a failed handshake told by its reason.
//
// Errors: tls_handshake_failure() makes the failure; nothing throws.

#include <fanout/outcome.hpp>

#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace fanout::http::detail {

/// Readies `ssl` for a handshake with `host` (a name, or an address): the
/// name for SNI (not an address); with `verify`, the certificate must name
/// the host (or carry the address), checked during verification so that a
/// mismatch has its own reason.
void set_tls_peer(SSL* ssl, const std::string& host, bool verify);

/// The failure of a handshake with `host` that ended in `ec` (not a
/// timeout or a cancellation): when verification failed, the reason's code
/// (http::errc::certificate_expired, _not_yet_valid, _name_mismatch,
/// _untrusted, _self_signed; tls_failure for others) and OpenSSL's words
/// for it; else tls_failure with `ec`'s message.
failure tls_handshake_failure(SSL* ssl, const boost::system::error_code& ec, std::string_view host,
                              bool verify);

/// Whether a handshake failed because the server refused every protocol
/// offered by ALPN (the no_application_protocol alert: nginx without http2
/// answers an offer of h2 alone so).
bool alpn_refused(const boost::system::error_code& ec);

/// Whether the handshake on `ssl` picked h2 by ALPN.
bool alpn_picked_h2(SSL* ssl);

/// Whether `ssl` holds input read from the socket and not yet decrypted, or
/// decrypted and not yet read: a read then needs no system call.
bool tls_input_buffered(SSL* ssl);

/// Reads into `out` what `ssl` can give from input already read from the
/// socket (a record whole in its input BIO, or decrypted bytes not yet
/// taken), without touching the socket: 0 when it needs more from it, and
/// then an asio read goes on from OpenSSL's state (asio's engine keeps none
/// of its own). A TLS read gives one record, often one HTTP/2 answer: taking
/// the records already there before writing lets one write carry the
/// streams that follow many answers.
std::size_t tls_read_buffered(SSL* ssl, void* out, std::size_t size);

}  // namespace fanout::http::detail
