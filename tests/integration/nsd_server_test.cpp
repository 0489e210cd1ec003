// The nsd fixture: a real nsd on 127.0.0.1 serving the generated zone,
// checked with hand-encoded UDP queries.
#include "nsd_server.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/udp.hpp>

#include <filesystem>
#include <string>

namespace net = boost::asio;
using fanout::test::nsd_server;
using namespace std::chrono_literals;

TEST_CASE("names, addresses and ttls of the generated hosts follow one rule") {
    CHECK(nsd_server::name_of(0) == "host0.fanout.test");
    CHECK(nsd_server::name_of(999) == "host999.fanout.test");
    CHECK(nsd_server::address_of(0) == "10.0.0.0");
    CHECK(nsd_server::address_of(999) == "10.0.3.231");
    CHECK(nsd_server::address_of(99'999) == "10.1.134.159");
    CHECK(nsd_server::ttl_of(0) == 300);
    CHECK(nsd_server::ttl_of(999) == 399);
}

TEST_CASE("nsd answers the last of 1000 hosts with its address and ttl") {
    const nsd_server server(1000);
    CHECK(server.port() != 0);
    CHECK(server.server() == "127.0.0.1:" + std::to_string(server.port()));
    const auto reply = server.query_a(nsd_server::name_of(999), 2s);
    REQUIRE(reply);
    CHECK(reply->rcode == 0);
    CHECK(reply->authoritative);
    CHECK(reply->answer_count == 1);
    REQUIRE(reply->a_records.size() == 1);
    CHECK(reply->a_records[0].address == nsd_server::address_of(999));
    CHECK(reply->a_records[0].address == "10.0.3.231");
    CHECK(reply->a_records[0].ttl == nsd_server::ttl_of(999));
}

TEST_CASE("nsd answers an unknown name with NXDOMAIN") {
    const nsd_server server(1000);
    const auto reply = server.query_a("host1000.fanout.test", 2s);
    REQUIRE(reply);
    CHECK(reply->rcode == 3);
    CHECK(reply->a_records.empty());
}

TEST_CASE("nsd follows www's CNAME to host0 within its own zone") {
    const nsd_server server(10);
    const auto reply = server.query_a("www.fanout.test", 2s);
    REQUIRE(reply);
    CHECK(reply->rcode == 0);
    CHECK(reply->answer_count == 2);  // the CNAME, then host0's A
    REQUIRE(reply->a_records.size() == 1);
    CHECK(reply->a_records[0].address == nsd_server::address_of(0));
}

TEST_CASE("two servers run side by side on ports of their own") {
    const nsd_server first(10);
    const nsd_server second(20, 2);
    CHECK(first.port() != second.port());
    CHECK(first.query_a(nsd_server::name_of(9), 2s));
    const auto reply = second.query_a(nsd_server::name_of(19), 2s);
    REQUIRE(reply);
    REQUIRE(reply->a_records.size() == 1);
    CHECK(reply->a_records[0].address == nsd_server::address_of(19));
}

TEST_CASE("a stopped server frees its port and removes its directory") {
    std::uint16_t port = 0;
    std::string directory;
    {
        const nsd_server server(10);
        port = server.port();
        directory = server.directory();
        CHECK(std::filesystem::exists(directory + "/fanout.test.zone"));
    }
    CHECK_FALSE(std::filesystem::exists(directory));
    // Binding fails while any nsd process still holds the port.
    net::io_context io(1);
    net::ip::udp::socket socket(io, net::ip::udp::v4());
    boost::system::error_code ec;
    socket.bind({net::ip::address_v4::loopback(), port}, ec);
    CHECK_FALSE(ec);
}
