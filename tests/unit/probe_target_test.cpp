#include <fanout/probe/target.hpp>

#include <fanout/probe/error.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace probe = fanout::probe;
namespace dns = fanout::dns;

TEST_CASE("http and https targets keep their URL, host and port") {
    const auto plain = probe::parse_target("http://example.test/health?x=1");
    REQUIRE(plain);
    CHECK(plain->kind == probe::target_kind::http);
    CHECK(plain->url == "http://example.test/health?x=1");
    CHECK(plain->host == "example.test");
    CHECK(plain->port == 80);
    CHECK(!plain->tls);
    const auto secure = probe::parse_target("https://[::1]:8443/");
    REQUIRE(secure);
    CHECK(secure->tls);
    CHECK(secure->host == "::1");
    CHECK(secure->port == 8443);
    CHECK(probe::host_key(*secure) == "[::1]:8443");
}

TEST_CASE("a tcp target is a host and a port") {
    const auto t = probe::parse_target("tcp://127.0.0.1:5432");
    REQUIRE(t);
    CHECK(t->kind == probe::target_kind::tcp);
    CHECK(t->host == "127.0.0.1");
    CHECK(t->port == 5432);
    CHECK(probe::host_key(*t) == "127.0.0.1:5432");
}

TEST_CASE("a dns target names a name, and optionally a type and a server") {
    const auto simple = probe::parse_target("dns://www.example.test");
    REQUIRE(simple);
    CHECK(simple->kind == probe::target_kind::dns);
    CHECK(simple->host == "www.example.test");
    CHECK(simple->type == dns::record_type::a);
    CHECK(!simple->server);
    CHECK(probe::host_key(*simple) == "dns");
    const auto full = probe::parse_target("dns://example.test?type=mx&server=127.0.0.1:5353");
    REQUIRE(full);
    CHECK(full->type == dns::record_type::mx);
    REQUIRE(full->server);
    CHECK(full->server->port == 5353);
    CHECK(probe::host_key(*full) == "127.0.0.1:5353");
}

TEST_CASE("a line that is no target says what is wrong with it") {
    const std::pair<const char*, const char*> cases[] = {
        {"not a target", "not an absolute URL"},
        {"ftp://example.test/", "unknown scheme 'ftp'"},
        {"tcp://example.test", "needs a port"},
        {"tcp://example.test:80/path", "only host:port"},
        {"http:///nohost", "no host"},
        {"http://example.test:0/", "port 0 is out of range"},
        {"tcp://127.0.0.1:99999", "port 99999 is out of range (1-65535)"},
        {"tcp://127.0.0.1:0", "port 0 is out of range"},
        {"http://127.0.0.1:124251/", "port 124251 is out of range"},
        {"https://127.0.0.1:65536/", "port 65536 is out of range"},
        {"dns://example.test?server=127.0.0.1:70000", "port '70000'"},
        {"dns://example.test?type=A&type=MX", "'type' is given twice"},
        {"dns://example.test?server=127.0.0.1&server=127.0.0.2", "'server' is given twice"},
        {"http://example.test/a b", "a space at column 22"},
        {"http://example.test/#top", "a fragment ('#') at column 21"},
        {"\"http://example.test/\"", "a double quote at column 1"},
        {"http://ex\xc3\xa4mple.test/", "a non-ASCII byte (0xc3) at column 10"},
        {"tcp://2130706433:80", "is a number but not a dotted IPv4 address"},
        {"dns://example.test?type=SRVX", "unknown record type 'SRVX'"},
        {"dns://example.test?server=nowhere", "nowhere"},
        {"dns://example.test?colour=blue", "unknown parameter 'colour'"},
        {"dns://example.test:53", "names no port"},
    };
    for (const auto& [text, why] : cases) {
        const auto t = probe::parse_target(text);
        INFO(text);
        REQUIRE(!t);
        CHECK(t.error().code == probe::errc::invalid_target);
        CHECK(t.error().kind() == std::string("invalid_target"));
        CHECK(t.error().text().find(text) != std::string::npos);
        CHECK(t.error().text().find(why) != std::string::npos);
    }
}

TEST_CASE("schemes are read in any case") {
    const auto upper = probe::parse_target("HTTP://127.0.0.1:8080/");
    REQUIRE(upper);
    CHECK(upper->kind == probe::target_kind::http);
    CHECK(upper->port == 8080);
    const auto secure = probe::parse_target("HTTPS://example.test/");
    REQUIRE(secure);
    CHECK(secure->tls);
    const auto tcp = probe::parse_target("TCP://127.0.0.1:22");
    REQUIRE(tcp);
    CHECK(tcp->kind == probe::target_kind::tcp);
    CHECK(tcp->port == 22);
}

TEST_CASE("every probe error has a message and a kind of its own") {
    using probe::errc;
    const std::pair<errc, const char*> cases[] = {
        {errc::invalid_target, "invalid_target"},
        {errc::unexpected_status, "unexpected_status"},
        {errc::body_mismatch, "body_mismatch"},
        {errc::too_slow, "too_slow"},
        {errc::certificate_expired, "certificate_expired"},
    };
    for (const auto& [code, kind] : cases) {
        const auto ec = make_error_code(code);
        CHECK(ec.category().name() == std::string("probe"));
        CHECK(fanout::error_kind(ec) == std::string(kind));
        CHECK(!ec.message().empty());
        CHECK(ec.message().find("unknown") == std::string::npos);
    }
    CHECK(std::string(probe::to_string(probe::target_kind::tcp)) == "tcp");
}
