#include <fanout/rate_limiter.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fanout {

namespace net = boost::asio;

namespace {
std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               rate_limiter::clock::now().time_since_epoch())
        .count();
}
}  // namespace

rate_limiter::rate_limiter(double rate_per_second, double burst)
    : rate_(rate_per_second), burst_(burst) {
    if (!(rate_per_second > 0) || !std::isfinite(rate_per_second))
        throw std::invalid_argument(
            "rate_limiter: rate must be a positive number of tokens per second");
    if (!(burst >= 1) || !std::isfinite(burst))
        throw std::invalid_argument("rate_limiter: burst must be at least 1");
    // Keep the interval and the burst tolerance representable in int64 ns.
    if (1e9 / rate_per_second > 9e18)
        throw std::invalid_argument(
            "rate_limiter: rate is too small (less than one token in 285 years)");
    if ((burst - 1.0) * (1e9 / rate_per_second) > 9e18)
        throw std::invalid_argument("rate_limiter: burst is too large for this rate");
    interval_ns_ = std::max<std::int64_t>(1, std::llround(1e9 / rate_per_second));
    tolerance_ns_ = std::llround((burst - 1.0) * static_cast<double>(interval_ns_));
}

rate_limiter::clock::duration rate_limiter::reserve() noexcept {
    const std::int64_t now = now_ns();
    std::int64_t next = next_ns_.load(std::memory_order_relaxed);
    std::int64_t start = 0;
    std::int64_t updated = 0;
    do {
        start = std::max(now, next - tolerance_ns_);
        updated = std::max(next, start) + interval_ns_;
    } while (!next_ns_.compare_exchange_weak(next, updated, std::memory_order_relaxed));
    return std::chrono::nanoseconds(start - now);
}

bool rate_limiter::try_acquire() noexcept {
    const std::int64_t now = now_ns();
    std::int64_t next = next_ns_.load(std::memory_order_relaxed);
    do {
        if (now < next - tolerance_ns_) return false;
    } while (!next_ns_.compare_exchange_weak(next, std::max(next, now) + interval_ns_,
                                             std::memory_order_relaxed));
    return true;
}

net::awaitable<void> rate_limiter::acquire() {
    const auto wait = reserve();
    if (wait <= clock::duration::zero()) co_return;
    net::steady_timer timer(co_await net::this_coro::executor, wait);
    co_await timer.async_wait(net::use_awaitable);
}

}  // namespace fanout
