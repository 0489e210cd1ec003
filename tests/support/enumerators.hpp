#pragma once
// The named enumerators of an enum, found at compile time, so that a test
// of every error code covers the codes added after it was written.
//
// g++ and clang spell a template's value argument in __PRETTY_FUNCTION__ as
// "ns::errc::timeout" when it is a named enumerator and as "(ns::errc)12"
// when it is not; enumerators() tries each value of [first, last] and keeps
// the named ones, in value order. Nothing here runs at run time but copying
// the list out.

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace fanout::test {

/// One named enumerator: its value and its name without the qualification.
template <class Enum>
struct enumerator {
    Enum value;
    std::string_view name;
};

namespace detail {

template <auto Value>
constexpr std::string_view pretty_function() {
    return __PRETTY_FUNCTION__;
}

// The part of `signature` that spells the template argument.
constexpr std::string_view template_argument(std::string_view signature) {
    const std::size_t equals = signature.find("= ");
    if (equals == std::string_view::npos) return {};
    auto argument = signature.substr(equals + 2);
    return argument.substr(0, argument.find_first_of(";]"));
}

template <auto Value>
constexpr std::string_view enumerator_name() {
    const auto argument = template_argument(pretty_function<Value>());
    if (argument.empty() || argument.front() == '(') return {};  // a value with no name
    return argument.substr(argument.rfind(':') + 1);
}

template <class Enum, int First, int... Offsets>
std::vector<enumerator<Enum>> named(std::integer_sequence<int, Offsets...>) {
    constexpr std::array<std::string_view, sizeof...(Offsets)> names{
        enumerator_name<static_cast<Enum>(First + Offsets)>()...};
    std::vector<enumerator<Enum>> out;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (!names[i].empty())
            out.push_back({static_cast<Enum>(First + static_cast<int>(i)), names[i]});
    return out;
}

}  // namespace detail

/// The enumerators of `Enum` whose values lie in [First, Last], in value order.
template <class Enum, int First = 0, int Last = 127>
std::vector<enumerator<Enum>> enumerators() {
    static_assert(First <= Last);
    return detail::named<Enum, First>(std::make_integer_sequence<int, Last - First + 1>());
}

}  // namespace fanout::test
