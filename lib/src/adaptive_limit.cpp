#include <fanout/adaptive_limit.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>

namespace fanout {

namespace net = boost::asio;

namespace {

template <class Policy>
const Policy& checked(const Policy& policy) {
    if (policy.min_limit == 0 || policy.min_limit > policy.max_limit ||
        policy.initial < policy.min_limit || policy.initial > policy.max_limit)
        throw std::invalid_argument("adaptive_limit: needs 1 <= min_limit <= initial <= max_limit");
    return policy;
}

const gradient_policy& checked_gradient(const gradient_policy& policy) {
    if (policy.sample_percentile &&
        !(*policy.sample_percentile >= 0 && *policy.sample_percentile <= 100))
        throw std::invalid_argument("adaptive_limit: sample_percentile must be within 0..100");
    if (!(policy.headroom >= 0))
        throw std::invalid_argument("adaptive_limit: headroom must be at least 0");
    return checked(policy);
}

}  // namespace

adaptive_limit::adaptive_limit(executor_type executor, aimd_policy policy)
    : min_limit_(checked(policy).min_limit),
      max_limit_(policy.max_limit),
      policy_(aimd_state{policy}),
      permits_(std::move(executor), policy.initial),
      limit_(policy.initial) {
    stats_.current = stats_.lowest = stats_.highest = limit_;
}

adaptive_limit::adaptive_limit(executor_type executor, gradient_policy policy)
    : min_limit_(checked_gradient(policy).min_limit),
      max_limit_(policy.max_limit),
      policy_(gradient_state{policy}),
      permits_(std::move(executor), policy.initial),
      limit_(policy.initial) {
    auto& state = std::get<gradient_state>(policy_);
    state.estimate = static_cast<double>(policy.initial);
    state.policy.window_samples = std::max<std::size_t>(1, policy.window_samples);
    stats_.current = stats_.lowest = stats_.highest = limit_;
}

adaptive_limit::~adaptive_limit() = default;

std::size_t adaptive_limit::current() const {
    std::lock_guard lock(mutex_);
    return limit_;
}

std::size_t adaptive_limit::in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_;
}

adaptive_limit_stats adaptive_limit::stats() const {
    std::lock_guard lock(mutex_);
    auto copy = stats_;
    copy.in_flight = in_flight_;
    return copy;
}

limit_verdict adaptive_limit::judge(const failure& f) const {
    if (f.code == errc::cancelled || f.code == errc::deadline_exceeded ||
        f.code == errc::circuit_open)
        return limit_verdict::none;
    return !drops_if || drops_if(f) ? limit_verdict::drop : limit_verdict::success;
}

bool adaptive_limit::try_acquire() {
    std::lock_guard lock(mutex_);
    if (!permits_.try_acquire()) return false;
    ++in_flight_;
    return true;
}

net::awaitable<bool> adaptive_limit::acquire() {
    if (try_acquire()) co_return true;
    // The wait's cancellation comes back as a value, whatever the caller's
    // setting; the setting is put back before returning.
    const bool caller_throws = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    const auto waited = co_await permits_.async_acquire(net::as_tuple(net::use_awaitable));
    co_await net::this_coro::throw_if_cancelled(caller_throws);
    if (std::get<0>(waited)) co_return false;
    std::lock_guard lock(mutex_);
    ++in_flight_;
    co_return true;
}

void adaptive_limit::release(std::chrono::nanoseconds latency, limit_verdict what) {
    std::lock_guard lock(mutex_);
    sample_locked(latency, in_flight_, what);
    if (in_flight_ > 0) --in_flight_;
    if (owed_ > 0)
        --owed_;
    else
        permits_.release();
}

void adaptive_limit::record(std::chrono::nanoseconds latency, std::size_t in_flight,
                            limit_verdict what) {
    std::lock_guard lock(mutex_);
    sample_locked(latency, in_flight, what);
}

void adaptive_limit::sample_locked(std::chrono::nanoseconds latency, std::size_t in_flight,
                                   limit_verdict what) {
    if (what == limit_verdict::none) {
        ++stats_.ignored;
        return;
    }
    ++stats_.samples;
    const bool dropped = what == limit_verdict::drop;
    std::visit(
        [&](auto& state) {
            if constexpr (std::is_same_v<std::decay_t<decltype(state)>, aimd_state>)
                aimd_sample_locked(state, latency, in_flight, dropped);
            else
                gradient_sample_locked(state, latency, in_flight, dropped);
        },
        policy_);
}

void adaptive_limit::aimd_sample_locked(aimd_state& state, std::chrono::nanoseconds latency,
                                        std::size_t in_flight, bool dropped) {
    if (!dropped && state.policy.drop_after && latency > *state.policy.drop_after) dropped = true;
    if (dropped) {
        ++stats_.drops;
        const auto now = std::chrono::steady_clock::now();
        // An attempt that started before the last backoff was admitted
        // under the limit that backoff already answered.
        if (state.policy.per_round_trip && now - latency < state.last_backoff) return;
        state.last_backoff = now;
        state.slow_start = false;
        state.credit = 0;
        const double lower = std::floor(static_cast<double>(limit_) * state.policy.backoff_ratio);
        set_limit_locked(static_cast<std::size_t>(std::max(0.0, lower)));
    } else if (in_flight * 2 >= limit_) {
        if (!state.policy.per_round_trip || state.slow_start) {
            set_limit_locked(limit_ + 1);
            return;
        }
        // A round trip's successes are about `limit` of them.
        state.credit += 1.0 / static_cast<double>(limit_);
        if (state.credit >= 1 - 1e-9) {  // limit * (1 / limit) may round below 1
            state.credit -= 1;
            set_limit_locked(limit_ + 1);
        }
    }
}

void adaptive_limit::gradient_sample_locked(gradient_state& state, std::chrono::nanoseconds latency,
                                            std::size_t in_flight, bool dropped) {
    if (dropped) {
        ++stats_.drops;
        state.window_dropped = true;
    } else {
        state.window.push_back(latency);
    }
    ++state.window_seen;
    state.window_peak_in_flight = std::max(state.window_peak_in_flight, in_flight);
    const std::size_t window_size = state.measuring_min
                                        ? state.policy.window_samples
                                        : std::max(state.policy.window_samples, limit_);
    if (state.window_seen >= window_size) end_window_locked(state);
}

void adaptive_limit::end_window_locked(gradient_state& state) {
    const auto& policy = state.policy;
    ++stats_.windows;
    std::optional<std::chrono::nanoseconds> sample;
    if (!state.window.empty() && policy.sample_percentile) {
        const auto rank = static_cast<std::size_t>(
            *policy.sample_percentile / 100 * static_cast<double>(state.window.size() - 1) + 0.5);
        const auto nth = state.window.begin() +
                         static_cast<std::ptrdiff_t>(std::min(rank, state.window.size() - 1));
        std::nth_element(state.window.begin(), nth, state.window.end());
        sample = *nth;
    } else if (!state.window.empty()) {
        long double sum = 0;
        for (const auto latency : state.window) sum += static_cast<long double>(latency.count());
        sample = std::chrono::nanoseconds(
            static_cast<std::int64_t>(sum / static_cast<long double>(state.window.size())));
    }
    if (sample) stats_.last_sample_rtt = *sample;
    const bool dropped = state.window_dropped;
    const auto peak = state.window_peak_in_flight;
    state.window.clear();
    state.window_seen = 0;
    state.window_dropped = false;
    state.window_peak_in_flight = 0;

    const auto limit_of = [&](double estimate) {
        const double bounded =
            std::clamp(estimate, static_cast<double>(min_limit_), static_cast<double>(max_limit_));
        return static_cast<std::size_t>(bounded);
    };

    if (state.measuring_min) {
        // The window at min_limit: its sample is the backend's unloaded RTT.
        state.measuring_min = false;
        if (sample) state.min_rtt = *sample;
        stats_.min_rtt = state.min_rtt;
        state.estimate = state.estimate_before_measuring;
        set_limit_locked(limit_of(state.estimate));
        return;
    }
    if (sample && (state.min_rtt.count() == 0 || *sample < state.min_rtt)) state.min_rtt = *sample;
    stats_.min_rtt = state.min_rtt;

    const double limit = state.estimate;
    double next = limit;
    if (dropped) {
        next = limit * policy.drop_backoff;
    } else if (sample && sample->count() > 0) {
        const double gradient =
            std::clamp(static_cast<double>(state.min_rtt.count()) * (1 + policy.buffer) /
                           static_cast<double>(sample->count()),
                       policy.min_gradient, policy.max_gradient);
        const double proposed = limit * gradient + policy.headroom;
        next = limit * (1 - policy.smoothing) + proposed * policy.smoothing;
        // A caller that did not use half the limit gave no sign that more
        // would do: the limit does not grow on it.
        if (peak * 2 < limit_) next = std::min(next, limit);
    }
    state.estimate =
        std::clamp(next, static_cast<double>(min_limit_), static_cast<double>(max_limit_));

    if (policy.min_rtt_every > 0 && ++state.windows_since_min >= policy.min_rtt_every) {
        state.windows_since_min = 0;
        state.measuring_min = true;
        state.estimate_before_measuring = state.estimate;
        set_limit_locked(min_limit_);
        return;
    }
    set_limit_locked(limit_of(state.estimate));
}

void adaptive_limit::set_limit_locked(std::size_t limit) {
    limit = std::clamp(limit, min_limit_, max_limit_);
    if (limit > limit_) {
        std::size_t grow = limit - limit_;
        const std::size_t paid = std::min(owed_, grow);
        owed_ -= paid;
        grow -= paid;
        for (; grow > 0; --grow) permits_.release();
    } else {
        std::size_t shrink = limit_ - limit;
        for (; shrink > 0 && permits_.try_acquire(); --shrink) {
        }
        owed_ += shrink;
    }
    limit_ = limit;
    stats_.current = limit;
    stats_.lowest = std::min(stats_.lowest, limit);
    stats_.highest = std::max(stats_.highest, limit);
}

}  // namespace fanout
