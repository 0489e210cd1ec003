#include <fanout/http/error.hpp>

#include "enumerators.hpp"
#include "error_code_checks.hpp"

#include <fanout/dns/error.hpp>
#include <fanout/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <string_view>

namespace http = fanout::http;
using fanout::test::enumerators;

namespace {

// The codes the header calls permanent.
const std::set<std::string_view> permanent_codes{"invalid_url",
                                                 "invalid_request",
                                                 "certificate_expired",
                                                 "certificate_not_yet_valid",
                                                 "certificate_name_mismatch",
                                                 "certificate_untrusted",
                                                 "certificate_self_signed",
                                                 "body_too_large",
                                                 "too_many_redirects",
                                                 "redirect_loop",
                                                 "header_list_too_large",
                                                 "http2_not_negotiated"};

}  // namespace

TEST_CASE("http::errc numbers its codes from 1 without gaps") {
    fanout::test::check_numbered_from_one<http::errc>();
}

TEST_CASE("every http error has its own message, in the http category") {
    fanout::test::check_messages<http::errc>(http::category(), "http");
}

TEST_CASE("the kinds of http errors are their enumerator names, bad_status's is http_status") {
    for (const auto& code : enumerators<http::errc>()) {
        INFO(code.name);
        const std::string expected =
            code.value == http::errc::bad_status ? "http_status" : std::string(code.name);
        CHECK(fanout::error_kind(code.value) == expected);
    }
}

TEST_CASE("the permanent http errors are the ones the header names") {
    for (const auto& code : enumerators<http::errc>()) {
        INFO(code.name);
        CHECK(fanout::is_permanent(code.value) == permanent_codes.contains(code.name));
    }
}

TEST_CASE("is_certificate_error holds for the certificate_ codes only") {
    for (const auto& code : enumerators<http::errc>()) {
        INFO(code.name);
        CHECK(http::is_certificate_error(code.value) == code.name.starts_with("certificate_"));
    }
    // The same number in another category is another error.
    const boost::system::error_code dns_code(static_cast<int>(http::errc::certificate_expired),
                                             fanout::dns::category());
    CHECK_FALSE(http::is_certificate_error(dns_code));
}

TEST_CASE("an http error equals no code of the same number in another category") {
    const boost::system::error_code ec = http::errc::malformed_response;
    CHECK(ec != boost::system::error_code(ec.value(), fanout::category()));
    CHECK(ec != boost::system::error_code(ec.value(), fanout::dns::category()));
    CHECK(ec != boost::system::error_code(ec.value(), boost::system::generic_category()));
    CHECK(ec != http::errc::connection_closed);
}

TEST_CASE("an http code outside the enumeration still has a message and a kind") {
    const boost::system::error_code odd(99, http::category());
    CHECK(odd.message().find("99") != std::string::npos);
    CHECK(std::string(fanout::error_kind(odd)) == "http_error");
    CHECK_FALSE(fanout::is_permanent(odd));
}
