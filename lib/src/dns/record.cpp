#include <fanout/dns/record.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>

#include <iterator>

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

// Writes a record's data in presentation form at the end of a string.
struct append_data {
    std::string& out;

    void operator()(const boost::asio::ip::address_v4& a) const {
        // Dotted quad by hand: to_string() allocates a string per record.
        const auto bytes = a.to_bytes();
        char text[16];
        char* at = text;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            unsigned value = bytes[i];
            if (i != 0) *at++ = '.';
            if (value >= 100) *at++ = static_cast<char>('0' + value / 100);
            if (value >= 10) *at++ = static_cast<char>('0' + value / 10 % 10);
            *at++ = static_cast<char>('0' + value % 10);
        }
        out.append(text, at);
    }
    void operator()(const boost::asio::ip::address_v6& a) const {
        char text[64];
        boost::system::error_code ec;
        const auto bytes = a.to_bytes();
        if (::inet_ntop(AF_INET6, bytes.data(), text, sizeof text) != nullptr)
            out += text;
        else
            out += a.to_string(ec);
    }
    void operator()(const std::string& name) const { out += name; }
    void operator()(const mx_data& mx) const {
        fmt::format_to(std::back_inserter(out), "{} {}", mx.preference, mx.exchange);
    }
    void operator()(const txt_data& txt) const {
        bool first = true;
        for (const auto& s : txt.strings) {
            if (!first) out += ' ';
            first = false;
            append_quoted(out, s);
        }
    }
    void operator()(const soa_data& soa) const {
        fmt::format_to(std::back_inserter(out), "{} {} {} {} {} {} {}", soa.mname, soa.rname,
                       soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum);
    }
    void operator()(const raw_data& raw) const {
        // RFC 3597's generic form.
        fmt::format_to(std::back_inserter(out), "\\# {}", raw.bytes.size());
        if (!raw.bytes.empty()) out += ' ';
        for (const auto byte : raw.bytes) fmt::format_to(std::back_inserter(out), "{:02x}", byte);
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
    std::string out;
    append_text(out);
    return out;
}

void record::append_text(std::string& out) const {
    std::visit(append_data{out}, data);
}

}  // namespace fanout::dns
