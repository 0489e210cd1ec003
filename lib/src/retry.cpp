#include <fanout/retry.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <cmath>

namespace fanout {

bool retry_policy::default_retryable(const failure& f) noexcept {
    const auto& ec = f.code;
    if (ec == errc::cancelled || ec == errc::deadline_exceeded || ec == errc::exception)
        return false;
    if (ec == boost::asio::error::operation_aborted) return false;
    if (is_permanent(ec)) return false;
    if (f.http_status) return retryable_status(*f.http_status);
    return true;
}

bool retry_policy::retryable_status(unsigned status) noexcept {
    switch (status) {
        case 408:  // request timeout
        case 425:  // too early
        case 429:  // too many requests
        case 500:
        case 502:
        case 503:
        case 504:
            return true;
        default:
            return false;
    }
}

std::chrono::nanoseconds retry_policy::backoff(unsigned failed_attempt, const failure& why,
                                               std::mt19937_64& random) const {
    using std::chrono::nanoseconds;
    // All in double, clamped below the largest nanoseconds value, so no
    // policy (uncapped, zero, huge attempts or hints) can overflow.
    constexpr double largest = 9.2e18;
    const double cap = std::clamp(static_cast<double>(max_backoff.count()), 0.0, largest);
    const double exponent = static_cast<double>(failed_attempt > 0 ? failed_attempt - 1 : 0);
    const double initial = static_cast<double>(initial_backoff.count());
    // 0 * inf would be NaN: a zero initial wait stays zero.
    double ceiling = initial <= 0 ? 0.0 : initial * std::pow(multiplier, exponent);
    if (std::isnan(ceiling)) ceiling = cap;
    ceiling = std::clamp(ceiling, 0.0, cap);  // also tames inf from huge exponents

    double wait = ceiling;
    if (jitter == jitter_kind::full) {
        wait = std::uniform_real_distribution<double>(0.0, ceiling)(random);
    }
    if (why.retry_after) {
        wait = std::max(wait, static_cast<double>(why.retry_after->count()) * 1e6);
    }
    return nanoseconds(static_cast<nanoseconds::rep>(std::min(wait, cap)));
}

}  // namespace fanout
