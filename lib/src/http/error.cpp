#include <fanout/http/error.hpp>

#include <string>

namespace fanout::http {
namespace {

class http_category final : public kinded_category {
  public:
    const char* name() const noexcept override { return "http"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_url:
                return "not an absolute http:// or https:// URL";
            case errc::invalid_request:
                return "the request cannot be sent";
            case errc::tls_failure:
                return "TLS handshake failed";
            case errc::malformed_response:
                return "malformed HTTP response";
            case errc::connection_closed:
                return "the connection closed before the response ended";
            case errc::body_too_large:
                return "response body larger than the limit";
            case errc::too_many_redirects:
                return "too many redirects";
            case errc::redirect_loop:
                return "redirect loop";
            case errc::bad_status:
                return "unsuccessful HTTP status";
            case errc::certificate_expired:
                return "the server's certificate has expired";
            case errc::certificate_not_yet_valid:
                return "the server's certificate is not yet valid";
            case errc::certificate_name_mismatch:
                return "the server's certificate is for another host name";
            case errc::certificate_untrusted:
                return "the server's certificate is not from a trusted issuer";
            case errc::certificate_self_signed:
                return "the server's certificate is self-signed";
            case errc::stream_reset:
                return "the server reset the HTTP/2 stream";
            case errc::goaway:
                return "the server closed the HTTP/2 connection (GOAWAY) before answering";
            case errc::protocol_error:
                return "HTTP/2 protocol error";
            case errc::flow_control_stall:
                return "the server's HTTP/2 flow-control window stayed shut";
            case errc::header_list_too_large:
                return "response header list larger than the limit";
            case errc::http2_not_negotiated:
                return "the server did not negotiate HTTP/2";
        }
        return "unknown http error " + std::to_string(value);
    }

    const char* kind(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_url:
                return "invalid_url";
            case errc::invalid_request:
                return "invalid_request";
            case errc::tls_failure:
                return "tls_failure";
            case errc::malformed_response:
                return "malformed_response";
            case errc::connection_closed:
                return "connection_closed";
            case errc::body_too_large:
                return "body_too_large";
            case errc::too_many_redirects:
                return "too_many_redirects";
            case errc::redirect_loop:
                return "redirect_loop";
            case errc::bad_status:
                return "http_status";
            case errc::certificate_expired:
                return "certificate_expired";
            case errc::certificate_not_yet_valid:
                return "certificate_not_yet_valid";
            case errc::certificate_name_mismatch:
                return "certificate_name_mismatch";
            case errc::certificate_untrusted:
                return "certificate_untrusted";
            case errc::certificate_self_signed:
                return "certificate_self_signed";
            case errc::stream_reset:
                return "stream_reset";
            case errc::goaway:
                return "goaway";
            case errc::protocol_error:
                return "protocol_error";
            case errc::flow_control_stall:
                return "flow_control_stall";
            case errc::header_list_too_large:
                return "header_list_too_large";
            case errc::http2_not_negotiated:
                return "http2_not_negotiated";
        }
        return "http_error";
    }

    // The same request meets the same answer again: nothing a retry changes.
    bool permanent(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_url:
            case errc::invalid_request:
            case errc::certificate_expired:
            case errc::certificate_not_yet_valid:
            case errc::certificate_name_mismatch:
            case errc::certificate_untrusted:
            case errc::certificate_self_signed:
            case errc::body_too_large:
            case errc::too_many_redirects:
            case errc::redirect_loop:
            case errc::header_list_too_large:
            case errc::http2_not_negotiated:
                return true;
            default:
                return false;
        }
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const http_category instance;
    return instance;
}

bool is_certificate_error(const boost::system::error_code& ec) noexcept {
    if (ec.category() != category()) return false;
    switch (static_cast<errc>(ec.value())) {
        case errc::certificate_expired:
        case errc::certificate_not_yet_valid:
        case errc::certificate_name_mismatch:
        case errc::certificate_untrusted:
        case errc::certificate_self_signed:
            return true;
        default:
            return false;
    }
}

}  // namespace fanout::http
