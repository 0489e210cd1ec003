#include "http/target.hpp"

#include "http/url_text.hpp"

#include <fanout/http/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace fanout::http::detail {

namespace urls = boost::urls;

result<target> parse_target(std::string_view text) {
    const auto invalid = [&](std::string_view why) {
        return failure{make_error_code(errc::invalid_url),
                       fmt::format("bad URL '{}': {}", text, why)};
    };
    if (text.find("://") == std::string_view::npos)
        return invalid("not an absolute URL (expected http://host/path or https://...)");
    if (auto problem = url_text_problem(text)) return invalid(*problem);
    const auto parsed = urls::parse_uri(text);
    if (!parsed) {
        return invalid("not a valid URL (expected http://host[:port]/path)");
    }
    const auto& url = *parsed;
    target out;
    if (scheme_is(url.scheme(), "https"))
        out.tls = true;
    else if (!scheme_is(url.scheme(), "http"))
        return invalid(fmt::format("the scheme '{}' is not http or https", url.scheme()));
    if (url.has_userinfo())
        return invalid(
            "user information (user:password@) is not sent: give an Authorization header instead");
    if (url.host_type() == urls::host_type::ipv6)
        out.host = std::string(url.encoded_host_address());
    else
        out.host = url.host_address();
    if (out.host.empty()) return invalid("no host");
    if (url.host_type() == urls::host_type::name && numeric_host(out.host))
        return invalid(fmt::format(
            "the host '{}' is a number but not a dotted IPv4 address (write it as a.b.c.d)",
            out.host));
    out.port = out.tls ? 443 : 80;
    if (url.has_port()) {
        auto port = port_of(url.port());
        if (const auto* why = std::get_if<std::string>(&port)) return invalid(*why);
        out.port = std::get<std::uint16_t>(port);
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
    out.remove_fragment();  // never sent; the next request's URL has none
    return std::string(out.buffer());
}

}  // namespace fanout::http::detail
