#include <fanout/gather.hpp>

#include <fmt/format.h>

namespace fanout::detail {

std::string attempt_timed_out_message(unsigned attempt, std::chrono::nanoseconds timeout) {
    return fmt::format("attempt {} timed out after {}", attempt, format_duration(timeout));
}

failure stopped_failure(stop_reason why) {
    switch (why) {
        case stop_reason::deadline:
            return failure{errc::deadline_exceeded, "the run's deadline passed"};
        case stop_reason::fail_fast:
            return failure{errc::cancelled, "cancelled: another item failed (fail-fast)"};
        case stop_reason::enough:
            return failure{errc::cancelled, "cancelled: enough items succeeded"};
        case stop_reason::fault:
            return failure{errc::cancelled, "cancelled: the run stopped on an error"};
        case stop_reason::cancelled:
        case stop_reason::none:
            break;
    }
    return failure{errc::cancelled, "cancelled"};
}

failure circuit_open_failure(unsigned attempt) {
    if (attempt == 1) return failure{errc::circuit_open};
    return failure{
        errc::circuit_open,
        fmt::format("circuit open: attempt {} not made (its key failed too often)", attempt)};
}

failure not_started_failure(stop_reason) {
    // No message: this runs once per input left when a run stops (millions,
    // after a Ctrl-C), and the summary's stop_reason says why.
    return failure{errc::cancelled};
}

}  // namespace fanout::detail
