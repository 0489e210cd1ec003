// A resolver with several servers: how its tries spread, fail over, set a
// failing server aside and keep to a per-server rate.
#include <fanout/dns/resolver.hpp>

#include "dns_responder.hpp"
#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace dns = fanout::dns;
using namespace std::chrono_literals;
using fanout::test::dns_responder;
using behaviour = fanout::test::dns_behaviour;

namespace {

// Responders that all serve host<i>.pool.test (i < names).
std::vector<std::unique_ptr<dns_responder>> responders(std::size_t count, std::size_t names) {
    std::vector<std::unique_ptr<dns_responder>> out;
    for (std::size_t r = 0; r < count; ++r) {
        out.push_back(std::make_unique<dns_responder>());
        for (std::size_t i = 0; i < names; ++i)
            out.back()->add(fanout::test::dns_a("host" + std::to_string(i) + ".pool.test",
                                                "10.0.0." + std::to_string(i % 250)));
    }
    return out;
}

std::vector<std::string> names(std::size_t count) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count; ++i)
        out.push_back("host" + std::to_string(i) + ".pool.test");
    return out;
}

// A UDP port of 127.0.0.1 with nothing behind it.
dns::server dead_server() {
    net::io_context io;
    net::ip::udp::socket socket(io, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = socket.local_endpoint().port();
    return {"127.0.0.1", port};
}

dns::server server_of(const dns_responder& responder) {
    return dns::parse_server(responder.server()).value();
}

// Looks every name up, `limit` at a time; the outcomes in input order.
std::vector<fanout::outcome<dns::answer>> look_up(const dns::resolver_options& options,
                                                  const std::vector<std::string>& list,
                                                  std::size_t limit) {
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options);
    auto lookup = [&](const std::string& name) {
        return resolver.query(name, dns::record_type::a);
    };
    auto out = fanout::test::run_bounded(io, fanout::gather(list, lookup, {.limit = limit}), 60s);
    CHECK(resolver.pending() == 0);
    return out;
}

std::map<std::string, std::size_t> answered_by(
    const std::vector<fanout::outcome<dns::answer>>& all) {
    std::map<std::string, std::size_t> out;
    for (const auto& one : all)
        if (one.ok()) ++out[dns::to_string(one.value().answered_by)];
    return out;
}

}  // namespace

TEST_CASE(
    "round robin and least outstanding spread the queries within 20% across healthy servers") {
    const std::size_t count = 600;
    auto servers = responders(3, count);
    dns::resolver_options options;
    for (const auto& r : servers) options.servers.push_back(server_of(*r));
    options.tries = 1;
    for (const auto choice :
         {dns::server_choice::round_robin, dns::server_choice::least_outstanding}) {
        INFO(static_cast<int>(choice));
        options.pool.choice = choice;
        const std::vector<std::size_t> before{servers[0]->queries(), servers[1]->queries(),
                                              servers[2]->queries()};
        // Round robin spreads evenly however fast each server answers;
        // least outstanding does when they keep up alike, as one at a time.
        const std::size_t limit = choice == dns::server_choice::round_robin ? 60 : 1;
        const auto results = look_up(options, names(count), limit);
        std::size_t ok = 0;
        for (const auto& r : results) ok += r.ok();
        CHECK(ok == count);
        const auto by = answered_by(results);
        for (std::size_t s = 0; s < servers.size(); ++s) {
            const auto asked = servers[s]->queries() - before[s];
            INFO("server " << s << " asked " << asked);
            CHECK(asked >= count / 3 * 8 / 10);
            CHECK(asked <= count / 3 * 12 / 10);
            CHECK(by.at(servers[s]->server()) == asked);
        }
    }
}

TEST_CASE("a try that times out or is answered SERVFAIL or REFUSED goes to another server") {
    auto servers = responders(3, 50);
    servers[0]->set_default_rule({behaviour::servfail});
    servers[1]->set_default_rule({behaviour::refused});
    dns::resolver_options options;
    options.servers = {dead_server(), server_of(*servers[0]), server_of(*servers[1]),
                       server_of(*servers[2])};
    options.tries = 1;
    options.timeout = 100ms;
    options.pool.choice = dns::server_choice::in_order;
    options.pool.set_aside_after = 0;  // every lookup walks the whole list
    const auto results = look_up(options, names(20), 20);
    for (const auto& r : results) {
        REQUIRE(r.ok());
        CHECK(r.value().answered_by == server_of(*servers[2]));
    }
    CHECK(servers[0]->queries() == 20);
    CHECK(servers[1]->queries() == 20);
    CHECK(servers[2]->queries() == 20);
}

TEST_CASE("a pool of more servers than get sockets of their own fails over past the dead ones") {
    // 17 servers: past 16, they share unconnected sockets.
    auto live = responders(1, 20);
    dns::resolver_options options;
    options.servers = {dead_server(), dead_server(), server_of(*live[0])};
    while (options.servers.size() < 17) options.servers.push_back(dead_server());
    options.tries = 1;
    options.timeout = 50ms;
    options.pool.choice = dns::server_choice::in_order;
    options.pool.set_aside_after = 0;
    const auto results = look_up(options, names(20), 20);
    for (const auto& r : results) {
        REQUIRE(r.ok());
        CHECK(r.value().answered_by == server_of(*live[0]));
    }
    CHECK(live[0]->queries() == 20);
}

TEST_CASE("without another server a SERVFAIL answer ends the lookup as servfail") {
    auto servers = responders(1, 5);
    servers[0]->set_default_rule({behaviour::servfail});
    dns::resolver_options options;
    options.servers = {server_of(*servers[0])};
    options.tries = 3;
    const auto results = look_up(options, names(5), 5);
    for (const auto& r : results) CHECK(r.error().code == dns::errc::servfail);
    CHECK(servers[0]->queries() == 5);
}

TEST_CASE("a server that keeps failing is set aside, then asked again after a while") {
    auto servers = responders(2, 100);
    servers[1]->set_default_rule({behaviour::drop});
    dns::resolver_options options;
    options.servers = {server_of(*servers[0]), server_of(*servers[1])};
    options.tries = 1;
    options.timeout = 50ms;
    options.pool.choice = dns::server_choice::round_robin;
    options.pool.set_aside_after = 2;
    options.pool.set_aside_for = 1500ms;

    net::io_context io;
    dns::resolver resolver(io.get_executor(), options);
    auto lookup = [&](const std::string& name) {
        return resolver.query(name, dns::record_type::a);
    };
    const auto list = names(100);
    const std::vector<std::string> first(list.begin(), list.begin() + 40);
    // One at a time: the dead server gets two tries, then no more.
    auto results = fanout::test::run_bounded(io, fanout::gather(first, lookup, {.limit = 1}), 30s);
    for (const auto& r : results) CHECK(r.ok());
    CHECK(servers[1]->queries() == 2);
    CHECK(servers[0]->queries() == 40);

    // It answers again; once its time out ends it is asked and put back.
    servers[1]->set_default_rule({behaviour::answer});
    std::this_thread::sleep_for(1600ms);
    const std::vector<std::string> second(list.begin() + 40, list.end());
    io.restart();
    results = fanout::test::run_bounded(io, fanout::gather(second, lookup, {.limit = 1}), 30s);
    for (const auto& r : results) CHECK(r.ok());
    const auto by = answered_by(results);
    CHECK(by.at(servers[1]->server()) == 30);
    CHECK(by.at(servers[0]->server()) == 30);
}

TEST_CASE("a per-server rate holds each server's tries to it") {
    auto servers = responders(2, 200);
    dns::resolver_options options;
    options.servers = {server_of(*servers[0]), server_of(*servers[1])};
    options.tries = 1;
    options.timeout = 5s;
    options.pool.per_server_rate = 200;  // a burst of 10, then one each 5 ms
    const auto started = std::chrono::steady_clock::now();
    const auto results = look_up(options, names(200), 200);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    for (const auto& r : results) CHECK(r.ok());
    // 100 tries a server: 10 at once, 90 at 200/s take 450 ms at least.
    CHECK(took.count() >= 0.45);
    for (const auto& r : servers) {
        INFO(r->server() << " " << r->queries() << " in " << took.count() << " s");
        CHECK(r->queries() >= 80);
        CHECK(r->queries() <= 120);
        // Past its burst a server gets no more than its rate.
        CHECK(static_cast<double>(r->queries() - 10) / took.count() <= 200 * 1.05);
    }
}
