#include "http/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

namespace fanout::http::detail {

std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(bool verify,
                                                                   const std::string& ca_file) {
    namespace ssl = boost::asio::ssl;
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    if (!verify) {
        context->set_verify_mode(ssl::verify_none);
    } else {
        context->set_verify_mode(ssl::verify_peer);
        if (ca_file.empty())
            context->set_default_verify_paths();
        else
            context->load_verify_file(ca_file);
    }
    SSL_CTX_set_session_cache_mode(context->native_handle(), SSL_SESS_CACHE_CLIENT);
    return context;
}

}  // namespace fanout::http::detail
