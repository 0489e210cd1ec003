#include <fanout/hedge.hpp>

#include <algorithm>

namespace fanout {

void latency_tracker::record(std::chrono::nanoseconds latency) {
    std::lock_guard lock(mutex_);
    latencies_.record(latency);
}

std::uint64_t latency_tracker::count() const {
    std::lock_guard lock(mutex_);
    return latencies_.count();
}

std::chrono::nanoseconds latency_tracker::percentile(double p) const {
    std::lock_guard lock(mutex_);
    if (latencies_.count() == 0) return {};
    return latencies_.percentile(p);
}

hedge_budget::hedge_budget(double token_ratio, double max_tokens)
    : token_ratio_(std::max(0.0, token_ratio)),
      max_tokens_(std::max(0.0, max_tokens)),
      tokens_(max_tokens_) {}

void hedge_budget::on_item() {
    std::lock_guard lock(mutex_);
    tokens_ = std::min(max_tokens_, tokens_ + token_ratio_);
}

bool hedge_budget::try_take() {
    std::lock_guard lock(mutex_);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
}

double hedge_budget::tokens() const {
    std::lock_guard lock(mutex_);
    return tokens_;
}

std::optional<std::chrono::nanoseconds> hedge_policy::delay_for(
    const latency_tracker& observed) const {
    if (percentile > 0 && observed.count() >= std::max<std::uint64_t>(1, min_samples))
        return observed.percentile(percentile);
    return delay;
}

}  // namespace fanout
