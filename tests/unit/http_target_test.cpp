#include "http/target.hpp"

#include "http/url_text.hpp"

#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <utility>

namespace detail = fanout::http::detail;

TEST_CASE("a URL's port is read from its digits: past 65535 or 0 is refused, naming the port") {
    const std::pair<const char*, const char*> cases[] = {
        {"http://127.0.0.1:99999/", "port 99999 is out of range"},
        {"http://127.0.0.1:124251/", "port 124251 is out of range"},
        {"http://127.0.0.1:65536/", "port 65536 is out of range"},
        {"https://127.0.0.1:0/", "port 0 is out of range"},
        {"http://127.0.0.1:000/", "port 000 is out of range"},
        {"http://127.0.0.1:18446744073709551617/", "port 18446744073709551617 is out of range"},
        {"http://127.0.0.1:/", "no port after ':'"},
    };
    for (const auto& [url, why] : cases) {
        const auto t = detail::parse_target(url);
        INFO(url);
        REQUIRE_FALSE(t);
        CHECK(t.error().code == fanout::http::errc::invalid_url);
        CHECK(t.error().text().find(why) != std::string::npos);
    }
    const auto highest = detail::parse_target("http://127.0.0.1:65535/");
    REQUIRE(highest);
    CHECK(highest->port == 65535);
    const auto padded = detail::parse_target("http://127.0.0.1:08080/");
    REQUIRE(padded);
    CHECK(padded->port == 8080);
}

TEST_CASE("a URL that cannot be sent says what is wrong and at which column") {
    const std::pair<const char*, const char*> cases[] = {
        {"http://example.test/a b", "a space at column 22"},
        {"http://ex\xc3\xa4mple.test/", "a non-ASCII byte (0xc3) at column 10"},
        {"http://example.test/#top", "a fragment ('#') at column 21"},
        {"\"http://example.test/\"", "a double quote at column 1"},
        {"'http://example.test/'", "single quote"},
        {"http://example.test/\t", "a control character (0x09) at column 21"},
        {"example.test/path", "not an absolute URL"},
        {"ftp://example.test/", "the scheme 'ftp' is not http or https"},
        {"http://user:pw@example.test/", "user information"},
        {"http://2130706433/", "the host '2130706433' is a number but not a dotted IPv4 address"},
        {"http://127.1/", "the host '127.1' is a number"},
        {"http://0x7f.1/", "the host '0x7f.1' is a number"},
    };
    for (const auto& [url, why] : cases) {
        const auto t = detail::parse_target(url);
        INFO(url);
        REQUIRE_FALSE(t);
        CHECK(t.error().text().find(why) != std::string::npos);
        CHECK(t.error().text().find("leftover") == std::string::npos);
        CHECK(t.error().text().find("mismatch") == std::string::npos);
    }
}

TEST_CASE("a host with a numeric label is still a name when it is not all numbers") {
    for (const char* url : {"http://1.example.test/", "http://0xcafe.test/", "http://123abc/"}) {
        INFO(url);
        CHECK(detail::parse_target(url));
    }
}

TEST_CASE("the scheme is read in any case") {
    const auto upper = detail::parse_target("HTTP://127.0.0.1:8080/x");
    REQUIRE(upper);
    CHECK_FALSE(upper->tls);
    CHECK(upper->origin == "http://127.0.0.1:8080");
    const auto mixed = detail::parse_target("HttpS://example.test/");
    REQUIRE(mixed);
    CHECK(mixed->tls);
    CHECK(mixed->port == 443);
}

TEST_CASE("a redirect Location is resolved without its fragment") {
    const auto next = detail::resolve_location("http://example.test/a", "/b?c=d#part");
    REQUIRE(next);
    CHECK(*next == "http://example.test/b?c=d");
    CHECK(detail::parse_target(*next));
}
