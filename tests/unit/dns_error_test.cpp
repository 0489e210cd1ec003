#include <fanout/dns/error.hpp>

#include "enumerators.hpp"
#include "error_code_checks.hpp"

#include <fanout/error.hpp>
#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

namespace dns = fanout::dns;
using fanout::test::enumerators;

TEST_CASE("dns::errc numbers its codes from 1 without gaps") {
    fanout::test::check_numbered_from_one<dns::errc>();
}

TEST_CASE("every dns error has its own message, in the dns category") {
    fanout::test::check_messages<dns::errc>(dns::category(), "dns");
}

TEST_CASE("the kinds of dns errors are their enumerator names") {
    for (const auto& code : enumerators<dns::errc>()) {
        INFO(code.name);
        CHECK(fanout::error_kind(code.value) == code.name);
    }
}

TEST_CASE("the permanent dns errors are nxdomain, no_data and bad_name") {
    const std::set<std::string_view> permanent{"nxdomain", "no_data", "bad_name"};
    for (const auto& code : enumerators<dns::errc>()) {
        INFO(code.name);
        CHECK(fanout::is_permanent(code.value) == permanent.contains(code.name));
    }
}

TEST_CASE("a dns error equals no code of the same number in another category") {
    const boost::system::error_code ec = dns::errc::servfail;
    CHECK(ec != boost::system::error_code(ec.value(), fanout::category()));
    CHECK(ec != boost::system::error_code(ec.value(), fanout::http::category()));
    CHECK(ec != boost::system::error_code(ec.value(), boost::system::generic_category()));
    CHECK(ec != dns::errc::refused);
}

TEST_CASE("a dns code outside the enumeration still has a message and a kind") {
    const boost::system::error_code odd(99, dns::category());
    CHECK(odd.message().find("99") != std::string::npos);
    CHECK(std::string(fanout::error_kind(odd)) == "dns_error");
    CHECK_FALSE(fanout::is_permanent(odd));
}

TEST_CASE("every named response code has its name, others a number") {
    CHECK(dns::to_string(dns::rcode::noerror) == "NOERROR");
    CHECK(dns::to_string(dns::rcode::formerr) == "FORMERR");
    CHECK(dns::to_string(dns::rcode::servfail) == "SERVFAIL");
    CHECK(dns::to_string(dns::rcode::nxdomain) == "NXDOMAIN");
    CHECK(dns::to_string(dns::rcode::notimp) == "NOTIMP");
    CHECK(dns::to_string(dns::rcode::refused) == "REFUSED");
    std::set<std::string> names;
    for (const auto& code : enumerators<dns::rcode>()) names.insert(dns::to_string(code.value));
    CHECK(names.size() == enumerators<dns::rcode>().size());
    CHECK(names.size() == 6);
    CHECK(dns::to_string(static_cast<dns::rcode>(14)) == "RCODE14");
}

TEST_CASE("the errors with an rcode map to it, the rest to none") {
    CHECK(dns::rcode_of({}) == dns::rcode::noerror);
    CHECK(dns::rcode_of(dns::errc::no_data) == dns::rcode::noerror);
    const auto errors = enumerators<dns::errc>();
    for (const auto& code : enumerators<dns::rcode>()) {
        if (code.value == dns::rcode::noerror) continue;
        INFO(code.name);
        // The errc of the same name stands for this rcode.
        const auto named =
            std::ranges::find(errors, code.name, &fanout::test::enumerator<dns::errc>::name);
        REQUIRE(named != errors.end());
        CHECK(dns::rcode_of(named->value) == code.value);
    }
    CHECK_FALSE(dns::rcode_of(dns::errc::bad_name));
    CHECK_FALSE(dns::rcode_of(fanout::errc::timeout));
}
