#pragma once
// A latency histogram with bounded relative error (HDR-style): 1 us to 1 h at
// about 3 significant digits, fixed memory, mergeable, serialisable to JSON.
//
// Errors: recording never fails. A value below 1 us is counted in the lowest
// bucket and one above 1 h in the top bucket (saturation); negative values
// count as 0; min(), max() and mean() stay exact. A bucket holds up to
// 4,294,967,295 records and then stops growing (count() stays exact).
// from_json() throws std::invalid_argument on malformed input; otherwise only
// the constructors and to_json() throw, and only std::bad_alloc.
//
// Threads: not thread-safe by design. Keep one histogram per loop thread and
// merge them with += when the work is done; record() is a few nanoseconds
// because it takes no lock and does no floating point.

#include <boost/json/value.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

namespace fanout {

namespace detail {

// The bucket layout, in nanoseconds. Values below 2^11 ns are exact; each
// octave [2^k, 2^(k+1)) above that is split into 1024 equal sub-buckets, so a
// bucket is never wider than 1/1024 of its lowest value (error < 0.098%).
inline constexpr unsigned histogram_sub_bucket_bits = 10;
inline constexpr std::uint64_t histogram_lowest_ns = 1'000;
inline constexpr std::uint64_t histogram_highest_ns = 3'600'000'000'000;

// The HDR index of a value: the octave from a leading-zero count, then the
// value's top bits within that octave.
constexpr std::uint64_t histogram_raw_index(std::uint64_t value_ns) noexcept {
    constexpr std::uint64_t exact_mask = (std::uint64_t{2} << histogram_sub_bucket_bits) - 1;
    const auto octave = static_cast<unsigned>(std::bit_width(value_ns | exact_mask)) -
                        (histogram_sub_bucket_bits + 1);
    return (std::uint64_t{octave} << histogram_sub_bucket_bits) + (value_ns >> octave);
}

// Position in the counts array; precondition: value in [lowest, highest].
constexpr std::size_t histogram_slot(std::uint64_t value_ns) noexcept {
    return static_cast<std::size_t>(histogram_raw_index(value_ns) -
                                    histogram_raw_index(histogram_lowest_ns));
}

inline constexpr std::size_t histogram_slot_count = histogram_slot(histogram_highest_ns) + 1;

}  // namespace detail

/// Latency histogram: 1 us .. 1 h, relative error below 0.1% (see above).
class histogram {
  public:
    /// Values below this are counted in the lowest bucket.
    static constexpr std::chrono::nanoseconds lowest_trackable{detail::histogram_lowest_ns};
    /// Values above this are counted in the top bucket.
    static constexpr std::chrono::nanoseconds highest_trackable{detail::histogram_highest_ns};
    /// Format version written by to_json() and accepted by from_json().
    static constexpr int json_version = 1;

    /// An empty histogram; allocates its buckets (about 127 KiB) once.
    histogram();
    histogram(const histogram& other);
    histogram& operator=(const histogram& other);
    /// A moved-from histogram may only be assigned to or destroyed.
    histogram(histogram&& other) noexcept = default;
    histogram& operator=(histogram&& other) noexcept = default;
    ~histogram() = default;

    /// Counts one value. Cost: a leading-zero count, a shift and a few adds.
    void record(std::chrono::nanoseconds value) noexcept {
        const std::uint64_t raw = as_unsigned(value);
        std::uint32_t& bucket = counts_[detail::histogram_slot(
            std::clamp(raw, detail::histogram_lowest_ns, detail::histogram_highest_ns))];
        bucket += static_cast<std::uint32_t>(bucket != max_bucket_count);
        ++count_;
        sum_ = std::min(sum_, max_sum - raw) + raw;  // saturates instead of wrapping
        min_ = std::min(min_, raw);
        max_ = std::max(max_, raw);
    }

    /// Counts `value` `count` times (e.g. for coordinated-omission correction).
    void record(std::chrono::nanoseconds value, std::uint64_t count) noexcept;

    /// Adds every record of `other` (merge); `other` may be *this.
    histogram& operator+=(const histogram& other) noexcept;

    /// Forgets every record.
    void reset() noexcept;

    std::uint64_t count() const noexcept { return count_; }
    /// The exact smallest value recorded; 0 when empty.
    std::chrono::nanoseconds min() const noexcept;
    /// The exact largest value recorded; 0 when empty.
    std::chrono::nanoseconds max() const noexcept;
    /// The exact mean, rounded to the nanosecond; 0 when empty.
    std::chrono::nanoseconds mean() const noexcept;

    /// The value at percentile `p` in [0, 100]: the highest value equivalent
    /// to the bucket holding that rank (as HdrHistogram reports it), clamped
    /// to max(). p <= 0 gives min(), p >= 100 gives max(), empty gives 0.
    std::chrono::nanoseconds percentile(double p) const noexcept;

    /// The sum of every value recorded, in nanoseconds (saturating at 2^64 - 1).
    std::uint64_t sum_ns() const noexcept { return sum_; }

    /// For each of `upper_bounds` (ascending), the records at or below it:
    /// those of the buckets up to and including the bound's own (a bucket is
    /// under 0.1% wide, so a value that much above a bound may count below
    /// it). Non-decreasing, and never more than count(). Throws
    /// std::invalid_argument when the bounds are not ascending.
    std::vector<std::uint64_t> cumulative_counts(
        std::span<const std::chrono::nanoseconds> upper_bounds) const;

    /// A non-empty bucket: the values it counts and how many it holds.
    struct bucket {
        std::chrono::nanoseconds lowest;
        std::chrono::nanoseconds highest;
        std::uint64_t count;
    };
    /// The non-empty buckets, lowest first (for writers of other formats).
    std::vector<bucket> buckets() const;

    /// The smallest and the largest value counted in the same bucket as
    /// `value` (after clamping to the trackable range).
    static std::chrono::nanoseconds lowest_equivalent(std::chrono::nanoseconds value) noexcept;
    static std::chrono::nanoseconds highest_equivalent(std::chrono::nanoseconds value) noexcept;

    /// Compact JSON: the format version, the layout, count/min/max/sum and the
    /// non-empty buckets as [lowest value in ns, count] pairs.
    boost::json::value to_json() const;

    /// The histogram `to_json()` wrote. Throws std::invalid_argument naming
    /// the problem when `json` is malformed, inconsistent or of another layout.
    static histogram from_json(const boost::json::value& json);

    /// Same records: equal buckets, count, min, max and sum.
    friend bool operator==(const histogram& a, const histogram& b) noexcept;

  private:
    static constexpr std::uint32_t max_bucket_count = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::uint64_t max_sum = std::numeric_limits<std::uint64_t>::max();

    static constexpr std::uint64_t as_unsigned(std::chrono::nanoseconds value) noexcept {
        return static_cast<std::uint64_t>(
            std::max<std::chrono::nanoseconds::rep>(value.count(), 0));
    }

    // 32-bit counters keep the histogram at about 127 KiB (64-bit ones would
    // need 253 KiB for this range and precision).
    std::unique_ptr<std::uint32_t[]> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;  // in ns, saturating
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

}  // namespace fanout
