#include <fanout/dns/reverse.hpp>

#include <fmt/format.h>

#include <charconv>

namespace fanout::dns {

std::string reverse_name(const boost::asio::ip::address& ip) {
    std::string out;
    if (ip.is_v4()) {
        const auto bytes = ip.to_v4().to_bytes();
        out.reserve(29);
        for (auto at = bytes.rbegin(); at != bytes.rend(); ++at)
            fmt::format_to(std::back_inserter(out), "{}.", *at);
        out += "in-addr.arpa";
        return out;
    }
    constexpr char digits[] = "0123456789abcdef";
    const auto bytes = ip.to_v6().to_bytes();
    out.reserve(72);
    for (auto at = bytes.rbegin(); at != bytes.rend(); ++at) {
        out += digits[*at & 0xf];
        out += '.';
        out += digits[*at >> 4];
        out += '.';
    }
    out += "ip6.arpa";
    return out;
}

result<address_block> address_block::parse(std::string_view text) {
    const auto invalid = [&](std::string_view why) {
        return failure{make_error_code(fanout::errc::invalid_input),
                       fmt::format("bad network '{}': {}", text, why)};
    };
    const auto slash = text.find('/');
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(std::string(text.substr(0, slash)), ec);
    if (ec) return invalid("not an IP address");
    address_block out;
    out.v6_ = ip.is_v6();
    const unsigned bits = out.v6_ ? 128 : 32;
    unsigned prefix = bits;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        const auto [end, error] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() ||
            prefix > bits)
            return invalid(fmt::format("the prefix length is not a number from 0 to {}", bits));
    }
    if (bits - prefix > 32) return invalid("more than 2^32 addresses");
    out.host_bits_ = bits - prefix;
    const std::size_t size = out.v6_ ? 16 : 4;
    if (out.v6_) {
        const auto bytes = ip.to_v6().to_bytes();
        std::copy(bytes.begin(), bytes.end(), out.first_.begin());
    } else {
        const auto bytes = ip.to_v4().to_bytes();
        std::copy(bytes.begin(), bytes.end(), out.first_.begin());
    }
    // Clear the host bits.
    for (std::size_t i = 0; i < size; ++i) {
        const unsigned from = static_cast<unsigned>(i) * 8;  // the byte's first bit
        if (from >= prefix)
            out.first_[i] = 0;
        else if (prefix - from < 8)
            out.first_[i] &= static_cast<unsigned char>(0xff << (8 - (prefix - from)));
    }
    return out;
}

boost::asio::ip::address address_block::at(std::uint64_t index) const {
    auto bytes = first_;
    const std::size_t size = v6_ ? 16 : 4;
    std::uint64_t carry = index;
    for (std::size_t i = size; i-- > 0 && carry != 0;) {
        const std::uint64_t sum = bytes[i] + (carry & 0xff);
        bytes[i] = static_cast<unsigned char>(sum & 0xff);
        carry = (carry >> 8) + (sum >> 8);
    }
    if (v6_) return boost::asio::ip::address_v6(bytes);
    return boost::asio::ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]});
}

}  // namespace fanout::dns
