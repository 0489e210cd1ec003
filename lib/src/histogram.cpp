// Why not Boost.Histogram: its closest fit, a regular axis with a log
// transform, calls std::log on every fill and then scales and bounds-checks a
// double, and a variable axis with ~32k edges is a binary search per fill.
// Neither keeps an exact min, max or sum, and its serialisation goes through
// Boost.Serialization, not JSON. The HDR layout below finds a bucket with a
// leading-zero count, a shift and an add (no floating point; only the range
// clamp may branch), its bucket edges are exact integers in nanoseconds (so
// the 0.1% bound holds exactly, with no rounding at edges), and two
// histograms always share a layout, so merging is a loop of adds. Measured
// (-O2, 2-core VM, 64k values recorded 20 times): record() 3.0 ns spread
// over the whole range, 5.4 ns for a lognormal around 200 us (repeated hits
// on the same counters); Boost.Histogram with a 21,700-bin log axis and
// uint32 storage, 7.0 ns per fill.
#include <fanout/histogram.hpp>

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fanout {
namespace {

namespace json = boost::json;

constexpr std::uint64_t first_raw_index = detail::histogram_raw_index(detail::histogram_lowest_ns);

// The lowest value counted in a slot: undoes histogram_raw_index.
constexpr std::uint64_t slot_lowest_value(std::size_t slot) noexcept {
    const std::uint64_t raw = slot + first_raw_index;
    const auto octave_plus_one = raw >> detail::histogram_sub_bucket_bits;
    const auto octave = octave_plus_one == 0 ? 0 : octave_plus_one - 1;
    return (raw - (octave << detail::histogram_sub_bucket_bits)) << octave;
}

constexpr std::uint64_t slot_width(std::size_t slot) noexcept {
    const std::uint64_t octave_plus_one =
        (slot + first_raw_index) >> detail::histogram_sub_bucket_bits;
    return std::uint64_t{1} << (octave_plus_one == 0 ? 0 : octave_plus_one - 1);
}

constexpr std::uint64_t slot_highest_value(std::size_t slot) noexcept {
    return slot_lowest_value(slot) + slot_width(slot) - 1;
}

static_assert(slot_lowest_value(0) == detail::histogram_lowest_ns);
static_assert(slot_lowest_value(detail::histogram_slot(4096)) == 4096);
static_assert(slot_lowest_value(detail::histogram_slot(4097)) == 4096);
static_assert(detail::histogram_slot(detail::histogram_highest_ns) ==
              detail::histogram_slot_count - 1);

std::uint64_t clamp_to_range(std::uint64_t value) noexcept {
    return std::clamp(value, detail::histogram_lowest_ns, detail::histogram_highest_ns);
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t sum = 0;
    return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<std::uint64_t>::max() : sum;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) noexcept {
    std::uint64_t product = 0;
    return __builtin_mul_overflow(a, b, &product) ? std::numeric_limits<std::uint64_t>::max()
                                                  : product;
}

std::uint32_t saturating_add32(std::uint32_t bucket, std::uint64_t n) noexcept {
    const std::uint64_t sum = saturating_add(bucket, n);
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(sum, std::numeric_limits<std::uint32_t>::max()));
}

// The offending JSON for a message, cut short if long.
std::string quote(const json::value& value) {
    std::string text = json::serialize(value);
    constexpr std::size_t longest = 40;
    if (text.size() > longest) {
        text.resize(longest);
        text += "...";
    }
    return text;
}

[[noreturn]] void malformed(std::string_view what) {
    throw std::invalid_argument(fmt::format("histogram JSON: {}", what));
}

std::uint64_t as_uint(const json::value& value, std::string_view what) {
    if (value.is_uint64()) return value.get_uint64();
    if (value.is_int64() && value.get_int64() >= 0)
        return static_cast<std::uint64_t>(value.get_int64());
    malformed(fmt::format("{} must be a non-negative integer, got {}", what, quote(value)));
}

std::uint64_t field(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) malformed(fmt::format("missing field \"{}\"", key));
    return as_uint(*value, fmt::format("field \"{}\"", key));
}

void expect_layout(const json::object& object, std::string_view key, std::uint64_t expected) {
    const std::uint64_t got = field(object, key);
    if (got != expected) {
        malformed(fmt::format("layout mismatch: \"{}\" is {}, this build expects {}", key, got,
                              expected));
    }
}

}  // namespace

histogram::histogram() : counts_(new std::uint32_t[detail::histogram_slot_count]()) {}

histogram::histogram(const histogram& other)
    : counts_(new std::uint32_t[detail::histogram_slot_count]),
      count_(other.count_),
      sum_(other.sum_),
      min_(other.min_),
      max_(other.max_) {
    std::memcpy(counts_.get(), other.counts_.get(),
                detail::histogram_slot_count * sizeof(std::uint32_t));
}

histogram& histogram::operator=(const histogram& other) {
    if (this == &other) return *this;
    if (!counts_) counts_.reset(new std::uint32_t[detail::histogram_slot_count]);
    std::memcpy(counts_.get(), other.counts_.get(),
                detail::histogram_slot_count * sizeof(std::uint32_t));
    count_ = other.count_;
    sum_ = other.sum_;
    min_ = other.min_;
    max_ = other.max_;
    return *this;
}

void histogram::record(std::chrono::nanoseconds value, std::uint64_t count) noexcept {
    if (count == 0) return;
    const std::uint64_t raw = as_unsigned(value);
    std::uint32_t& bucket = counts_[detail::histogram_slot(clamp_to_range(raw))];
    bucket = saturating_add32(bucket, count);
    count_ += count;
    sum_ = saturating_add(sum_, saturating_mul(raw, count));
    min_ = std::min(min_, raw);
    max_ = std::max(max_, raw);
}

histogram& histogram::operator+=(const histogram& other) noexcept {
    if (other.count_ == 0) return *this;
    for (std::size_t slot = 0; slot < detail::histogram_slot_count; ++slot) {
        counts_[slot] = saturating_add32(counts_[slot], other.counts_[slot]);
    }
    count_ += other.count_;
    sum_ = saturating_add(sum_, other.sum_);
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    return *this;
}

void histogram::reset() noexcept {
    std::fill_n(counts_.get(), detail::histogram_slot_count, std::uint32_t{0});
    count_ = 0;
    sum_ = 0;
    min_ = std::numeric_limits<std::uint64_t>::max();
    max_ = 0;
}

std::chrono::nanoseconds histogram::min() const noexcept {
    return std::chrono::nanoseconds(count_ == 0 ? 0 : static_cast<std::int64_t>(min_));
}

std::chrono::nanoseconds histogram::max() const noexcept {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(max_));
}

std::chrono::nanoseconds histogram::mean() const noexcept {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    const std::uint64_t quotient = sum_ / count_;
    const std::uint64_t remainder = sum_ % count_;
    const bool round_up = remainder >= count_ - remainder;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(quotient + (round_up ? 1 : 0)));
}

std::chrono::nanoseconds histogram::percentile(double p) const noexcept {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    if (!(p > 0.0)) return min();  // also NaN
    if (p >= 100.0) return max();
    // The smallest rank such that p% of the records are at or below it.
    const double wanted = std::ceil(p / 100.0 * static_cast<double>(count_));
    const std::uint64_t rank =
        std::clamp<std::uint64_t>(static_cast<std::uint64_t>(wanted), 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t slot = 0; slot < detail::histogram_slot_count; ++slot) {
        seen += counts_[slot];
        if (seen >= rank) {
            // The top bucket holds everything above the range: its honest
            // upper edge is the largest value seen.
            if (slot == detail::histogram_slot_count - 1) return max();
            return std::min(
                std::chrono::nanoseconds(static_cast<std::int64_t>(slot_highest_value(slot))),
                max());
        }
    }
    return max();  // only when a bucket saturated
}

std::vector<std::uint64_t> histogram::cumulative_counts(
    std::span<const std::chrono::nanoseconds> upper_bounds) const {
    if (!std::ranges::is_sorted(upper_bounds))
        throw std::invalid_argument("histogram: the bounds are not in ascending order");
    std::vector<std::uint64_t> out;
    out.reserve(upper_bounds.size());
    std::uint64_t seen = 0;
    std::size_t next_slot = 0;
    for (const auto bound : upper_bounds) {
        const auto last_slot = detail::histogram_slot(clamp_to_range(as_unsigned(bound)));
        for (; next_slot <= last_slot; ++next_slot) seen += counts_[next_slot];
        out.push_back(std::min(seen, count_));
    }
    return out;
}

std::chrono::nanoseconds histogram::lowest_equivalent(std::chrono::nanoseconds value) noexcept {
    const auto slot = detail::histogram_slot(clamp_to_range(as_unsigned(value)));
    return std::chrono::nanoseconds(static_cast<std::int64_t>(slot_lowest_value(slot)));
}

std::chrono::nanoseconds histogram::highest_equivalent(std::chrono::nanoseconds value) noexcept {
    const auto slot = detail::histogram_slot(clamp_to_range(as_unsigned(value)));
    return std::chrono::nanoseconds(static_cast<std::int64_t>(slot_highest_value(slot)));
}

std::vector<histogram::bucket> histogram::buckets() const {
    std::vector<bucket> out;
    for (std::size_t slot = 0; slot < detail::histogram_slot_count; ++slot) {
        if (counts_[slot] == 0) continue;
        out.push_back(
            {std::chrono::nanoseconds(static_cast<std::int64_t>(slot_lowest_value(slot))),
             std::chrono::nanoseconds(static_cast<std::int64_t>(slot_highest_value(slot))),
             counts_[slot]});
    }
    return out;
}

json::value histogram::to_json() const {
    json::array buckets;
    for (std::size_t slot = 0; slot < detail::histogram_slot_count; ++slot) {
        if (counts_[slot] == 0) continue;
        buckets.push_back(json::array{slot_lowest_value(slot), counts_[slot]});
    }
    return json::object{
        {"format", "fanout.histogram"},
        {"version", json_version},
        {"lowest_ns", detail::histogram_lowest_ns},
        {"highest_ns", detail::histogram_highest_ns},
        {"sub_buckets", std::uint64_t{1} << detail::histogram_sub_bucket_bits},
        {"count", count_},
        {"min_ns", min().count()},
        {"max_ns", max().count()},
        {"sum_ns", sum_},
        {"buckets", std::move(buckets)},
    };
}

histogram histogram::from_json(const json::value& input) {
    const json::object* object = input.if_object();
    if (object == nullptr) malformed(fmt::format("expected an object, got {}", quote(input)));

    const json::value* format = object->if_contains("format");
    if (format == nullptr || !format->is_string() || format->get_string() != "fanout.histogram") {
        malformed("field \"format\" must be \"fanout.histogram\"");
    }
    const std::uint64_t version = field(*object, "version");
    if (version != json_version) {
        malformed(fmt::format("version {} is not supported (expected {})", version, json_version));
    }
    expect_layout(*object, "lowest_ns", detail::histogram_lowest_ns);
    expect_layout(*object, "highest_ns", detail::histogram_highest_ns);
    expect_layout(*object, "sub_buckets", std::uint64_t{1} << detail::histogram_sub_bucket_bits);

    histogram result;
    result.count_ = field(*object, "count");
    const std::uint64_t min = field(*object, "min_ns");
    const std::uint64_t max = field(*object, "max_ns");
    result.sum_ = field(*object, "sum_ns");
    if (result.count_ == 0) {
        if (min != 0 || max != 0 || result.sum_ != 0)
            malformed("an empty histogram must have min, max and sum 0");
    } else {
        if (min > max) malformed(fmt::format("min_ns {} is above max_ns {}", min, max));
        if (max > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            malformed(fmt::format("max_ns {} does not fit in a nanosecond duration", max));
        }
        result.min_ = min;
        result.max_ = max;
    }

    const json::value* buckets_value = object->if_contains("buckets");
    if (buckets_value == nullptr || !buckets_value->is_array()) {
        malformed("field \"buckets\" must be an array");
    }
    const json::array& buckets = buckets_value->get_array();
    std::uint64_t bucket_total = 0;
    bool saturated = false;
    std::size_t first_slot = 0;
    std::size_t last_slot = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        const json::array* pair = buckets[i].if_array();
        if (pair == nullptr || pair->size() != 2) {
            malformed(fmt::format("bucket {} must be a [value, count] pair", i));
        }
        const std::uint64_t value = as_uint((*pair)[0], fmt::format("bucket {} value", i));
        const std::uint64_t count = as_uint((*pair)[1], fmt::format("bucket {} count", i));
        if (value < detail::histogram_lowest_ns || value > detail::histogram_highest_ns) {
            malformed(fmt::format("bucket {} value {} is outside the range", i, value));
        }
        const std::size_t slot = detail::histogram_slot(value);
        if (slot_lowest_value(slot) != value) {
            malformed(fmt::format("bucket {} value {} is not a bucket's lowest value", i, value));
        }
        if (i > 0 && slot <= last_slot) {
            malformed(fmt::format("bucket {} value {} is not above the previous one", i, value));
        }
        if (count == 0 || count > max_bucket_count) {
            malformed(
                fmt::format("bucket {} count {} must be in [1, {}]", i, count, max_bucket_count));
        }
        if (i == 0) first_slot = slot;
        last_slot = slot;
        saturated = saturated || count == max_bucket_count;
        bucket_total += count;
        result.counts_[slot] = static_cast<std::uint32_t>(count);
    }
    if (bucket_total > result.count_ || (bucket_total < result.count_ && !saturated)) {
        malformed(fmt::format("the buckets hold {} records but count is {}", bucket_total,
                              result.count_));
    }
    if (result.count_ != 0) {
        if (detail::histogram_slot(clamp_to_range(min)) != first_slot) {
            malformed(fmt::format("min_ns {} is not in the first bucket", min));
        }
        if (detail::histogram_slot(clamp_to_range(max)) != last_slot) {
            malformed(fmt::format("max_ns {} is not in the last bucket", max));
        }
        // Every record lies between min and max, and so does the mean. A
        // saturated sum stays within the saturated products.
        if (result.sum_ < saturating_mul(min, result.count_) ||
            result.sum_ > saturating_mul(max, result.count_)) {
            malformed(
                fmt::format("sum_ns {} is not between count times min_ns and count times "
                            "max_ns",
                            result.sum_));
        }
    }
    return result;
}

bool operator==(const histogram& a, const histogram& b) noexcept {
    return a.count_ == b.count_ && a.sum_ == b.sum_ && a.min() == b.min() && a.max_ == b.max_ &&
           std::equal(a.counts_.get(), a.counts_.get() + detail::histogram_slot_count,
                      b.counts_.get());
}

}  // namespace fanout
