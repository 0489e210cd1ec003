#include "http/target.hpp"

#include <fanout/http/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <fmt/format.h>

namespace fanout::http::detail {

namespace urls = boost::urls;

result<target> parse_target(std::string_view text) {
    const auto invalid = [&](std::string_view why) {
        return failure{make_error_code(errc::invalid_url),
                       fmt::format("bad URL '{}': {}", text, why)};
    };
    const auto parsed = urls::parse_uri(text);
    if (!parsed) return invalid(parsed.error().message());
    const auto& url = *parsed;
    target out;
    if (url.scheme_id() == urls::scheme::https)
        out.tls = true;
    else if (url.scheme_id() != urls::scheme::http)
        return invalid("the scheme must be http or https");
    if (url.host_type() == urls::host_type::ipv6)
        out.host = std::string(url.encoded_host_address());
    else
        out.host = url.host_address();
    if (out.host.empty()) return invalid("no host");
    out.port = out.tls ? 443 : 80;
    if (url.has_port()) {
        if (url.port().empty() || url.port_number() == 0) return invalid("bad port");
        out.port = url.port_number();
    }
    out.host_header = std::string(url.encoded_host_and_port());
    out.path = std::string(url.encoded_target());
    if (out.path.empty()) out.path = "/";
    if (out.path.front() != '/') out.path.insert(0, "/");
    out.origin = fmt::format("{}://{}:{}", out.tls ? "https" : "http", out.host, out.port);
    return out;
}

result<std::string> resolve_location(std::string_view base, std::string_view location) {
    const auto from = urls::parse_uri(base);
    const auto ref = urls::parse_uri_reference(location);
    if (!from || !ref)
        return failure{make_error_code(errc::invalid_url),
                       fmt::format("bad redirect Location '{}'", location)};
    urls::url out;
    if (const auto done = urls::resolve(*from, *ref, out); !done)
        return failure{
            make_error_code(errc::invalid_url),
            fmt::format("bad redirect Location '{}': {}", location, done.error().message())};
    return std::string(out.buffer());
}

}  // namespace fanout::http::detail
