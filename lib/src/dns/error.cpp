#include <fanout/dns/error.hpp>

#include <string>

namespace fanout::dns {
namespace {

class dns_category final : public kinded_category {
  public:
    const char* name() const noexcept override { return "dns"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::nxdomain:
                return "NXDOMAIN (the name does not exist)";
            case errc::servfail:
                return "SERVFAIL (the server failed to answer)";
            case errc::refused:
                return "REFUSED (the server refused the query)";
            case errc::formerr:
                return "FORMERR (the server could not read the query)";
            case errc::notimp:
                return "NOTIMP (the server does not do this query)";
            case errc::no_data:
                return "no record of this type (NOERROR, empty answer)";
            case errc::bad_name:
                return "not a valid domain name";
            case errc::malformed_response:
                return "malformed response";
            case errc::connection_refused:
                return "no name server could be reached";
            case errc::resolver_failure:
                return "resolver failure";
        }
        return "unknown dns error " + std::to_string(value);
    }

    const char* kind(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
            case errc::nxdomain:
                return "nxdomain";
            case errc::servfail:
                return "servfail";
            case errc::refused:
                return "refused";
            case errc::formerr:
                return "formerr";
            case errc::notimp:
                return "notimp";
            case errc::no_data:
                return "no_data";
            case errc::bad_name:
                return "bad_name";
            case errc::malformed_response:
                return "malformed_response";
            case errc::connection_refused:
                return "connection_refused";
            case errc::resolver_failure:
                return "resolver_failure";
        }
        return "dns_error";
    }

    // The name does not exist, has no record of the type, or is no name:
    // the same query gets the same answer.
    bool permanent(int value) const noexcept override {
        switch (static_cast<errc>(value)) {
            case errc::nxdomain:
            case errc::no_data:
            case errc::bad_name:
                return true;
            default:
                return false;
        }
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const dns_category instance;
    return instance;
}

std::string to_string(rcode code) {
    switch (code) {
        case rcode::noerror:
            return "NOERROR";
        case rcode::formerr:
            return "FORMERR";
        case rcode::servfail:
            return "SERVFAIL";
        case rcode::nxdomain:
            return "NXDOMAIN";
        case rcode::notimp:
            return "NOTIMP";
        case rcode::refused:
            return "REFUSED";
    }
    return "RCODE" + std::to_string(static_cast<int>(code));
}

std::optional<rcode> rcode_of(const boost::system::error_code& ec) noexcept {
    if (!ec) return rcode::noerror;
    if (ec.category() != category()) return std::nullopt;
    switch (static_cast<errc>(ec.value())) {
        case errc::nxdomain:
            return rcode::nxdomain;
        case errc::servfail:
            return rcode::servfail;
        case errc::refused:
            return rcode::refused;
        case errc::formerr:
            return rcode::formerr;
        case errc::notimp:
            return rcode::notimp;
        case errc::no_data:
            return rcode::noerror;
        default:
            return std::nullopt;
    }
}

}  // namespace fanout::dns
