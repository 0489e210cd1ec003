#pragma once
// What a load run sends to where, made once before the run (private): the
// options checked, the URLs grouped by origin, each distinct request
// serialised to the bytes written as they are, each origin resolved and
// connected to once.

#include <fanout/load/options.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::http::detail {
struct target;
}

namespace fanout::load::detail {

/// One header field of an HTTP/2 request: a lower-case name (or a
/// pseudo-header) and its value.
struct h2_field {
    std::string name;
    std::string value;
};

/// One distinct request, ready to write.
struct prepared_request {
    std::string bytes;  ///< HTTP/1.1: the request as written
    bool head = false;  ///< its answer has no body
    /// HTTP/2: the fields of its HEADERS, pseudo-headers first (HPACK-encoded
    /// by nghttp2 per stream, as its encoder's state changes).
    std::vector<h2_field> h2_fields;
};

/// An origin and the requests its connections cycle through.
struct origin_plan {
    std::string name;  ///< "http://host:port"
    std::string host;
    std::uint16_t port = 80;
    bool tls = false;
    std::string first_url;                    ///< the first URL given for it, for messages
    boost::asio::ip::tcp::endpoint endpoint;  ///< the address that answered the check
    std::vector<prepared_request> requests;
};

struct plan {
    options opts;
    std::vector<origin_plan> origins;
    /// For https origins (shared by every loop: OpenSSL makes connections
    /// from one context on several threads).
    std::shared_ptr<boost::asio::ssl::context> tls;
};

/// A TLS client context as `opts` asks (verification, CA file); throws
/// boost::system::system_error when the CA file cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const options& opts);

using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

/// Readies `stream` for a handshake with `host`: its name for SNI (unless an
/// address) and, when `verify`, the check of the certificate against it.
void set_tls_peer(tls_stream& stream, const std::string& host, bool verify);

/// Makes the TLS handshake of `stream` offer h2 alone by ALPN.
void offer_h2(tls_stream& stream);
// Whether the server refused the offer or picked h2: http::detail's
// alpn_refused() and alpn_picked_h2() (http/tls_peer.hpp).

/// The request line, headers and body of `opts` for `where`, as written on
/// the wire; a failure (errc::invalid_input) when the method or a header
/// cannot be sent.
fanout::result<std::string> serialise_request(const options& opts,
                                              const http::detail::target& where);

/// The HTTP/2 fields of `opts` for `where`: :method, :scheme, :authority
/// (a Host header given replaces it), :path, then the headers given in
/// lower case without the connection-specific ones, and content-length when
/// there is a body.
std::vector<h2_field> h2_request_fields(const options& opts, const http::detail::target& where);

/// The options checked and the URLs made into requests, without touching
/// the network; endpoints are left empty.
fanout::result<plan> make_plan(options opts);

/// make_plan(), then each origin's host resolved and connected to once (on
/// the calling coroutine's executor), so that a bad name or a closed port is
/// reported before the run.
boost::asio::awaitable<fanout::result<plan>> prepare(options opts);

}  // namespace fanout::load::detail
