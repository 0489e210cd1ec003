#include <fanout/probe/error.hpp>

#include "enumerators.hpp"

#include <fanout/error.hpp>
#include <fanout/http/error.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <string_view>

namespace probe = fanout::probe;
using fanout::test::enumerators;

TEST_CASE("probe::errc numbers its codes from 1 without gaps") {
    const auto codes = enumerators<probe::errc>();
    REQUIRE_FALSE(codes.empty());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        INFO(codes[i].name);
        CHECK(static_cast<int>(codes[i].value) == static_cast<int>(i) + 1);
    }
}

TEST_CASE("every probe error has its own message, in the probe category") {
    const auto codes = enumerators<probe::errc>();
    const auto& category = probe::category();
    CHECK(std::string(category.name()) == "probe");
    std::set<std::string> messages;
    for (const auto& code : codes) {
        INFO(code.name);
        const boost::system::error_code ec = code.value;
        const int value = ec.value();
        CHECK(ec);
        CHECK(&ec.category() == &category);
        CHECK_FALSE(ec.message().empty());
        CHECK(ec.message().find("unknown") == std::string::npos);
        CHECK(category.equivalent(value, category.default_error_condition(value)));
        CHECK(category.equivalent(ec, value));
        CHECK(ec == code.value);
        messages.insert(ec.message());
    }
    CHECK(messages.size() == codes.size());
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
