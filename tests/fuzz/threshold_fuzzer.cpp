// `--fail-if` conditions (load/threshold), then checked against a result
// with no requests and one with some (as load and merge do).
#include <fanout/load/result.hpp>
#include <fanout/load/threshold.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

const fanout::load::result& some_result() {
    static const fanout::load::result r = [] {
        fanout::load::result out;
        out.sent = 100;
        out.responses = 97;
        out.errors = 3;
        out.duration = std::chrono::seconds(2);
        for (int i = 1; i <= 97; ++i) out.latency.record(std::chrono::microseconds(i * 100));
        return out;
    }();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = fanout::load::parse_threshold(text);
    if (!parsed) {
        if (parsed.error().text().empty()) std::abort();  // every failure says why
        return 0;
    }
    if (parsed->what == fanout::load::threshold::metric::latency_percentile &&
        !(parsed->percentile > 0 && parsed->percentile <= 100))
        std::abort();
    if (!(parsed->value >= 0)) std::abort();  // finite, non-negative
    const fanout::load::result nothing;
    for (const auto* r : {&nothing, &some_result()}) {
        (void)fanout::load::measure(*parsed, *r);
        if (const auto failed = fanout::load::check(*parsed, *r); failed && failed->empty())
            std::abort();
    }
    return 0;
}
