#include "dns_responder.hpp"

#include "test_loop.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace net = boost::asio;
using net::ip::tcp;
using net::ip::udp;
using namespace std::chrono_literals;
using namespace fanout::test;

namespace {

using bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t flag_qr = 0x8000;
constexpr std::uint16_t flag_aa = 0x0400;
constexpr std::uint16_t flag_tc = 0x0200;
constexpr std::uint16_t flag_rd = 0x0100;
constexpr std::uint16_t flag_ra = 0x0080;
constexpr std::uint16_t rcode_formerr = 1;
constexpr std::uint16_t rcode_servfail = 2;
constexpr std::uint16_t rcode_nxdomain = 3;

// A standard recursive query for `name`, class IN, encoded by hand.
bytes dns_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
    bytes out = {static_cast<std::uint8_t>(id >> 8),
                 static_cast<std::uint8_t>(id),
                 0x01,
                 0x00,
                 0,
                 1,
                 0,
                 0,
                 0,
                 0,
                 0,
                 0};
    while (!name.empty()) {
        const auto label = name.substr(0, name.find('.'));
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
        name.remove_prefix(std::min(label.size() + 1, name.size()));
    }
    out.insert(out.end(),
               {0, static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0, 1});
    return out;
}

std::uint16_t u16_at(const bytes& message, std::size_t offset) {
    REQUIRE(message.size() >= offset + 2);
    return static_cast<std::uint16_t>(message[offset] << 8 | message[offset + 1]);
}

std::uint16_t id_of(const bytes& message) {
    return u16_at(message, 0);
}
std::uint16_t flags_of(const bytes& message) {
    return u16_at(message, 2);
}
std::uint16_t rcode_of(const bytes& message) {
    return flags_of(message) & 0x000f;
}
std::uint16_t answer_count(const bytes& message) {
    return u16_at(message, 6);
}

struct answer_record {
    std::string name;
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    bytes rdata;
};

// The answers of a response to `query`; the responder never compresses.
std::vector<answer_record> answers_of(const bytes& response, const bytes& query) {
    std::vector<answer_record> records;
    std::size_t offset = query.size();  // the question is echoed as sent
    for (std::uint16_t i = 0; i < answer_count(response); ++i) {
        answer_record record;
        for (;;) {
            REQUIRE(offset < response.size());
            const std::size_t length = response[offset++];
            if (length == 0) break;
            REQUIRE(length < 64);
            REQUIRE(offset + length <= response.size());
            if (!record.name.empty()) record.name += '.';
            record.name.append(response.begin() + static_cast<std::ptrdiff_t>(offset),
                               response.begin() + static_cast<std::ptrdiff_t>(offset + length));
            offset += length;
        }
        record.type = u16_at(response, offset);
        CHECK(u16_at(response, offset + 2) == 1);  // class IN
        record.ttl =
            std::uint32_t{u16_at(response, offset + 4)} << 16 | u16_at(response, offset + 6);
        const std::size_t length = u16_at(response, offset + 8);
        offset += 10;
        REQUIRE(offset + length <= response.size());
        record.rdata.assign(response.begin() + static_cast<std::ptrdiff_t>(offset),
                            response.begin() + static_cast<std::ptrdiff_t>(offset + length));
        offset += length;
        records.push_back(std::move(record));
    }
    CHECK(offset == response.size());
    return records;
}

// A UDP socket connected to the responder; every receive is bounded.
class udp_client {
  public:
    explicit udp_client(std::uint16_t port) {
        socket_.connect(udp::endpoint(net::ip::address_v4::loopback(), port));
    }

    void send(const bytes& message) { socket_.send(net::buffer(message)); }

    // The datagrams that arrive within `wait`, at most `wanted` of them.
    std::vector<bytes> receive(std::size_t wanted, std::chrono::milliseconds wait) {
        std::vector<bytes> received;
        net::steady_timer deadline(context_, wait);
        deadline.async_wait([this](boost::system::error_code ec) {
            if (!ec) socket_.cancel();
        });
        receive_next(received, wanted, deadline);
        context_.restart();
        context_.run_for(wait + 5s);
        REQUIRE(context_.stopped());
        return received;
    }

  private:
    void receive_next(std::vector<bytes>& received, std::size_t wanted,
                      net::steady_timer& deadline) {
        socket_.async_receive(
            // `wanted` by value: this function has returned when the handler runs.
            net::buffer(buffer_),
            [&received, &deadline, wanted, this](boost::system::error_code ec, std::size_t size) {
                if (ec) return;
                received.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<long>(size));
                if (received.size() == wanted)
                    deadline.cancel();
                else
                    receive_next(received, wanted, deadline);
            });
    }

    net::io_context context_;
    udp::socket socket_{context_, udp::endpoint(net::ip::address_v4::loopback(), 0)};
    std::array<std::uint8_t, 65536> buffer_{};
};

// Sends `query` and returns the single response, failing if none comes.
bytes ask_udp(dns_responder& responder, const bytes& query) {
    udp_client client(responder.port());
    client.send(query);
    auto received = client.receive(1, 2s);
    REQUIRE(received.size() == 1);
    return received.front();
}

// Sends the queries over one TCP connection, then reads as many responses.
net::awaitable<std::vector<bytes>> tcp_exchange(std::uint16_t port, std::vector<bytes> queries) {
    tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port),
                                  net::use_awaitable);
    bytes framed;
    for (const bytes& query : queries) {
        framed.push_back(static_cast<std::uint8_t>(query.size() >> 8));
        framed.push_back(static_cast<std::uint8_t>(query.size()));
        framed.insert(framed.end(), query.begin(), query.end());
    }
    co_await net::async_write(socket, net::buffer(framed), net::use_awaitable);
    std::vector<bytes> responses;
    for (std::size_t i = 0; i < queries.size(); ++i) {
        std::array<std::uint8_t, 2> length{};
        co_await net::async_read(socket, net::buffer(length), net::use_awaitable);
        bytes response(static_cast<std::size_t>(length[0] << 8 | length[1]));
        co_await net::async_read(socket, net::buffer(response), net::use_awaitable);
        responses.push_back(std::move(response));
    }
    co_return responses;
}

}  // namespace

TEST_CASE("an A query gets the zone's address with the query's id and the record's TTL") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7", 123));
    CHECK(responder.server() == "127.0.0.1:" + std::to_string(responder.port()));

    const bytes query = dns_query(0x1234, "Host.Example", dns_type::a);
    const bytes response = ask_udp(responder, query);

    CHECK(id_of(response) == 0x1234);
    CHECK((flags_of(response) & (flag_qr | flag_aa | flag_rd | flag_ra)) ==
          (flag_qr | flag_aa | flag_rd | flag_ra));
    CHECK((flags_of(response) & flag_tc) == 0);
    CHECK(rcode_of(response) == 0);
    const auto records = answers_of(response, query);
    REQUIRE(records.size() == 1);
    CHECK(records[0].name == "host.example");
    CHECK(records[0].type == dns_type::a);
    CHECK(records[0].ttl == 123);
    CHECK(records[0].rdata == bytes{192, 0, 2, 7});
    CHECK(responder.queries() == 1);
    CHECK(responder.queries_for("HOST.example.") == 1);
    CHECK(responder.tcp_queries() == 0);
}

TEST_CASE("an unknown name gets NXDOMAIN and a known name of another type gets no answers") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7"));

    const bytes unknown = ask_udp(responder, dns_query(7, "nowhere.example", dns_type::a));
    CHECK(rcode_of(unknown) == rcode_nxdomain);
    CHECK(answer_count(unknown) == 0);

    const bytes other_type = ask_udp(responder, dns_query(8, "host.example", dns_type::aaaa));
    CHECK(rcode_of(other_type) == 0);
    CHECK(answer_count(other_type) == 0);
}

TEST_CASE("a CNAME is answered with the alias and then the target's records") {
    dns_responder responder;
    responder.add(dns_cname("www.example", "host.example", 60));
    responder.add(dns_aaaa("host.example", "2001:db8::1", 90));

    const bytes query = dns_query(9, "www.example", dns_type::aaaa);
    const auto records = answers_of(ask_udp(responder, query), query);

    REQUIRE(records.size() == 2);
    CHECK(records[0].type == dns_type::cname);
    CHECK(records[0].rdata ==
          bytes{4, 'h', 'o', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0});
    CHECK(records[1].name == "host.example");
    CHECK(records[1].type == dns_type::aaaa);
    CHECK(records[1].ttl == 90);
    CHECK(records[1].rdata.size() == 16);
}

TEST_CASE("truncate sets TC over UDP and a TCP query gets the full answer") {
    dns_responder responder;
    responder.add(dns_a("big.example", "192.0.2.1"));
    responder.add(dns_a("big.example", "192.0.2.2"));
    responder.add(dns_txt("big.example", {"hello", "world"}));
    responder.set_rule("big.example", {dns_behaviour::truncate});

    const bytes udp_response = ask_udp(responder, dns_query(21, "big.example", dns_type::a));
    CHECK((flags_of(udp_response) & flag_tc) != 0);
    CHECK(answer_count(udp_response) == 0);

    const bytes a_query = dns_query(22, "big.example", dns_type::a);
    const bytes txt_query = dns_query(23, "big.example", dns_type::txt);
    net::io_context context;
    const auto responses =
        run_bounded(context, tcp_exchange(responder.port(), {a_query, txt_query}), 5s);

    REQUIRE(responses.size() == 2);
    CHECK(id_of(responses[0]) == 22);
    CHECK((flags_of(responses[0]) & flag_tc) == 0);
    const auto addresses = answers_of(responses[0], a_query);
    REQUIRE(addresses.size() == 2);
    CHECK(addresses[1].rdata == bytes{192, 0, 2, 2});
    CHECK(id_of(responses[1]) == 23);
    const auto texts = answers_of(responses[1], txt_query);
    REQUIRE(texts.size() == 1);
    CHECK(texts[0].rdata == bytes{5, 'h', 'e', 'l', 'l', 'o', 5, 'w', 'o', 'r', 'l', 'd'});
    CHECK(responder.tcp_queries() == 2);
    CHECK(responder.queries() == 3);
}

TEST_CASE("drop sends nothing") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7"));
    responder.set_rule("host.example", {dns_behaviour::drop});

    udp_client client(responder.port());
    client.send(dns_query(1, "host.example", dns_type::a));
    CHECK(client.receive(1, 200ms).empty());
    CHECK(responder.queries_for("host.example") == 1);
}

TEST_CASE("the fault behaviours send what they promise") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7"));
    udp_client client(responder.port());
    const bytes query = dns_query(0x0101, "host.example", dns_type::a);

    SECTION("servfail") {
        responder.set_default_rule({dns_behaviour::servfail});
        client.send(query);
        const auto received = client.receive(1, 2s);
        REQUIRE(received.size() == 1);
        CHECK(rcode_of(received[0]) == rcode_servfail);
        CHECK(answer_count(received[0]) == 0);
    }
    SECTION("wrong_id answers once, with another id") {
        responder.set_rule("host.example", {dns_behaviour::wrong_id});
        client.send(query);
        const auto received = client.receive(2, 300ms);
        REQUIRE(received.size() == 1);
        CHECK(id_of(received[0]) == (0x0101 ^ 0x5a5a));
        CHECK(answer_count(received[0]) == 1);
    }
    SECTION("garbage is not a DNS message") {
        responder.set_rule("host.example", {dns_behaviour::garbage});
        client.send(query);
        const auto received = client.receive(1, 2s);
        REQUIRE(received.size() == 1);
        CHECK(received[0].size() == 7);
    }
    SECTION("delay answers later without holding up other names") {
        responder.add(dns_a("fast.example", "192.0.2.8"));
        responder.set_rule("host.example", {dns_behaviour::delay, 400ms});
        client.send(query);
        client.send(dns_query(0x0202, "fast.example", dns_type::a));
        const auto first = client.receive(1, 2s);
        REQUIRE(first.size() == 1);
        CHECK(id_of(first[0]) == 0x0202);
        const auto later = client.receive(1, 3s);
        REQUIRE(later.size() == 1);
        CHECK(id_of(later[0]) == 0x0101);
        CHECK(answer_count(later[0]) == 1);
    }
}

TEST_CASE("malformed messages get FORMERR when their id can be read and break nothing") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7"));
    udp_client client(responder.port());

    client.send({0x42});
    client.send({0xab, 0xcd, 0x01});
    client.send({0x00, 0x05, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 63, 'x'});
    const auto received = client.receive(3, 300ms);
    REQUIRE(received.size() == 2);
    CHECK(id_of(received[0]) == 0xabcd);
    CHECK(rcode_of(received[0]) == rcode_formerr);
    CHECK(id_of(received[1]) == 0x0005);
    CHECK(rcode_of(received[1]) == rcode_formerr);
    CHECK(responder.queries() == 3);

    const bytes after = ask_udp(responder, dns_query(6, "host.example", dns_type::a));
    CHECK(answer_count(after) == 1);
}

TEST_CASE("hold_answers_until releases the held answers together") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7"));
    responder.hold_answers_until(5);
    udp_client client(responder.port());

    for (std::uint16_t id = 1; id <= 4; ++id) client.send(dns_query(id, "host.example", 1));
    REQUIRE(responder.wait_for_queries(4, 2s));
    CHECK(client.receive(1, 150ms).empty());

    client.send(dns_query(5, "host.example", dns_type::a));
    const auto received = client.receive(5, 2s);
    REQUIRE(received.size() == 5);
    std::set<std::uint16_t> ids;
    for (const bytes& response : received) ids.insert(id_of(response));
    CHECK(ids == std::set<std::uint16_t>{1, 2, 3, 4, 5});

    // Holding ends with the burst.
    CHECK(answer_count(ask_udp(responder, dns_query(6, "host.example", dns_type::a))) == 1);
}

TEST_CASE("the responder can be destroyed with delayed, held and TCP work pending") {
    net::io_context context;
    tcp::socket connection(context);
    {
        dns_responder responder;
        responder.add(dns_a("host.example", "192.0.2.7"));
        responder.set_rule("slow.example", {dns_behaviour::delay, 10s});
        udp_client client(responder.port());
        client.send(dns_query(1, "slow.example", dns_type::a));
        responder.hold_answers_until(10);
        client.send(dns_query(2, "host.example", dns_type::a));

        // A TCP connection with a slow query answered and a frame left half read.
        connection.connect(tcp::endpoint(net::ip::address_v4::loopback(), responder.port()));
        bytes frames = {0, 0};
        const bytes slow = dns_query(3, "slow.example", dns_type::a);
        frames[1] = static_cast<std::uint8_t>(slow.size());
        frames.insert(frames.end(), slow.begin(), slow.end());
        frames.insert(frames.end(), {0, 100, 0xab, 0xcd});
        net::write(connection, net::buffer(frames));
        REQUIRE(responder.wait_for_queries(3, 2s));
    }
    SUCCEED("destroyed without waiting for the delays");
}

TEST_CASE("numbered hosts have the demo's addresses and other names have none") {
    CHECK(numbered_host_address("host0.demo.test") == "10.0.0.0");
    CHECK(numbered_host_address("host258.demo.test") == "10.0.1.2");
    CHECK(numbered_host_address("HOST258.Demo.Test") == "10.0.1.2");
    CHECK(numbered_host_address("host16777217.demo.test") == "10.0.0.1");  // low 24 bits
    CHECK_FALSE(numbered_host_address("host.demo.test"));
    CHECK_FALSE(numbered_host_address("host1x.demo.test"));
    CHECK_FALSE(numbered_host_address("missing1.demo.test"));
    CHECK_FALSE(numbered_host_address("host1.demo.example"));
}

TEST_CASE("a synthesiser answers for the names the zone does not hold") {
    dns_responder responder;
    responder.synthesise(numbered_hosts());
    responder.add(dns_a("host1.demo.test", "192.0.2.1"));

    const bytes made = dns_query(1, "host258.demo.test", dns_type::a);
    const bytes response = ask_udp(responder, made);
    CHECK(rcode_of(response) == 0);
    const auto records = answers_of(response, made);
    REQUIRE(records.size() == 1);
    CHECK(records[0].type == dns_type::a);
    CHECK(records[0].ttl == 300);
    CHECK(records[0].rdata == bytes{10, 0, 1, 2});

    // Records of the zone win; a made-up name of another type has no answers;
    // a name the synthesiser does not know does not exist.
    const bytes added = dns_query(2, "host1.demo.test", dns_type::a);
    const auto zone_records = answers_of(ask_udp(responder, added), added);
    REQUIRE(zone_records.size() == 1);
    CHECK(zone_records[0].rdata == bytes{192, 0, 2, 1});
    const bytes other_type = dns_query(3, "host7.demo.test", dns_type::aaaa);
    const bytes no_data = ask_udp(responder, other_type);
    CHECK(rcode_of(no_data) == 0);
    CHECK(answer_count(no_data) == 0);
    CHECK(rcode_of(ask_udp(responder, dns_query(4, "missing1.demo.test", dns_type::a))) ==
          rcode_nxdomain);
}

TEST_CASE("a synthesised CNAME is followed to its target") {
    dns_responder responder;
    responder.add(dns_a("target.example", "192.0.2.9"));
    responder.synthesise([](const std::string& name) -> std::optional<std::vector<dns_rr>> {
        if (name != "alias.example") return std::nullopt;
        return std::vector<dns_rr>{dns_cname(name, "target.example")};
    });
    const bytes query = dns_query(5, "alias.example", dns_type::a);
    const auto records = answers_of(ask_udp(responder, query), query);
    REQUIRE(records.size() == 2);
    CHECK(records[0].type == dns_type::cname);
    CHECK(records[1].rdata == bytes{192, 0, 2, 9});
}

TEST_CASE("drop_every drops every n-th query that would be answered") {
    dns_responder responder;
    responder.add(dns_a("host.example", "192.0.2.7"));
    responder.drop_every(3);
    udp_client client(responder.port());
    std::set<std::uint16_t> answered;
    for (std::uint16_t id = 1; id <= 9; ++id) {
        client.send(dns_query(id, "host.example", dns_type::a));
        for (const auto& response : client.receive(1, id % 3 == 0 ? 200ms : 2s))
            answered.insert(id_of(response));
    }
    CHECK(answered == std::set<std::uint16_t>{1, 2, 4, 5, 7, 8});
    CHECK(responder.queries() == 9);

    responder.drop_every(0);
    CHECK(ask_udp(responder, dns_query(10, "host.example", dns_type::a)).size() > 0);
}

TEST_CASE("count_queries_by_name(false) keeps no count per name") {
    dns_responder responder;
    responder.synthesise(numbered_hosts());
    responder.count_queries_by_name(false);
    ask_udp(responder, dns_query(1, "host1.demo.test", dns_type::a));
    CHECK(responder.queries() == 1);
    CHECK(responder.queries_for("host1.demo.test") == 0);
    responder.count_queries_by_name(true);
    ask_udp(responder, dns_query(2, "host1.demo.test", dns_type::a));
    CHECK(responder.queries_for("host1.demo.test") == 1);
}
