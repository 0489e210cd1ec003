#pragma once
// shard: a deterministic K-th of N slices of an input, so N copies of a run
// (a Kubernetes Indexed Job, a Slurm array, GNU parallel) cover it exactly
// once: line n belongs to shard ((n - 1) mod N) + 1.
//
// Errors: parse_shard returns a failure (errc::invalid_input) naming the
// text when it is not "K/N" with 1 <= K <= N.

#include <fanout/outcome.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace fanout {

struct shard {
    std::size_t index = 1;  ///< K, from 1
    std::size_t count = 1;  ///< N

    /// Whether line `number` (from 1) is this shard's.
    bool includes(std::size_t number) const noexcept {
        return count <= 1 || (number - 1) % count == index - 1;
    }
    friend bool operator==(const shard&, const shard&) = default;
};

/// "2/8" -> {2, 8}.
result<shard> parse_shard(std::string_view text);

/// "2/8".
std::string to_string(const shard& s);

}  // namespace fanout
