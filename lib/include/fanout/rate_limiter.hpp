#pragma once
// A token-bucket rate limiter shared by any number of gathers and loops.
//
// Tokens accrue at `rate_per_second` up to `burst`. reserve() always takes a
// token and says how long the caller must wait before using it, so callers
// are served in the order they asked and no thread ever blocks. acquire()
// waits that long on the calling coroutine's executor.
// Cancellation: a cancelled acquire() throws system_error(operation_aborted);
// its token stays spent (a later caller is not sped up).
// Thread-safe: lock-free, one atomic per limiter.

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace fanout {

class rate_limiter {
  public:
    using clock = std::chrono::steady_clock;

    /// Throws std::invalid_argument unless rate_per_second > 0 and burst >= 1.
    explicit rate_limiter(double rate_per_second, double burst = 1.0);

    /// Takes one token; returns how long to wait before using it (0: now).
    clock::duration reserve() noexcept;
    /// Takes a token only if it is usable now.
    bool try_acquire() noexcept;
    /// Waits until a token is usable.
    boost::asio::awaitable<void> acquire();

    double rate() const noexcept { return rate_; }
    double burst() const noexcept { return burst_; }

  private:
    double rate_;
    double burst_;
    std::int64_t interval_ns_;   // time per token
    std::int64_t tolerance_ns_;  // how far ahead of schedule a burst may run
    // Theoretical arrival time of the next token, in ns since clock epoch
    // (the generic cell rate algorithm's single state variable).
    std::atomic<std::int64_t> next_ns_{0};
};

}  // namespace fanout
