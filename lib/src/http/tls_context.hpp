#pragma once
// The TLS client context of the wire layer (private), one for the client and
// the load drivers alike: the peer's certificate verified against the
// system's store or a given CA file (or not at all), and client-side session
// caching so that later connections to an origin resume.
//
// Errors: make_tls_client_context() throws boost::system::system_error when
// the CA file cannot be loaded (the caller names the file).

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace fanout::http::detail {

/// Made once per client or load run: loading the store takes milliseconds.
/// Shared by every thread that makes connections from it (OpenSSL allows it).
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(bool verify,
                                                                   const std::string& ca_file);

}  // namespace fanout::http::detail
