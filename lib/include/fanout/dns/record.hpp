#pragma once
// What a DNS lookup returns: record types, typed records with their TTLs,
// and addresses.
//
// Errors: parse_record_type returns nothing for an unknown name; nothing here
// throws except std::bad_alloc.

#include <fanout/dns/server.hpp>

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fanout::dns {

/// A record type. The named ones are those fanout queries and decodes; any
/// other 16-bit value can appear in an answer and is kept as raw data.
enum class record_type : std::uint16_t {
    a = 1,
    ns = 2,
    cname = 5,
    soa = 6,
    ptr = 12,
    mx = 15,
    txt = 16,
    aaaa = 28,
};

/// "A", "AAAA", "MX"...; "TYPE47" for types without a name here.
std::string to_string(record_type type);

/// The type for a name, any case ("mx", "AAAA"); nothing for an unknown one.
std::optional<record_type> parse_record_type(std::string_view name);

struct mx_data {
    std::uint16_t preference = 0;
    std::string exchange;
    friend bool operator==(const mx_data&, const mx_data&) = default;
};

struct soa_data {
    std::string mname;  ///< the primary name server
    std::string rname;  ///< the administrator's mailbox, as a domain name
    std::uint32_t serial = 0;
    std::uint32_t refresh = 0;
    std::uint32_t retry = 0;
    std::uint32_t expire = 0;
    std::uint32_t minimum = 0;
    friend bool operator==(const soa_data&, const soa_data&) = default;
};

struct txt_data {
    std::vector<std::string> strings;  ///< the character-strings, in order
    friend bool operator==(const txt_data&, const txt_data&) = default;
};

/// The data of a type fanout does not decode, as sent.
struct raw_data {
    std::vector<std::uint8_t> bytes;
    friend bool operator==(const raw_data&, const raw_data&) = default;
};

/// One resource record of an answer section.
struct record {
    std::string name;  ///< owner name, without the final dot
    record_type type = record_type::a;
    std::uint32_t ttl = 0;  ///< seconds
    /// A: address_v4; AAAA: address_v6; CNAME, NS, PTR: the target name;
    /// MX, TXT, SOA: their structures; anything else: raw_data.
    std::variant<boost::asio::ip::address_v4, boost::asio::ip::address_v6, std::string, mx_data,
                 txt_data, soa_data, raw_data>
        data;

    /// The data in presentation form: "192.0.2.1", "mail.example.com",
    /// "10 mail.example.com", "\"v=spf1\" \"-all\"", "ns1 admin 1 7200 ...".
    std::string text() const;
    /// The same text, appended to `out` (no allocation for an address).
    void append_text(std::string& out) const;
};

/// The answer section of a NOERROR response with at least one record of the
/// type asked; CNAME records that led there come first, as the server sent them.
struct answer {
    std::vector<record> records;
    server answered_by;  ///< the server whose response this is
    /// The records equal those of a random name of the zone: they come from
    /// its wildcard (set by callers that ask a wildcard_detector).
    bool wildcard = false;
};

/// One address of a name, with the TTL of its record.
struct address {
    boost::asio::ip::address ip;
    std::uint32_t ttl = 0;  ///< seconds
};

}  // namespace fanout::dns
