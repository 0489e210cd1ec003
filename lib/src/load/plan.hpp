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

/// One distinct request, ready to write.
struct prepared_request {
    std::string bytes;
    bool head = false;  ///< its answer has no body
};

/// An origin and the requests its connections cycle through.
struct origin_plan {
    std::string name;  ///< "http://host:port"
    std::string host;
    std::uint16_t port = 80;
    bool tls = false;
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

/// The request line, headers and body of `opts` for `where`, as written on
/// the wire; a failure (errc::invalid_input) when the method or a header
/// cannot be sent.
fanout::result<std::string> serialise_request(const options& opts,
                                              const http::detail::target& where);

/// The options checked and the URLs made into requests, without touching
/// the network; endpoints are left empty.
fanout::result<plan> make_plan(options opts);

/// make_plan(), then each origin's host resolved and connected to once (on
/// the calling coroutine's executor), so that a bad name or a closed port is
/// reported before the run.
boost::asio::awaitable<fanout::result<plan>> prepare(options opts);

}  // namespace fanout::load::detail
