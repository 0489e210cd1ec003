// Load result files as `fanout merge` reads them (JSON written by `fanout
// load --json`, possibly on another machine): parsed, read by
// load::result::from_json, merged, written as text and as JSON again, and
// that JSON read back.
#include <fanout/load/result.hpp>
#include <fanout/load/threshold.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    const auto json = boost::json::parse(text, ec);
    if (ec) return 0;
    fanout::load::result one;
    try {
        one = fanout::load::result::from_json(json);
    } catch (const std::invalid_argument& e) {
        if (*e.what() == '\0') std::abort();  // every rejection says why
        return 0;
    }
    auto merged = one;
    merged += one;
    (void)merged.series.total();
    (void)fanout::load::to_text(one);
    (void)fanout::load::to_text(merged);
    for (const auto* metric : {"p99>1ms", "mean>1ms", "max>1s", "errors>1%", "rps<10"})
        (void)fanout::load::check(*fanout::load::parse_threshold(metric), merged);
    // What to_json writes, from_json reads (merge's --json output is an input too).
    const auto again =
        fanout::load::result::from_json(boost::json::parse(boost::json::serialize(one.to_json())));
    if (again.sent != one.sent || again.responses != one.responses || again.errors != one.errors ||
        again.status_counts != one.status_counts || again.errors_by_kind != one.errors_by_kind ||
        again.duration != one.duration || !(again.latency == one.latency) ||
        !(again.corrected_latency == one.corrected_latency) || !(again.series == one.series))
        std::abort();
    return 0;
}
