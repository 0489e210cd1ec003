#pragma once
// Checks every error-code enum of the library shares (Catch2 assertions):
// its codes numbered from 1 without gaps, and each with a message of its own
// in its category. The enumerators come from enumerators.hpp, so a code added
// without a message fails.

#include "enumerators.hpp"

#include <catch2/catch.hpp>

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

namespace fanout::test {

template <class E>
void check_numbered_from_one() {
    const auto codes = enumerators<E>();
    REQUIRE_FALSE(codes.empty());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        INFO(codes[i].name);
        CHECK(static_cast<int>(codes[i].value) == static_cast<int>(i) + 1);
    }
}

template <class E>
void check_messages(const boost::system::error_category& category, std::string_view name) {
    const auto codes = enumerators<E>();
    CHECK(std::string(category.name()) == name);
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

}  // namespace fanout::test
