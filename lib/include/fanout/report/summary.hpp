#pragma once
// The tally of a sweep: healthy, unhealthy by error kind, invalid lines,
// warnings, targets not started, targets a circuit breaker refused, hedged targets, latency of
// the healthy;
// mergeable across loops, and printed as a few lines for a person.
//
// Errors: nothing here throws except std::bad_alloc. Threads: one summary
// per loop, merged at the end.

#include <fanout/histogram.hpp>
#include <fanout/report/record.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace fanout::report {

class summary {
  public:
    void count(const record& r);
    summary& operator+=(const summary& other);

    std::uint64_t total() const noexcept { return total_; }
    std::uint64_t healthy() const noexcept { return healthy_; }
    /// Targets that failed their check (invalid lines are not counted here).
    std::uint64_t unhealthy() const noexcept { return unhealthy_; }
    std::uint64_t invalid() const noexcept { return invalid_; }
    std::uint64_t warnings() const noexcept { return warnings_; }
    std::uint64_t not_started() const noexcept { return not_started_; }
    /// Targets a circuit breaker refused (errc::circuit_open): counted as
    /// unhealthy, neither checked nor "not started".
    std::uint64_t circuit_open() const noexcept { return circuit_open_; }
    /// Targets with a hedged twin, and those a twin answered.
    std::uint64_t hedged() const noexcept { return hedged_; }
    std::uint64_t hedge_won() const noexcept { return hedge_won_; }
    const std::map<std::string, std::uint64_t>& unhealthy_by_kind() const noexcept {
        return unhealthy_by_kind_;
    }
    const histogram& latency() const noexcept { return latency_; }

    /// "done in 2.31 s: 10,000 targets, 4,329 targets/s" and one line each
    /// for the counts that are not zero; `took` is the run's wall time.
    std::string text(std::chrono::nanoseconds took, bool interrupted) const;

  private:
    std::uint64_t total_ = 0;
    std::uint64_t healthy_ = 0;
    std::uint64_t unhealthy_ = 0;
    std::uint64_t invalid_ = 0;
    std::uint64_t warnings_ = 0;
    std::uint64_t not_started_ = 0;
    std::uint64_t circuit_open_ = 0;
    std::uint64_t hedged_ = 0;
    std::uint64_t hedge_won_ = 0;
    std::map<std::string, std::uint64_t> unhealthy_by_kind_;
    histogram latency_;
};

}  // namespace fanout::report
