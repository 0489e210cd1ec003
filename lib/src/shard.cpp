#include <fanout/shard.hpp>

#include <fmt/format.h>

#include <charconv>

namespace fanout {

result<shard> parse_shard(std::string_view text) {
    const auto invalid = [&](std::string_view why) {
        return failure{make_error_code(errc::invalid_input),
                       fmt::format("bad shard '{}': {} (expected K/N, 1 <= K <= N)", text, why)};
    };
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return invalid("no '/'");
    const auto number = [](std::string_view digits, std::size_t& out) {
        const auto [end, error] =
            std::from_chars(digits.data(), digits.data() + digits.size(), out);
        return !digits.empty() && error == std::errc{} && end == digits.data() + digits.size();
    };
    shard out;
    if (!number(text.substr(0, slash), out.index) || !number(text.substr(slash + 1), out.count))
        return invalid("K and N must be whole numbers");
    if (out.count == 0) return invalid("N (the number of shards) must be at least 1");
    if (out.index == 0) return invalid("K counts from 1");
    if (out.index > out.count)
        return invalid(fmt::format("K ({}) is more than N ({})", out.index, out.count));
    return out;
}

std::string to_string(const shard& s) {
    return fmt::format("{}/{}", s.index, s.count);
}

}  // namespace fanout
