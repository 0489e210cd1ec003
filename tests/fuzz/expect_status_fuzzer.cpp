// `fanout sweep --expect-status` lists (probe/check): "200-399",
// "200,204,301-308".
#include <fanout/probe/check.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = fanout::probe::parse_status_ranges(text);
    if (!parsed) {
        if (parsed.error().text().empty()) std::abort();  // every failure says why
        return 0;
    }
    for (const auto& range : *parsed)
        if (range.first < 100 || range.last > 599 || range.first > range.last) std::abort();
    return 0;
}
