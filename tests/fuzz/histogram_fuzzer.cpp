// Latency histograms in JSON (histogram::from_json; load results carry two):
// read, their statistics taken, merged, and written and read back.
#include <fanout/histogram.hpp>

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
    fanout::histogram h;
    try {
        h = fanout::histogram::from_json(json);
    } catch (const std::invalid_argument& e) {
        if (*e.what() == '\0') std::abort();  // every rejection says why
        return 0;
    }
    if (h.count() > 0 && h.min() > h.max()) std::abort();
    for (const double p : {0.0, 50.0, 99.0, 99.99, 100.0}) {
        const auto at = h.percentile(p);
        if (h.count() > 0 && (at < h.min() || at > h.max())) std::abort();
    }
    if (h.count() > 0 && (h.mean() < h.min() || h.mean() > h.max())) std::abort();
    auto merged = h;
    merged += h;
    const auto again =
        fanout::histogram::from_json(boost::json::parse(boost::json::serialize(h.to_json())));
    if (!(again == h)) std::abort();
    return 0;
}
