#include <fanout/dns/resolver.hpp>

#include <boost/asio/ip/address.hpp>

#include <fmt/format.h>

#include <charconv>

namespace fanout::dns {

result<server> parse_server(std::string_view text) {
    const auto invalid = [&](std::string_view why) {
        return failure{make_error_code(fanout::errc::invalid_input),
                       fmt::format("bad DNS server '{}': {}", text, why)};
    };
    std::string_view host = text;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return invalid("no closing ']'");
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return invalid("expected ':' after ']'");
            port_text = rest.substr(1);
            if (port_text.empty()) return invalid("empty port");
        }
    } else if (const auto colon = text.find(':');
               colon != std::string_view::npos &&
               text.find(':', colon + 1) == std::string_view::npos) {
        host = text.substr(0, colon);  // one colon: address:port; more: a bare IPv6 address
        port_text = text.substr(colon + 1);
        if (port_text.empty()) return invalid("empty port");
    }
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(std::string(host), ec);
    if (ec) return invalid("not an IP address");
    server out{ip.to_string(), 53};
    if (!port_text.empty()) {
        unsigned port = 0;
        const auto [end, error] = std::from_chars(port_text.begin(), port_text.end(), port);
        if (error != std::errc{} || end != port_text.end() || port == 0 || port > 65535)
            return invalid(fmt::format("port '{}' is not a number from 1 to 65535", port_text));
        out.port = static_cast<std::uint16_t>(port);
    }
    return out;
}

std::string to_string(const server& s) {
    if (s.address.find(':') != std::string::npos) return fmt::format("[{}]:{}", s.address, s.port);
    return fmt::format("{}:{}", s.address, s.port);
}

}  // namespace fanout::dns
