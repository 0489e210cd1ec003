#include <fanout/dns/record.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace fanout::dns {
namespace {

constexpr std::array<std::pair<record_type, std::string_view>, 8> type_names{{
    {record_type::a, "A"},
    {record_type::ns, "NS"},
    {record_type::cname, "CNAME"},
    {record_type::soa, "SOA"},
    {record_type::ptr, "PTR"},
    {record_type::mx, "MX"},
    {record_type::txt, "TXT"},
    {record_type::aaaa, "AAAA"},
}};

// A character-string in presentation form (RFC 1035 5.1): quoted, with '"'
// and '\' escaped and bytes outside printable ASCII as \DDD.
void append_quoted(std::string& out, const std::string& text) {
    out += '"';
    for (const unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c > 0x7e) {
            out += fmt::format("\\{:03}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

struct text_of {
    std::string operator()(const boost::asio::ip::address_v4& a) const { return a.to_string(); }
    std::string operator()(const boost::asio::ip::address_v6& a) const { return a.to_string(); }
    std::string operator()(const std::string& name) const { return name; }
    std::string operator()(const mx_data& mx) const {
        return fmt::format("{} {}", mx.preference, mx.exchange);
    }
    std::string operator()(const txt_data& txt) const {
        std::string out;
        for (const auto& s : txt.strings) {
            if (!out.empty()) out += ' ';
            append_quoted(out, s);
        }
        return out;
    }
    std::string operator()(const soa_data& soa) const {
        return fmt::format("{} {} {} {} {} {} {}", soa.mname, soa.rname, soa.serial, soa.refresh,
                           soa.retry, soa.expire, soa.minimum);
    }
    std::string operator()(const raw_data& raw) const {
        // RFC 3597's generic form.
        std::string out = fmt::format("\\# {}", raw.bytes.size());
        if (!raw.bytes.empty()) out += ' ';
        for (const auto byte : raw.bytes) out += fmt::format("{:02x}", byte);
        return out;
    }
};

}  // namespace

std::string to_string(record_type type) {
    for (const auto& [known, name] : type_names)
        if (known == type) return std::string(name);
    return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

std::optional<record_type> parse_record_type(std::string_view name) {
    for (const auto& [known, known_name] : type_names) {
        if (std::ranges::equal(name, known_name, [](char a, char b) {
                return std::toupper(static_cast<unsigned char>(a)) == b;
            }))
            return known;
    }
    return std::nullopt;
}

std::string record::text() const {
    return std::visit(text_of{}, data);
}

}  // namespace fanout::dns
