#include <fanout/report/summary.hpp>

#include <fanout/duration.hpp>
#include <fanout/error.hpp>
#include <fanout/progress.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace fanout::report {

void summary::count(const record& r) {
    ++total_;
    // As the record says: an invalid line that a stop kept from being
    // reached comes out as cancelled, and is counted as not started.
    const bool invalid = r.kind == "invalid" && !(r.error && r.error->code == errc::cancelled);
    // Refused by a circuit breaker: not tried, but not for want of time.
    const bool refused = !r.ok && r.error && r.error->code == errc::circuit_open;
    if (refused) ++circuit_open_;
    if (r.hedges > 0) ++hedged_;
    if (r.hedge_won) ++hedge_won_;
    if (r.attempts == 0 && !r.ok && !invalid && !refused) ++not_started_;
    if (r.ok) {
        ++healthy_;
        if (r.warning) ++warnings_;
        latency_.record(r.latency > std::chrono::nanoseconds::zero() ? r.latency : r.elapsed);
    } else if (invalid) {
        ++invalid_;
    } else {
        ++unhealthy_;
        ++unhealthy_by_kind_[r.error ? r.error->kind() : "error"];
    }
}

summary& summary::operator+=(const summary& other) {
    total_ += other.total_;
    healthy_ += other.healthy_;
    unhealthy_ += other.unhealthy_;
    invalid_ += other.invalid_;
    warnings_ += other.warnings_;
    not_started_ += other.not_started_;
    circuit_open_ += other.circuit_open_;
    hedged_ += other.hedged_;
    hedge_won_ += other.hedge_won_;
    for (const auto& [kind, n] : other.unhealthy_by_kind_) unhealthy_by_kind_[kind] += n;
    latency_ += other.latency_;
    return *this;
}

std::string summary::text(std::chrono::nanoseconds took, bool interrupted) const {
    const double seconds = std::max(std::chrono::duration<double>(took).count(), 1e-9);
    const auto checked = total_ - not_started_ - invalid_ - circuit_open_;
    std::string out;
    auto to = std::back_inserter(out);
    fmt::format_to(
        to, "{} in {:.2f} s: {} targets reported, {} checked, {} targets/s\n",
        interrupted ? "interrupted" : "done", seconds, format_count(total_), format_count(checked),
        format_count(static_cast<std::uint64_t>(static_cast<double>(checked) / seconds)));
    fmt::format_to(to, "  healthy      {:>9}", format_count(healthy_));
    if (warnings_ > 0) fmt::format_to(to, "   ({} with warnings)", format_count(warnings_));
    out += '\n';
    if (unhealthy_ > 0)
        fmt::format_to(to, "  unhealthy    {:>9}   {}\n", format_count(unhealthy_),
                       format_counts(unhealthy_by_kind_));
    if (invalid_ > 0) fmt::format_to(to, "  invalid      {:>9}   lines\n", format_count(invalid_));
    if (not_started_ > 0)
        fmt::format_to(to, "  not started  {:>9}   (reported as cancelled)\n",
                       format_count(not_started_));
    if (circuit_open_ > 0)
        fmt::format_to(to, "  circuit open {:>9}   (not tried: their host failed too often)\n",
                       format_count(circuit_open_));
    if (hedged_ > 0)
        fmt::format_to(to, "  hedged       {:>9}   ({} answered by the twin)\n",
                       format_count(hedged_), format_count(hedge_won_));
    if (latency_.count() > 0)
        fmt::format_to(to, "  latency      p50 {}  p90 {}  p99 {}  max {}\n",
                       format_duration(latency_.percentile(50)),
                       format_duration(latency_.percentile(90)),
                       format_duration(latency_.percentile(99)), format_duration(latency_.max()));
    return out;
}

}  // namespace fanout::report
