#include "http/tls_peer.hpp"

#include <fanout/http/error.hpp>

#include <boost/asio/ip/address.hpp>

#include <boost/asio/ssl/error.hpp>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

namespace fanout::http::detail {
namespace {

errc code_of(long verify_result) noexcept {
    switch (verify_result) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return errc::certificate_expired;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return errc::certificate_not_yet_valid;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            return errc::certificate_name_mismatch;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            return errc::certificate_self_signed;
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            return errc::certificate_untrusted;
        default:
            return errc::tls_failure;
    }
}

}  // namespace

void set_tls_peer(SSL* ssl, const std::string& host, bool verify) {
    boost::system::error_code not_an_address;
    boost::asio::ip::make_address(host, not_an_address);
    if (not_an_address) SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI for names only
    if (!verify) return;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (not_an_address)
        X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    else
        X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
}

failure tls_handshake_failure(SSL* ssl, const boost::system::error_code& ec, std::string_view host,
                              bool verify) {
    const long verified = verify ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verified != X509_V_OK)
        return failure{make_error_code(code_of(verified)),
                       fmt::format("TLS handshake with {} failed: certificate verify failed: {}",
                                   host, X509_verify_cert_error_string(verified))};
    return failure{make_error_code(errc::tls_failure),
                   fmt::format("TLS handshake with {} failed: {}", host, ec.message())};
}

bool alpn_refused(const boost::system::error_code& ec) {
    return ec.category() == boost::asio::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
               SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL;
}

bool alpn_picked_h2(SSL* ssl) {
    const unsigned char* picked = nullptr;
    unsigned size = 0;
    SSL_get0_alpn_selected(ssl, &picked, &size);
    return size == 2 && picked[0] == 'h' && picked[1] == '2';
}

bool tls_input_buffered(SSL* ssl) {
    return SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0;
}

std::size_t tls_read_buffered(SSL* ssl, void* out, std::size_t size) {
    if (!tls_input_buffered(ssl)) return 0;
    // No ERR_clear_error() first (it costs more than a small record's
    // decryption): SSL_get_error() is not asked, and asio's engine clears
    // the queue before each of its operations. What a failure left there
    // (part of a record only: nothing, usually) is cleared after it.
    const int n = SSL_read(ssl, out, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
    if (n > 0) return static_cast<std::size_t>(n);
    ERR_clear_error();
    return 0;
}

}  // namespace fanout::http::detail
