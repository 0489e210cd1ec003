#include <fanout/probe/error.hpp>

#include "enumerators.hpp"
#include "error_code_checks.hpp"

#include <fanout/error.hpp>
#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <string_view>

namespace probe = fanout::probe;
using fanout::test::enumerators;

TEST_CASE("probe::errc numbers its codes from 1 without gaps") {
    fanout::test::check_numbered_from_one<probe::errc>();
}

TEST_CASE("every probe error has its own message, in the probe category") {
    fanout::test::check_messages<probe::errc>(probe::category(), "probe");
}

TEST_CASE("the kinds of probe errors are their enumerator names") {
    for (const auto& code : enumerators<probe::errc>()) {
        INFO(code.name);
        CHECK(fanout::error_kind(code.value) == code.name);
    }
}

TEST_CASE("the permanent probe errors are invalid_target and certificate_expired") {
    const std::set<std::string_view> permanent{"invalid_target", "certificate_expired"};
    for (const auto& code : enumerators<probe::errc>()) {
        INFO(code.name);
        CHECK(fanout::is_permanent(code.value) == permanent.contains(code.name));
    }
}

TEST_CASE("a probe error equals no code of the same number in another category") {
    const boost::system::error_code ec = probe::errc::certificate_expired;
    CHECK(ec != boost::system::error_code(ec.value(), fanout::category()));
    CHECK(ec != boost::system::error_code(ec.value(), fanout::http::category()));
    CHECK(ec != fanout::http::errc::certificate_expired);
    CHECK(ec != probe::errc::too_slow);
}

TEST_CASE("a probe code outside the enumeration still has a message and a kind") {
    const boost::system::error_code odd(99, probe::category());
    CHECK(odd.message().find("99") != std::string::npos);
    CHECK(std::string(fanout::error_kind(odd)) == "probe_error");
    CHECK_FALSE(fanout::is_permanent(odd));
}
