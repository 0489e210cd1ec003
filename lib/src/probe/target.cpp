#include <fanout/probe/error.hpp>
#include <fanout/probe/target.hpp>

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
    const auto parsed = urls::parse_absolute_uri(text);
    if (!parsed) return invalid(text, "not an absolute URL");
    const urls::url_view& url = *parsed;
    target out;
    const auto scheme = url.scheme();
    if (scheme == "http" || scheme == "https") {
        out.kind = target_kind::http;
        out.tls = scheme == "https";
        out.url = std::string(text);
        out.port = out.tls ? 443 : 80;
    } else if (scheme == "tcp") {
        out.kind = target_kind::tcp;
    } else if (scheme == "dns") {
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
        for (const auto& param : url.params()) {
            if (param.key == "type") {
                const auto type = dns::parse_record_type(param.value);
                if (!type)
                    return invalid(text, fmt::format("unknown record type '{}'", param.value));
                out.type = *type;
            } else if (param.key == "server") {
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
    if (url.has_port()) {
        if (url.port().empty() || url.port_number() == 0) return invalid(text, "bad port");
        out.port = url.port_number();
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
