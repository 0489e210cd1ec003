#include <fanout/probe/error.hpp>
#include <fanout/probe/target.hpp>

#include "http/url_text.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <fmt/format.h>

namespace fanout::probe {

namespace urls = boost::urls;

namespace {

failure invalid(std::string_view text, std::string_view why) {
    return failure{make_error_code(errc::invalid_target),
                   fmt::format("'{}' is not a target: {}", text, why)};
}

std::string host_of(const urls::url_view& url) {
    if (url.host_type() == urls::host_type::ipv6) {
        // encoded_host_address() is the address without brackets.
        return std::string(url.encoded_host_address());
    }
    return url.host_address();
}

}  // namespace

const char* to_string(target_kind kind) noexcept {
    switch (kind) {
        case target_kind::http:
            return "http";
        case target_kind::tcp:
            return "tcp";
        case target_kind::dns:
            return "dns";
    }
    return "unknown";
}

result<target> parse_target(std::string_view text) {
    if (text.find("://") == std::string_view::npos)
        return invalid(text, "not an absolute URL (scheme://host...)");
    if (auto problem = http::detail::url_text_problem(text)) return invalid(text, *problem);
    const auto parsed = urls::parse_absolute_uri(text);
    if (!parsed) {
        return invalid(text, "not a valid URL (e.g. http://host[:port]/path, tcp://host:port)");
    }
    const urls::url_view& url = *parsed;
    target out;
    const auto scheme = url.scheme();
    using http::detail::scheme_is;
    if (scheme_is(scheme, "http") || scheme_is(scheme, "https")) {
        out.kind = target_kind::http;
        out.tls = scheme_is(scheme, "https");
        out.url = std::string(text);
        out.port = out.tls ? 443 : 80;
    } else if (scheme_is(scheme, "tcp")) {
        out.kind = target_kind::tcp;
    } else if (scheme_is(scheme, "dns")) {
        out.kind = target_kind::dns;
    } else {
        return invalid(text, fmt::format("unknown scheme '{}' (http, https, tcp, dns)", scheme));
    }
    if (!url.has_authority() || url.host().empty()) return invalid(text, "no host");
    out.host = host_of(url);
    if (url.has_userinfo()) return invalid(text, "user information is not supported");

    if (out.kind == target_kind::dns) {
        if (url.has_port()) return invalid(text, "a dns:// target names no port (use server=)");
        if (!url.encoded_path().empty() && url.encoded_path() != "/")
            return invalid(text, "a dns:// target has no path");
        bool typed = false;
        bool served = false;
        for (const auto& param : url.params()) {
            if ((param.key == "type" && typed) || (param.key == "server" && served))
                return invalid(text, fmt::format("'{}' is given twice", param.key));
            if (param.key == "type") {
                typed = true;
                const auto type = dns::parse_record_type(param.value);
                if (!type)
                    return invalid(text, fmt::format("unknown record type '{}'", param.value));
                out.type = *type;
            } else if (param.key == "server") {
                served = true;
                auto server = dns::parse_server(param.value);
                if (!server) return invalid(text, server.error().text());
                out.server = *server;
            } else {
                return invalid(text,
                               fmt::format("unknown parameter '{}' (type, server)", param.key));
            }
        }
        return out;
    }
    if (url.host_type() == urls::host_type::name && http::detail::numeric_host(out.host))
        return invalid(text, fmt::format("the host '{}' is a number but not a dotted IPv4 "
                                         "address (write it as a.b.c.d)",
                                         out.host));
    if (url.has_port()) {
        // port_number() wraps: 99999 would be 34463. Read the digits.
        auto port = http::detail::port_of(url.port());
        if (const auto* why = std::get_if<std::string>(&port)) return invalid(text, *why);
        out.port = std::get<std::uint16_t>(port);
    } else if (out.kind == target_kind::tcp) {
        return invalid(text, "a tcp:// target needs a port");
    }
    if (out.kind == target_kind::tcp &&
        ((!url.encoded_path().empty() && url.encoded_path() != "/") || url.has_query()))
        return invalid(text, "a tcp:// target is only host:port");
    return out;
}

std::string host_key(const target& t) {
    if (t.kind == target_kind::dns) return t.server ? dns::to_string(*t.server) : "dns";
    if (t.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", t.host, t.port);
    return fmt::format("{}:{}", t.host, t.port);
}

}  // namespace fanout::probe
