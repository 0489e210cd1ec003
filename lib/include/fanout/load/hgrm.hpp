#pragma once
// to_hgrm(histogram): HdrHistogram's percentile-distribution text (the
// `.hgrm` that wrk2 --latency prints and HdrHistogram's plotters read):
// columns Value (ms), Percentile, TotalCount, 1/(1-Percentile), five rows per
// halving of the distance to 100%, and the #[Mean, StdDeviation], #[Max,
// Total count] and #[Buckets, SubBuckets] footers.
//
// Errors: only std::bad_alloc. An empty histogram gives the header and
// footers with no rows. Cancellation: not applicable.

#include <fanout/histogram.hpp>

#include <string>

namespace fanout::load {

/// The percentile distribution of `h`, values in milliseconds.
std::string to_hgrm(const histogram& h);

}  // namespace fanout::load
