#include <fanout/load/time_series.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace fanout::load {
namespace {

namespace json = boost::json;

constexpr unsigned sub_bits = interval_histogram::sub_bucket_bits;
// The index of the bucket of 2^63 and above.
constexpr std::uint64_t max_bucket_index = ((64 - sub_bits - 1) << sub_bits) + (2 << sub_bits) - 1;

[[noreturn]] void malformed(std::string_view what) {
    throw std::invalid_argument(fmt::format("load time series JSON: {}", what));
}

// HDR-style: exact below 2^(sub_bits + 1), then 2^sub_bits buckets per octave.
constexpr std::uint64_t bucket_index(std::uint64_t value) noexcept {
    const auto shift =
        static_cast<unsigned>(std::bit_width(value | ((2u << sub_bits) - 1))) - (sub_bits + 1);
    return (std::uint64_t{shift} << sub_bits) + (value >> shift);
}

constexpr std::uint64_t bucket_highest(std::uint64_t index) noexcept {
    if (index < (2u << sub_bits)) return index;
    const auto shift = (index >> sub_bits) - 1;
    const auto mantissa = index - (shift << sub_bits);
    const auto lowest = mantissa << shift;
    return lowest + ((std::uint64_t{1} << shift) - 1);
}

static_assert(bucket_index(63) == 63 && bucket_index(64) == 64 && bucket_index(127) == 95);
static_assert(bucket_highest(bucket_index(1000)) >= 1000);
static_assert(bucket_index(std::numeric_limits<std::uint64_t>::max()) == max_bucket_index);
static_assert(max_bucket_index <= std::numeric_limits<std::uint16_t>::max());

std::uint64_t as_count(const json::value& value, std::string_view what) {
    if (value.is_uint64()) return value.get_uint64();
    if (value.is_int64() && value.get_int64() >= 0)
        return static_cast<std::uint64_t>(value.get_int64());
    malformed(fmt::format("{} must be a non-negative integer", what));
}

const json::object& as_object(const json::value& value, std::string_view what) {
    if (!value.is_object()) malformed(fmt::format("{} must be an object", what));
    return value.get_object();
}

const json::value& member(const json::object& object, std::string_view key) {
    const json::value* value = object.if_contains(key);
    if (value == nullptr) malformed(fmt::format("missing field \"{}\"", key));
    return *value;
}

std::uint64_t count_field(const json::object& object, std::string_view key) {
    return as_count(member(object, key), fmt::format("field \"{}\"", key));
}

// A run past this is drawn at long_run_interval.
constexpr std::chrono::nanoseconds long_run_threshold = std::chrono::seconds(20);
// Bounds on what from_json takes, so the arithmetic on offsets cannot overflow.
constexpr std::int64_t latest_start_ns = std::int64_t{1} << 61;
constexpr std::int64_t widest_interval_ns = std::int64_t{1} << 48;

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const auto q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

void interval_histogram::record(std::chrono::nanoseconds value, std::uint64_t count) {
    if (count == 0) return;
    const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(value.count(), 0));
    const auto index = static_cast<std::uint16_t>(bucket_index(ns));
    if (counts_.empty()) {
        first_ = index;
        counts_.assign(1, 0);
    } else if (index < first_) {
        counts_.insert(counts_.begin(), first_ - index, 0);
        first_ = index;
    } else if (static_cast<std::size_t>(index - first_) >= counts_.size()) {
        counts_.resize(index - first_ + 1u, 0);
    }
    counts_[index - first_] += count;
    count_ += count;
    max_ns_ = std::max(max_ns_, ns);
}

interval_histogram& interval_histogram::operator+=(const interval_histogram& other) {
    if (other.count_ == 0) return *this;
    if (count_ == 0) return *this = other;
    const auto low = std::min(first_, other.first_);
    const auto high = std::max(first_ + counts_.size(), other.first_ + other.counts_.size());
    if (low < first_) counts_.insert(counts_.begin(), first_ - low, 0);
    first_ = low;
    counts_.resize(high - low, 0);
    for (std::size_t i = 0; i < other.counts_.size(); ++i)
        counts_[other.first_ - first_ + i] += other.counts_[i];
    count_ += other.count_;
    max_ns_ = std::max(max_ns_, other.max_ns_);
    return *this;
}

std::chrono::nanoseconds interval_histogram::max() const noexcept {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(
        std::min<std::uint64_t>(max_ns_, std::numeric_limits<std::int64_t>::max())));
}

std::chrono::nanoseconds interval_histogram::percentile(double p) const noexcept {
    if (count_ == 0) return std::chrono::nanoseconds(0);
    if (p >= 100.0) return max();
    const double wanted = std::ceil(std::max(p, 0.0) / 100.0 * static_cast<double>(count_));
    const std::uint64_t rank =
        std::clamp<std::uint64_t>(static_cast<std::uint64_t>(wanted), 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank)
            return std::min(
                std::chrono::nanoseconds(static_cast<std::int64_t>(std::min<std::uint64_t>(
                    bucket_highest(first_ + i), std::numeric_limits<std::int64_t>::max()))),
                max());
    }
    return max();
}

json::value interval_histogram::to_json() const {
    json::array flat;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        if (counts_[i] == 0) continue;
        flat.emplace_back(first_ + i);
        flat.emplace_back(counts_[i]);
    }
    return json::object{{"count", count_}, {"max_ns", max_ns_}, {"buckets", std::move(flat)}};
}

interval_histogram interval_histogram::from_json(const json::value& input) {
    const auto& object = as_object(input, "a histogram");
    interval_histogram out;
    const json::value& buckets = member(object, "buckets");
    if (!buckets.is_array() || buckets.get_array().size() % 2 != 0)
        malformed("field \"buckets\" must be an array of index, count pairs");
    const auto& flat = buckets.get_array();
    for (std::size_t i = 0; i < flat.size(); i += 2) {
        const auto index = as_count(flat[i], "a bucket index");
        const auto count = as_count(flat[i + 1], "a bucket count");
        if (index > max_bucket_index) malformed("a bucket index is out of range");
        if (out.count_ > 0 && out.first_ + out.counts_.size() > index)
            malformed("bucket indexes must ascend");
        if (count == 0) malformed("a bucket count is 0");
        if (out.count_ + count < out.count_) malformed("the bucket counts overflow");
        // Recorded at the bucket's own lowest value's index: the same bucket.
        const auto at = static_cast<std::uint16_t>(index);
        if (out.count_ == 0) {
            out.first_ = at;
            out.counts_.assign(1, 0);
        } else {
            out.counts_.resize(at - out.first_ + 1u, 0);
        }
        out.counts_.back() = count;
        out.count_ += count;
    }
    if (count_field(object, "count") != out.count_)
        malformed("field \"count\" is not the sum of the bucket counts");
    out.max_ns_ = count_field(object, "max_ns");
    if (out.count_ > 0 && bucket_index(out.max_ns_) != out.first_ + out.counts_.size() - 1)
        malformed("field \"max_ns\" is not in the top bucket");
    if (out.count_ == 0 && out.max_ns_ != 0) malformed("an empty histogram has a max");
    return out;
}

interval_counts& interval_counts::operator+=(const interval_counts& other) {
    sent += other.sent;
    answered += other.answered;
    errors += other.errors;
    for (const auto& [kind, count] : other.errors_by_kind) errors_by_kind[kind] += count;
    latency += other.latency;
    corrected_latency += other.corrected_latency;
    return *this;
}

interval_counts& time_series::at(std::chrono::nanoseconds since_start) {
    const auto offset = std::max<std::int64_t>(since_start.count(), 0);
    if (interval == first_interval && offset >= long_run_threshold.count())
        rebin(long_run_interval, start_unix_ns);
    auto index = static_cast<std::uint64_t>(offset / interval.count());
    while (index >= max_intervals) {
        rebin(interval * 2, start_unix_ns);
        index = static_cast<std::uint64_t>(offset / interval.count());
    }
    if (index >= intervals.size()) intervals.resize(index + 1);
    return intervals[index];
}

void time_series::rebin(std::chrono::nanoseconds width, std::int64_t new_start_unix_ns) {
    std::vector<interval_counts> old = std::move(intervals);
    intervals.clear();
    const std::int64_t old_width = interval.count();
    const std::int64_t old_start = start_unix_ns;
    interval = width;
    start_unix_ns = new_start_unix_ns;
    for (std::size_t k = 0; k < old.size(); ++k) {
        const std::int64_t begins = old_start + static_cast<std::int64_t>(k) * old_width;
        const auto target = static_cast<std::size_t>(
            std::max<std::int64_t>(floor_div(begins - new_start_unix_ns, width.count()), 0));
        if (target >= intervals.size()) intervals.resize(target + 1);
        intervals[target] += old[k];
    }
}

time_series& time_series::operator+=(const time_series& other) {
    if (other.intervals.empty()) return *this;
    if (intervals.empty()) {
        *this = other;
        return *this;
    }
    const std::int64_t new_start = std::min(start_unix_ns, other.start_unix_ns);
    const std::int64_t ends =
        std::max(start_unix_ns + static_cast<std::int64_t>(intervals.size()) * interval.count(),
                 other.start_unix_ns +
                     static_cast<std::int64_t>(other.intervals.size()) * other.interval.count());
    auto width = std::max(interval, other.interval);
    while ((ends - new_start) / width.count() >= static_cast<std::int64_t>(max_intervals))
        width *= 2;
    rebin(width, new_start);
    for (std::size_t k = 0; k < other.intervals.size(); ++k) {
        const std::int64_t begins =
            other.start_unix_ns + static_cast<std::int64_t>(k) * other.interval.count();
        const auto target = static_cast<std::size_t>(
            std::max<std::int64_t>(floor_div(begins - new_start, width.count()), 0));
        if (target >= intervals.size()) intervals.resize(target + 1);
        intervals[target] += other.intervals[k];
    }
    return *this;
}

interval_counts time_series::total() const {
    interval_counts sum;
    for (const auto& one : intervals) sum += one;
    return sum;
}

json::value time_series::to_json() const {
    json::array list;
    list.reserve(intervals.size());
    for (const auto& one : intervals) {
        json::object entry{{"sent", one.sent},
                           {"answered", one.answered},
                           {"errors", one.errors},
                           {"latency", one.latency.to_json()}};
        if (!one.errors_by_kind.empty()) {
            json::object kinds;
            for (const auto& [kind, count] : one.errors_by_kind) kinds[kind] = count;
            entry["errors_by_kind"] = std::move(kinds);
        }
        if (one.corrected_latency.count() > 0)
            entry["corrected_latency"] = one.corrected_latency.to_json();
        list.emplace_back(std::move(entry));
    }
    return json::object{
        {"version", json_version},         {"sub_bucket_bits", interval_histogram::sub_bucket_bits},
        {"interval_ns", interval.count()}, {"start_unix_ns", start_unix_ns},
        {"intervals", std::move(list)},
    };
}

time_series time_series::from_json(const json::value& input) {
    const auto& object = as_object(input, "the series");
    if (const auto version = count_field(object, "version"); version != json_version)
        malformed(fmt::format("version {} is not supported (expected {})", version, json_version));
    if (count_field(object, "sub_bucket_bits") != interval_histogram::sub_bucket_bits)
        malformed(fmt::format("field \"sub_bucket_bits\" must be {}",
                              interval_histogram::sub_bucket_bits));
    time_series out;
    const auto width = count_field(object, "interval_ns");
    if (width == 0 || width > static_cast<std::uint64_t>(widest_interval_ns))
        malformed("field \"interval_ns\" is out of range");
    out.interval = std::chrono::nanoseconds(static_cast<std::int64_t>(width));
    const auto start = count_field(object, "start_unix_ns");
    if (start > static_cast<std::uint64_t>(latest_start_ns))
        malformed("field \"start_unix_ns\" is out of range");
    out.start_unix_ns = static_cast<std::int64_t>(start);
    const json::value& list = member(object, "intervals");
    if (!list.is_array()) malformed("field \"intervals\" must be an array");
    if (list.get_array().size() > max_intervals)
        malformed(fmt::format("more than {} intervals", max_intervals));
    for (const auto& item : list.get_array()) {
        const auto& entry = as_object(item, "an interval");
        interval_counts one;
        one.sent = count_field(entry, "sent");
        one.answered = count_field(entry, "answered");
        one.errors = count_field(entry, "errors");
        if (const auto* kinds = entry.if_contains("errors_by_kind"))
            for (const auto& [kind, count] : as_object(*kinds, "field \"errors_by_kind\""))
                one.errors_by_kind[std::string(kind)] = as_count(count, "an error count");
        one.latency = interval_histogram::from_json(member(entry, "latency"));
        if (const auto* corrected = entry.if_contains("corrected_latency"))
            one.corrected_latency = interval_histogram::from_json(*corrected);
        out.intervals.push_back(std::move(one));
    }
    return out;
}

}  // namespace fanout::load
