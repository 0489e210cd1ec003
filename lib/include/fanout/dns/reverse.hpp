#pragma once
// Reverse lookups: the PTR name of an address, and the addresses of a
// network (CIDR) one by one, so that a /16 is 65,536 lookups without
// 65,536 strings in memory.
//
// Errors: address_block::parse returns a failure with errc::invalid_input
// naming the text; nothing else here fails or throws except std::bad_alloc.

#include <fanout/outcome.hpp>

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fanout::dns {

/// "1.2.0.192.in-addr.arpa" for 192.0.2.1; 32 nibbles under "ip6.arpa" for
/// an IPv6 address (RFC 1035 3.5, RFC 3596 2.5).
std::string reverse_name(const boost::asio::ip::address& ip);

/// The addresses of a network: "192.0.2.0/24" (256 of them), "2001:db8::/120",
/// or one address ("192.0.2.1"). Host bits given are ignored ("192.0.2.7/24"
/// is 192.0.2.0/24).
class address_block {
  public:
    /// A network of at most 2^32 addresses.
    static result<address_block> parse(std::string_view text);

    std::uint64_t size() const noexcept { return std::uint64_t{1} << host_bits_; }
    /// The index-th address, from the network's first; index < size().
    boost::asio::ip::address at(std::uint64_t index) const;

  private:
    std::array<unsigned char, 16> first_{};
    bool v6_ = false;
    unsigned host_bits_ = 0;
};

}  // namespace fanout::dns
