#include <fanout/dns/resolver.hpp>

#include "dns_responder.hpp"
#include "test_loop.hpp"

#include <fanout/dns/wildcard.hpp>
#include <fanout/gather.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace dns = fanout::dns;
using namespace std::chrono_literals;
using fanout::test::dns_responder;
using fanout::test::dns_rule;
using behaviour = fanout::test::dns_behaviour;

namespace {

dns::resolver_options options_for(const dns_responder& responder,
                                  std::chrono::milliseconds timeout = 2000ms, unsigned tries = 1) {
    dns::resolver_options options;
    options.servers = {dns::parse_server(responder.server()).value()};
    options.timeout = timeout;
    options.tries = tries;
    return options;
}

// Runs one query on a fresh loop and returns its result.
fanout::result<dns::answer> query_once(const dns_responder& responder, const std::string& name,
                                       dns::record_type type,
                                       std::chrono::milliseconds timeout = 2000ms,
                                       unsigned tries = 1) {
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder, timeout, tries));
    auto out = fanout::test::run_bounded(io, resolver.query(name, type));
    CHECK(resolver.pending() == 0);
    return out;
}

// The A records of every name, all asked at once, in the names' order.
auto look_up_all(net::io_context& io, dns::resolver& resolver,
                 const std::vector<std::string>& names) {
    auto lookup = [&](const std::string& name) {
        return resolver.query(name, dns::record_type::a);
    };
    return fanout::test::run_bounded(io, fanout::gather(names, lookup, {.limit = names.size()}));
}

std::string addresses_text(const std::vector<dns::address>& addresses) {
    std::string out;
    for (const auto& a : addresses) out += a.ip.to_string() + "/" + std::to_string(a.ttl) + " ";
    return out;
}

}  // namespace

TEST_CASE("an A query returns the addresses with their TTLs") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1", 300));
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.2", 300));

    auto got = query_once(responder, "www.example.test", dns::record_type::a);
    REQUIRE(got);
    REQUIRE(got->records.size() == 2);
    CHECK(got->records[0].name == "www.example.test");
    CHECK(got->records[0].type == dns::record_type::a);
    CHECK(got->records[0].ttl == 300);
    CHECK(got->records[0].text() == "192.0.2.1");
    CHECK(got->records[1].text() == "192.0.2.2");
}

TEST_CASE("every record type fanout names is decoded") {
    dns_responder responder;
    using namespace fanout::test;
    responder.add(dns_aaaa("v6.example.test", "2001:db8::1", 60));
    responder.add(dns_mx("example.test", 10, "mail.example.test", 61));
    responder.add(dns_ns("example.test", "ns1.example.test", 62));
    responder.add(dns_txt("example.test", {"v=spf1 -all", "say \"hi\""}, 63));
    responder.add(dns_ptr("1.2.0.192.in-addr.arpa", "www.example.test", 64));
    responder.add(dns_soa("example.test", "ns1.example.test", "admin.example.test", 2026112201,
                          7200, 900, 1209600, 300, 65));
    responder.add(dns_cname("alias.example.test", "www.example.test", 66));

    struct expected {
        std::string name;
        dns::record_type type;
        std::string text;
        std::uint32_t ttl;
    };
    const std::vector<expected> cases{
        {"v6.example.test", dns::record_type::aaaa, "2001:db8::1", 60},
        {"example.test", dns::record_type::mx, "10 mail.example.test", 61},
        {"example.test", dns::record_type::ns, "ns1.example.test", 62},
        {"example.test", dns::record_type::txt, R"("v=spf1 -all" "say \"hi\"")", 63},
        {"1.2.0.192.in-addr.arpa", dns::record_type::ptr, "www.example.test", 64},
        {"example.test", dns::record_type::soa,
         "ns1.example.test admin.example.test 2026112201 7200 900 1209600 300", 65},
        {"alias.example.test", dns::record_type::cname, "www.example.test", 66},
    };
    for (const auto& c : cases) {
        INFO(c.name << " " << dns::to_string(c.type));
        auto got = query_once(responder, c.name, c.type);
        REQUIRE(got);
        REQUIRE(got->records.size() == 1);
        CHECK(got->records[0].type == c.type);
        CHECK(got->records[0].text() == c.text);
        CHECK(got->records[0].ttl == c.ttl);
    }
    auto mx = query_once(responder, "example.test", dns::record_type::mx);
    REQUIRE(mx);
    CHECK(std::get<dns::mx_data>(mx->records[0].data) == dns::mx_data{10, "mail.example.test"});
}

TEST_CASE("the CNAME that led to an answer comes before its records") {
    dns_responder responder;
    responder.add(fanout::test::dns_cname("alias.example.test", "www.example.test"));
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.7"));

    auto got = query_once(responder, "alias.example.test", dns::record_type::a);
    REQUIRE(got);
    REQUIRE(got->records.size() == 2);
    CHECK(got->records[0].type == dns::record_type::cname);
    CHECK(got->records[0].text() == "www.example.test");
    CHECK(got->records[1].type == dns::record_type::a);
    CHECK(got->records[1].text() == "192.0.2.7");
}

TEST_CASE("error answers are failures that name the query and keep the response code") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1"));
    responder.set_rule("broken.example.test", {behaviour::servfail});
    responder.set_rule("closed.example.test", {behaviour::refused});

    struct expected {
        std::string name;
        dns::record_type type;
        dns::errc code;
        dns::rcode rcode;
        const char* kind;
    };
    const std::vector<expected> cases{
        {"missing.example.test", dns::record_type::a, dns::errc::nxdomain, dns::rcode::nxdomain,
         "nxdomain"},
        {"broken.example.test", dns::record_type::a, dns::errc::servfail, dns::rcode::servfail,
         "servfail"},
        {"closed.example.test", dns::record_type::a, dns::errc::refused, dns::rcode::refused,
         "refused"},
        {"www.example.test", dns::record_type::mx, dns::errc::no_data, dns::rcode::noerror,
         "no_data"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        auto got = query_once(responder, c.name, c.type);
        REQUIRE_FALSE(got);
        CHECK(got.error().code == c.code);
        CHECK(dns::rcode_of(got.error().code) == c.rcode);
        CHECK(std::string(got.error().kind()) == c.kind);
        CHECK(got.error().text().find(c.name + " " + dns::to_string(c.type)) == 0);
    }
    // A server failure ends the lookup: it is not asked again.
    CHECK(responder.queries_for("broken.example.test") == 1);
}

TEST_CASE("a truncated answer is asked again over TCP") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("big.example.test", "192.0.2.9"));
    responder.set_rule("big.example.test", {behaviour::truncate});

    auto got = query_once(responder, "big.example.test", dns::record_type::a);
    REQUIRE(got);
    CHECK(got->records.at(0).text() == "192.0.2.9");
    CHECK(responder.tcp_queries() == 1);
}

TEST_CASE("TCP only asks every query over TCP") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1"));
    net::io_context io;
    auto options = options_for(responder);
    options.tcp_only = true;
    dns::resolver resolver(io.get_executor(), options);
    auto got =
        fanout::test::run_bounded(io, resolver.query("www.example.test", dns::record_type::a));
    REQUIRE(got);
    CHECK(responder.tcp_queries() == 1);
}

TEST_CASE("an unanswered lookup times out after its tries, the second twice as long, and says so") {
    dns_responder responder;
    responder.set_rule("silent.example.test", {behaviour::drop});

    const auto started = std::chrono::steady_clock::now();
    auto got = query_once(responder, "silent.example.test", dns::record_type::a, 100ms, 2);
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(got);
    CHECK(got.error().code == fanout::errc::timeout);
    CHECK(std::string(got.error().kind()) == "timeout");
    CHECK(got.error().text().find("silent.example.test A") == 0);
    CHECK(got.error().text().find("2 tries per server: 100ms for the first round, twice as long "
                                  "for each later one") != std::string::npos);
    CHECK(responder.queries_for("silent.example.test") == 2);
    // 100 ms, then 200 ms: what the README's "which timeout wins" says.
    CHECK(took >= 300ms);
}

TEST_CASE("answers with a wrong id or garbage are ignored and the lookup times out") {
    dns_responder responder;
    responder.set_rule("liar.example.test", {behaviour::wrong_id});
    responder.set_rule("noise.example.test", {behaviour::garbage});

    for (const std::string name : {"liar.example.test", "noise.example.test"}) {
        INFO(name);
        auto got = query_once(responder, name, dns::record_type::a, 100ms, 1);
        REQUIRE_FALSE(got);
        CHECK(got.error().code == fanout::errc::timeout);
    }
}

TEST_CASE("an invalid name fails as bad_name without a query") {
    dns_responder responder;
    const std::string long_label(64, 'x');
    for (const std::string& name :
         std::vector<std::string>{"has space.test", "a..b", long_label + ".test", ""}) {
        INFO("'" << name << "'");
        auto got = query_once(responder, name, dns::record_type::a);
        REQUIRE_FALSE(got);
        CHECK(got.error().code == dns::errc::bad_name);
    }
    CHECK(responder.queries() == 0);
}

TEST_CASE("a cancelled lookup completes at once while the others go on") {
    dns_responder responder;
    responder.set_rule("silent.example.test", {behaviour::drop});
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1"));
    responder.set_rule("www.example.test", {behaviour::delay, 50ms});

    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder, 30s, 1));
    net::cancellation_signal cancel;
    std::optional<fanout::result<dns::answer>> cancelled, answered;
    std::size_t pending_after_cancel = 0;
    net::co_spawn(io, resolver.query("silent.example.test", dns::record_type::a),
                  net::bind_cancellation_slot(
                      cancel.slot(), [&](std::exception_ptr, fanout::result<dns::answer> r) {
                          cancelled = std::move(r);
                          pending_after_cancel = resolver.pending();
                      }));
    net::co_spawn(
        io, resolver.query("www.example.test", dns::record_type::a),
        [&](std::exception_ptr, fanout::result<dns::answer> r) { answered = std::move(r); });
    net::co_spawn(io, fanout::test::cancel_after(cancel, 10ms), net::detached);
    io.run_for(10s);  // far less than the 30 s timeout: returns when all is done

    REQUIRE(cancelled);
    REQUIRE_FALSE(*cancelled);
    CHECK(cancelled->error().code == net::error::operation_aborted);
    CHECK(pending_after_cancel == 1);  // the cancelled query has left; the other goes on
    REQUIRE(answered);
    REQUIRE(*answered);
    CHECK(answered->value().records.at(0).text() == "192.0.2.1");
    CHECK(resolver.pending() == 0);
}

TEST_CASE("timed-out and cancelled lookups leave the channel idle") {
    dns_responder responder;
    responder.set_rule("silent.example.test", {behaviour::drop});
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder, 30s, 1));
    std::vector<int> items(200);
    auto lookup = [&](int) { return resolver.query("silent.example.test", dns::record_type::a); };
    auto results = fanout::test::run_bounded(
        io, fanout::gather(items, lookup, {.limit = 50, .per_attempt_timeout = 20ms}));
    REQUIRE(results.size() == 200);
    for (const auto& r : results) CHECK(r.error().code == fanout::errc::timeout);
    CHECK(resolver.pending() == 0);
    CHECK(responder.queries_for("silent.example.test") == 200);
}

TEST_CASE("many answers arriving at once all complete") {
    // UDP: as many as a default socket receive buffer (net.core.rmem_max,
    // 208 KiB) holds for certain; more would be dropped by the kernel.
    for (const bool tcp : {false, true}) {
        const std::size_t count = tcp ? 1000 : 150;
        INFO((tcp ? "TCP" : "UDP"));
        dns_responder responder;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < count; ++i) {
            names.push_back("host" + std::to_string(i) + ".example.test");
            responder.add(fanout::test::dns_a(
                names.back(), "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
        }
        responder.hold_answers_until(count);
        net::io_context io;
        auto options = options_for(responder, 10s, 1);
        options.tcp_only = tcp;
        dns::resolver resolver(io.get_executor(), options);
        auto lookup = [&](const std::string& name) {
            return resolver.query(name, dns::record_type::a);
        };
        auto results =
            fanout::test::run_bounded(io, fanout::gather(names, lookup, {.limit = count}));
        std::size_t right = 0;
        for (std::size_t i = 0; i < count; ++i) {
            if (results[i].ok() &&
                results[i].value().records.at(0).text() ==
                    "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256))
                ++right;
        }
        CHECK(right == count);
        CHECK(resolver.pending() == 0);
    }
}

TEST_CASE("destroying the resolver ends its pending lookups") {
    dns_responder responder;
    responder.set_rule("silent.example.test", {behaviour::drop});
    net::io_context io;
    auto resolver = std::make_unique<dns::resolver>(io.get_executor(), options_for(responder, 30s));
    std::optional<fanout::result<dns::answer>> got;
    net::co_spawn(io, resolver->query("silent.example.test", dns::record_type::a),
                  [&](std::exception_ptr, fanout::result<dns::answer> r) { got = std::move(r); });
    auto destroy = [&]() -> net::awaitable<void> {
        co_await fanout::test::sleep_for(20ms);
        resolver.reset();
    };
    net::co_spawn(io, destroy(), net::detached);
    io.run_for(10s);
    REQUIRE(got);
    REQUIRE_FALSE(*got);
    CHECK(got->error().code == net::error::operation_aborted);
}

TEST_CASE("resolve returns the A and AAAA addresses together") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("dual.example.test", "192.0.2.1", 100));
    responder.add(fanout::test::dns_aaaa("dual.example.test", "2001:db8::1", 200));
    responder.add(fanout::test::dns_a("v4only.example.test", "192.0.2.4", 100));
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder));

    auto dual = fanout::test::run_bounded(io, resolver.resolve("dual.example.test"));
    REQUIRE(dual);
    CHECK(addresses_text(*dual) == "192.0.2.1/100 2001:db8::1/200 ");
    io.restart();
    auto v4only = fanout::test::run_bounded(io, resolver.resolve("v4only.example.test."));
    REQUIRE(v4only);
    CHECK(addresses_text(*v4only) == "192.0.2.4/100 ");
    io.restart();
    auto missing = fanout::test::run_bounded(io, resolver.resolve("missing.example.test"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == dns::errc::nxdomain);
    CHECK(missing.error().text().find("missing.example.test") == 0);
}

TEST_CASE("resolve takes IP literals and localhost as they are, without a query") {
    dns_responder responder;
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder));
    auto v4 = fanout::test::run_bounded(io, resolver.resolve("127.0.0.1"));
    io.restart();
    auto v6 = fanout::test::run_bounded(io, resolver.resolve("::1"));
    io.restart();
    auto local = fanout::test::run_bounded(io, resolver.resolve("LocalHost"));
    REQUIRE(v4);
    CHECK(addresses_text(*v4) == "127.0.0.1/0 ");
    REQUIRE(v6);
    CHECK(addresses_text(*v6) == "::1/0 ");
    REQUIRE(local);
    CHECK(addresses_text(*local) == "127.0.0.1/0 ::1/0 ");
    CHECK(responder.queries() == 0);
}

TEST_CASE("the cache answers again until the TTL runs out, and joins lookups of one name") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("cached.example.test", "192.0.2.1", 1));
    responder.add(fanout::test::dns_a("shared.example.test", "192.0.2.2", 300));
    responder.set_rule("shared.example.test", {behaviour::delay, 30ms});
    net::io_context io;
    auto options = options_for(responder);
    options.cache_capacity = 16;
    dns::resolver resolver(io.get_executor(), options);

    auto first = fanout::test::run_bounded(io, resolver.resolve("cached.example.test"));
    io.restart();
    auto second = fanout::test::run_bounded(io, resolver.resolve("CACHED.example.test"));
    REQUIRE(first);
    REQUIRE(second);
    CHECK(responder.queries_for("cached.example.test") == 2);  // A and AAAA, once
    CHECK(resolver.cached() == 1);

    // After the TTL (1 s) the name is asked again.
    io.restart();
    auto after_ttl = [&]() -> net::awaitable<fanout::result<std::vector<dns::address>>> {
        co_await fanout::test::sleep_for(1100ms);
        co_return co_await resolver.resolve("cached.example.test");
    };
    auto third = fanout::test::run_bounded(io, after_ttl());
    REQUIRE(third);
    CHECK(responder.queries_for("cached.example.test") == 4);

    // Ten lookups of one name at once make one A and one AAAA query.
    io.restart();
    std::vector<int> ten(10);
    auto results = fanout::test::run_bounded(
        io, fanout::gather(ten, [&](int) { return resolver.resolve("shared.example.test"); },
                           {.limit = 10}));
    for (const auto& r : results) {
        REQUIRE(r.ok());
        CHECK(addresses_text(r.value()) == "192.0.2.2/300 ");
    }
    CHECK(responder.queries_for("shared.example.test") == 2);
}

TEST_CASE("servers parse with and without ports") {
    CHECK(dns::parse_server("127.0.0.1").value() == dns::server{"127.0.0.1", 53});
    CHECK(dns::parse_server("127.0.0.1:5353").value() == dns::server{"127.0.0.1", 5353});
    CHECK(dns::parse_server("::1").value() == dns::server{"::1", 53});
    CHECK(dns::parse_server("[::1]:5353").value() == dns::server{"::1", 5353});
    CHECK(dns::to_string(dns::server{"::1", 5353}) == "[::1]:5353");
    for (const char* bad : {"", "example.com", "127.0.0.1:", "127.0.0.1:70000", "[::1", "[::1]x"}) {
        INFO(bad);
        auto parsed = dns::parse_server(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == fanout::errc::invalid_input);
        CHECK(parsed.error().text().find(std::string("'") + bad + "'") != std::string::npos);
    }
}

namespace {

// The forms of the README's g++ 12 notes, written as a user would inside a
// coroutine: no options beside a co_await, and braced options beside a
// named executor.
net::awaitable<std::size_t> resolve_with_natural_forms(dns::server addr) {
    dns::resolver plain(co_await net::this_coro::executor);
    auto ex = co_await net::this_coro::executor;
    dns::resolver r(ex, {.servers = {addr}, .timeout = 200ms});
    auto got = co_await r.query("www.example.test", dns::record_type::a);
    co_return got ? got->records.size() : 0;
}

}  // namespace

TEST_CASE("a resolver made in a coroutine in the forms g++ 12 handles works") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1", 300));
    net::io_context io;
    const auto addr = dns::parse_server(responder.server()).value();
    CHECK(fanout::test::run_bounded(io, resolve_with_natural_forms(addr)) == 1);
}

TEST_CASE("a wildcard detector asks one random name per zone and type, and marks equal answers") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("*.wild.example.test", "192.0.2.99"));
    responder.add(fanout::test::dns_a("real.wild.example.test", "192.0.2.1"));
    responder.add(fanout::test::dns_a("www.tame.example.test", "192.0.2.2"));
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder));
    dns::wildcard_detector detect(resolver);
    auto check = [&](std::string name) -> net::awaitable<std::pair<bool, bool>> {
        auto got = co_await resolver.query(name, dns::record_type::a);
        if (!got) co_return std::pair{false, false};
        co_return std::pair{true, co_await detect.is_wildcard(name, dns::record_type::a, *got)};
    };
    auto all =
        fanout::test::run_bounded(io, [&]() -> net::awaitable<std::vector<std::pair<bool, bool>>> {
            std::vector<std::pair<bool, bool>> out;
            for (const char* name : {"anything.wild.example.test", "real.wild.example.test",
                                     "other.wild.example.test", "www.tame.example.test"})
                out.push_back(co_await check(name));
            co_return out;
        }());
    CHECK(all == std::vector<std::pair<bool, bool>>{
                     {true, true}, {true, false}, {true, true}, {true, false}});
    CHECK(detect.probes() == 2);  // wild.example.test and tame.example.test, once each
    CHECK(responder.queries() == 4 + 2);
}

TEST_CASE("query copies its name at once: the awaitable outlives the caller's string") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1"));
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder));
    auto name = std::make_unique<std::string>("www.example.test.");
    auto lookup = resolver.query(*name, dns::record_type::a);
    name->assign("xxx.example.test.");  // overwritten, then gone, before the lookup starts
    name.reset();
    auto got = fanout::test::run_bounded(io, std::move(lookup));
    REQUIRE(got);
    CHECK(got->records.at(0).text() == "192.0.2.1");
    CHECK(responder.queries_for("www.example.test") == 1);
}

TEST_CASE("async_query calls its handler once, from the loop, and a cancellation slot cancels it") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1"));
    responder.set_rule("silent.example.test", {behaviour::drop});
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder, 30s, 1));
    int answered_calls = 0;
    int cancelled_calls = 0;
    std::optional<fanout::result<dns::answer>> answered, cancelled;
    net::cancellation_signal cancel;
    std::size_t pending_at_start = 0;
    int calls_inside = -1;
    // Started from the loop, as the resolver asks.
    net::post(io, [&] {
        resolver.async_query("www.example.test.", dns::record_type::a,
                             [&](fanout::result<dns::answer> r) {
                                 ++answered_calls;
                                 answered = std::move(r);
                             });
        resolver.async_query(
            "silent.example.test", dns::record_type::a,
            net::bind_cancellation_slot(cancel.slot(), [&](fanout::result<dns::answer> r) {
                ++cancelled_calls;
                cancelled = std::move(r);
            }));
        calls_inside = answered_calls + cancelled_calls;
        pending_at_start = resolver.pending();
    });
    net::co_spawn(io, fanout::test::cancel_after(cancel, 20ms), net::detached);
    io.run_for(10s);  // far less than the 30 s timeout: returns when all is done

    CHECK(calls_inside == 0);  // never inside the call
    CHECK(pending_at_start == 2);
    CHECK(answered_calls == 1);
    REQUIRE(answered);
    REQUIRE(*answered);
    CHECK(answered->value().records.at(0).text() == "192.0.2.1");
    CHECK(cancelled_calls == 1);
    REQUIRE(cancelled);
    REQUIRE_FALSE(*cancelled);
    CHECK(cancelled->error().code == net::error::operation_aborted);
    CHECK(resolver.pending() == 0);
}

TEST_CASE("answers read into records given back by recycle() hold only their own records") {
    dns_responder responder;
    using namespace fanout::test;
    responder.add(dns_cname("alias.example.test", "a-rather-long-target.example.test"));
    responder.add(dns_a("a-rather-long-target.example.test", "192.0.2.7", 70));
    responder.add(dns_a("a-rather-long-target.example.test", "192.0.2.8", 70));
    responder.add(dns_a("www.example.test", "192.0.2.1", 300));
    responder.add(dns_ns("example.test", "ns1.example.test", 62));
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder));
    const auto texts = [](const dns::answer& a) {
        std::string out;
        for (const auto& rr : a.records)
            out += rr.name + " " + dns::to_string(rr.type) + " " + rr.text() + " " +
                   std::to_string(rr.ttl) + ";";
        return out;
    };
    fanout::test::run_bounded(io, [&]() -> net::awaitable<void> {
        auto first = co_await resolver.query("alias.example.test", dns::record_type::a);
        REQUIRE(first);
        CHECK(texts(*first) ==
              "alias.example.test CNAME a-rather-long-target.example.test 300;"
              "a-rather-long-target.example.test A 192.0.2.7 70;"
              "a-rather-long-target.example.test A 192.0.2.8 70;");
        resolver.recycle(std::move(*first));
        // Fewer records than the reused answer held, and another type where
        // a name stood.
        auto second = co_await resolver.query("www.example.test", dns::record_type::a);
        REQUIRE(second);
        CHECK(texts(*second) == "www.example.test A 192.0.2.1 300;");
        resolver.recycle(std::move(*second));
        auto third = co_await resolver.query("example.test", dns::record_type::ns);
        REQUIRE(third);
        CHECK(texts(*third) == "example.test NS ns1.example.test 62;");
        resolver.recycle(std::move(*third));
        auto again = co_await resolver.query("alias.example.test", dns::record_type::a);
        REQUIRE(again);
        CHECK(again->records.size() == 3);
        CHECK(again->records.at(0).text() == "a-rather-long-target.example.test");
        CHECK(again->records.at(2).text() == "192.0.2.8");
    }());
    CHECK(resolver.pending() == 0);
}

TEST_CASE("a cancellation slot that served a lookup cancels the next, and is harmless after") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("www.example.test", "192.0.2.1"));
    responder.set_rule("silent.example.test", {behaviour::drop});
    net::io_context io;
    net::cancellation_signal cancel;
    std::vector<std::string> seen;
    {
        dns::resolver resolver(io.get_executor(), options_for(responder, 30s, 1));
        const auto record = [&](fanout::result<dns::answer> r) {
            seen.push_back(r ? r->records.at(0).text() : r.error().code.message());
        };
        net::post(io, [&] {
            resolver.async_query("www.example.test", dns::record_type::a,
                                 net::bind_cancellation_slot(cancel.slot(), record));
        });
        io.run_for(10s);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0] == "192.0.2.1");
        // The lookup is over: emitting reaches nothing of it.
        cancel.emit(net::cancellation_type::terminal);
        io.restart();
        net::post(io, [&] {
            resolver.async_query("silent.example.test", dns::record_type::a,
                                 net::bind_cancellation_slot(cancel.slot(), record));
        });
        net::co_spawn(io, fanout::test::cancel_after(cancel, 20ms), net::detached);
        io.run_for(10s);  // far less than the 30 s timeout
        REQUIRE(seen.size() == 2);
        CHECK(seen[1] == boost::system::error_code(net::error::operation_aborted).message());
        CHECK(resolver.pending() == 0);
    }
    // The resolver is gone; what its lookups left in the slot points at
    // nothing of it.
    cancel.emit(net::cancellation_type::terminal);
    CHECK(seen.size() == 2);
}

TEST_CASE("queries of one size leave in segmented sends and each is answered as its own") {
    // Names of several lengths, interleaved: a batch is ordered by size, a
    // segmented send carries queries of one size (its last may be
    // shorter), and the server still gets, and answers, each on its own.
    dns_responder responder;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < 240; ++i) {
        const std::string zone = i % 3 == 0   ? ".example.test"
                                 : i % 3 == 1 ? ".b.example.test"
                                              : ".test";
        names.push_back("n" + std::to_string(i) + zone);
        responder.add(fanout::test::dns_a(
            names.back(), "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
    }
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder, 10s, 1));
    auto results = look_up_all(io, resolver, names);
    std::size_t right = 0;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (results[i].ok() && results[i].value().records.size() == 1 &&
            results[i].value().records[0].name == names[i] &&
            results[i].value().records[0].text() ==
                "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256))
            ++right;
    CHECK(right == names.size());
    CHECK(responder.queries() == names.size());  // each once
    // Most of them came in segmented sends (one per loop turn and size at least).
    CHECK(responder.segmented_queries() >= names.size() / 2);
    CHECK(resolver.pending() == 0);
}

TEST_CASE("a socket that refuses segmented sends gets its queries one datagram each") {
    // SO_NO_CHECK (no UDP checksums) makes Linux refuse a segmented send
    // with EINVAL, as a system without UDP GSO refuses it: the transport
    // sends the same queries again, one datagram each, and from then on.
    dns_responder responder;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < 120; ++i) {
        names.push_back("m" + std::to_string(100 + i) + ".example.test");
        responder.add(fanout::test::dns_a(names.back(), "10.2.0." + std::to_string(i)));
    }
    responder.add(fanout::test::dns_a("first.example.test", "10.2.1.1"));
    net::io_context io;
    dns::resolver resolver(io.get_executor(), options_for(responder, 10s, 1));
    // One lookup makes the transport's socket, connected to the responder.
    REQUIRE(fanout::test::run_bounded(io, resolver.query("first.example.test", dns::record_type::a))
                .has_value());
    std::size_t marked = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        const int fd = std::stoi(entry.path().filename().string());
        sockaddr_in peer{};
        socklen_t length = sizeof(peer);
        int type = 0;
        socklen_t type_length = sizeof(type);
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_DGRAM)
            continue;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
            peer.sin_family != AF_INET || ntohs(peer.sin_port) != responder.port())
            continue;
        const int on = 1;
        if (::setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &on, sizeof(on)) == 0) ++marked;
    }
    REQUIRE(marked == 1);
    io.restart();
    auto results = look_up_all(io, resolver, names);
    std::size_t right = 0;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (results[i].ok() && results[i].value().records.size() == 1 &&
            results[i].value().records[0].text() == "10.2.0." + std::to_string(i))
            ++right;
    CHECK(right == names.size());
    CHECK(responder.queries() == names.size() + 1);
    CHECK(responder.segmented_queries() == 0);
}
