// The library's private DNS pieces: reading responses, names, hosts files,
// record types and the error category.
#include "dns/message.hpp"

#include "dns/hosts_file.hpp"
#include "dns/name.hpp"

#include <fanout/dns/error.hpp>
#include <fanout/dns/record.hpp>
#include <fanout/dns/reverse.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

namespace dns = fanout::dns;

namespace {

using bytes = std::vector<unsigned char>;

// A response header: id 0x1234, QR set, the given flags and counts.
bytes header(std::uint16_t flags, std::uint16_t questions, std::uint16_t answers) {
    flags |= 0x8000;
    return {0x12,
            0x34,
            static_cast<unsigned char>(flags >> 8),
            static_cast<unsigned char>(flags & 0xff),
            0,
            static_cast<unsigned char>(questions),
            0,
            static_cast<unsigned char>(answers),
            0,
            0,
            0,
            0};
}

// Element by element: on vector's range insert here g++ 12 at -O2 and above
// reports -Warray-bounds and -Wstringop-overread (GCC bug 107852).
void append(bytes& out, const bytes& more) {
    std::ranges::copy(more, std::back_inserter(out));
}

// "www.example.test" in wire form.
const bytes www_name{3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                     'p', 'l', 'e', 4,   't', 'e', 's', 't', 0};

bytes a_response() {
    auto out = header(0x0100, 1, 1);
    append(out, www_name);
    append(out, {0, 1, 0, 1});               // question: A IN
    append(out, {0xc0, 12});                 // answer name: pointer to the question's
    append(out, {0, 1, 0, 1, 0, 0, 1, 44});  // A IN TTL 300
    append(out, {0, 4, 192, 0, 2, 1});
    return out;
}

std::string malformed_reason(const bytes& message) {
    auto parsed = dns::detail::parse_response(message);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == dns::errc::malformed_response);
    return parsed.error().text();
}

}  // namespace

TEST_CASE("a response's header and compressed answer are read") {
    auto parsed = dns::detail::parse_response(a_response());
    REQUIRE(parsed);
    CHECK(parsed->id == 0x1234);
    CHECK(parsed->rcode == 0);
    CHECK_FALSE(parsed->truncated);
    REQUIRE(parsed->answers.size() == 1);
    CHECK(parsed->answers[0].name == "www.example.test");
    CHECK(parsed->answers[0].ttl == 300);
    CHECK(parsed->answers[0].text() == "192.0.2.1");
}

TEST_CASE("the response code and the truncation bit are read") {
    auto message = header(0x0200 | 3, 0, 0);
    auto parsed = dns::detail::parse_response(message);
    REQUIRE(parsed);
    CHECK(parsed->rcode == 3);
    CHECK(parsed->truncated);
}

TEST_CASE("malformed responses are failures that say what is wrong") {
    CHECK(malformed_reason({1, 2, 3}).find("only 3 bytes") != std::string::npos);

    auto query = header(0, 0, 0);
    query[2] &= 0x7f;  // QR cleared
    CHECK(malformed_reason(query).find("not a response") != std::string::npos);

    auto cut = a_response();
    cut.erase(cut.end() - 2, cut.end());  // the address loses two bytes
    CHECK(malformed_reason(cut).find("truncated") != std::string::npos);

    auto looped = header(0x0100, 0, 1);
    append(looped, {0xc0, 12});  // a name that points at itself
    append(looped, {0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4});
    CHECK(malformed_reason(looped).find("bad record name") != std::string::npos);

    auto short_a = header(0x0100, 0, 1);
    append(short_a, www_name);
    append(short_a, {0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3});
    CHECK(malformed_reason(short_a).find("A record of 3 bytes") != std::string::npos);
}

TEST_CASE("a TTL with the top bit set counts as zero") {
    auto message = a_response();
    message[message.size() - 10] = 0x80;  // the TTL's first byte
    auto parsed = dns::detail::parse_response(message);
    REQUIRE(parsed);
    CHECK(parsed->answers.at(0).ttl == 0);
}

TEST_CASE("records of types fanout does not decode keep their bytes") {
    auto message = header(0x0100, 0, 1);
    append(message, www_name);
    append(message, {0, 99, 0, 1, 0, 0, 0, 5, 0, 2, 0xab, 0xcd});  // type 99
    auto parsed = dns::detail::parse_response(message);
    REQUIRE(parsed);
    CHECK(dns::to_string(parsed->answers.at(0).type) == "TYPE99");
    CHECK(parsed->answers[0].text() == "\\# 2 abcd");
}

TEST_CASE("record types are named both ways, in any case") {
    for (const char* name : {"A", "AAAA", "CNAME", "MX", "NS", "TXT", "PTR", "SOA"}) {
        const auto type = dns::parse_record_type(name);
        REQUIRE(type);
        CHECK(dns::to_string(*type) == name);
    }
    CHECK(dns::parse_record_type("mx") == dns::record_type::mx);
    CHECK_FALSE(dns::parse_record_type("SRV"));
    CHECK_FALSE(dns::parse_record_type(""));
}

TEST_CASE("names are checked before they are asked") {
    using dns::detail::validate_name;
    CHECK_FALSE(validate_name("www.example.com"));
    CHECK_FALSE(validate_name("_sip._tcp.example.com"));
    CHECK_FALSE(validate_name("*.example.com"));
    CHECK(validate_name("") == "empty name");
    CHECK(validate_name("a..b")->find("empty label") != std::string::npos);
    CHECK(validate_name("has space")->find("character ' '") != std::string::npos);
    CHECK(validate_name(std::string(64, 'x'))->find("longer than 63") != std::string::npos);
    CHECK(validate_name(std::string(254, 'x'))->find("more than 253") != std::string::npos);
    CHECK(dns::detail::without_final_dot("example.com.") == "example.com");
    CHECK(dns::detail::is_localhost("Foo.LOCALHOST"));
    CHECK_FALSE(dns::detail::is_localhost("localhost.example"));
}

TEST_CASE("a hosts file maps names and aliases to their addresses") {
    const auto hosts = dns::detail::hosts_file::parse(
        "127.0.0.1 localhost\n"
        "# a comment\n"
        "192.0.2.10  Box.example.test box  # trailing comment\n"
        "2001:db8::10 box.example.test\n"
        "not-an-address name\n");
    const auto box = hosts.find("BOX.example.test");
    REQUIRE(box.size() == 2);
    CHECK(box[0].ip.to_string() == "192.0.2.10");
    CHECK(box[1].ip.to_string() == "2001:db8::10");
    CHECK(hosts.find("box").size() == 1);
    CHECK(hosts.find("name").empty());
    CHECK(hosts.find("elsewhere").empty());
}

TEST_CASE("every DNS error has a message, a report kind and a response code where one applies") {
    for (int value = 1; value <= static_cast<int>(dns::errc::resolver_failure); ++value) {
        const auto ec = dns::make_error_code(static_cast<dns::errc>(value));
        INFO(value);
        CHECK(ec.category().name() == std::string("dns"));
        CHECK(ec.message().find("unknown") == std::string::npos);
        CHECK(std::string(fanout::error_kind(ec)) != "error");
    }
    CHECK(std::string(fanout::error_kind(dns::errc::nxdomain)) == "nxdomain");
    CHECK(dns::rcode_of(dns::errc::nxdomain) == dns::rcode::nxdomain);
    CHECK(dns::rcode_of(dns::errc::no_data) == dns::rcode::noerror);
    CHECK_FALSE(dns::rcode_of(fanout::make_error_code(fanout::errc::timeout)));
    CHECK(dns::to_string(dns::rcode::servfail) == "SERVFAIL");
    CHECK(dns::to_string(static_cast<dns::rcode>(14)) == "RCODE14");
}

TEST_CASE("reverse names of IPv4 and IPv6 addresses") {
    CHECK(dns::reverse_name(boost::asio::ip::make_address("192.0.2.1")) ==
          "1.2.0.192.in-addr.arpa");
    CHECK(dns::reverse_name(boost::asio::ip::make_address("2001:db8::1")) ==
          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST_CASE("a network gives its addresses one by one, host bits ignored") {
    auto block = dns::address_block::parse("192.0.2.77/24").value();
    CHECK(block.size() == 256);
    CHECK(block.at(0).to_string() == "192.0.2.0");
    CHECK(block.at(255).to_string() == "192.0.2.255");
    auto wide = dns::address_block::parse("10.1.0.0/15").value();
    CHECK(wide.size() == 131072);
    CHECK(wide.at(65536 + 258).to_string() == "10.1.1.2");
    CHECK(dns::address_block::parse("10.0.0.0/8").value().at(16777215).to_string() ==
          "10.255.255.255");
    auto v6 = dns::address_block::parse("2001:db8::/120").value();
    CHECK(v6.size() == 256);
    CHECK(v6.at(255).to_string() == "2001:db8::ff");
    CHECK(dns::address_block::parse("2001:db8::/96").value().at(65536).to_string() ==
          "2001:db8::1:0");
    auto one = dns::address_block::parse("192.0.2.9").value();
    CHECK(one.size() == 1);
    CHECK(one.at(0).to_string() == "192.0.2.9");
    for (const char* bad : {"192.0.2.0/33", "192.0.2.0/", "300.0.0.0/8", "2001:db8::/64", "x/1"}) {
        INFO(bad);
        const auto parsed = dns::address_block::parse(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().text().find(bad) != std::string::npos);
    }
}
