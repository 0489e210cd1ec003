#include <fanout/circuit_breaker.hpp>

#include <fanout/error.hpp>

#include <algorithm>

namespace fanout {

bool circuit_breaker_policy::counts(const failure& f) const {
    if (f.code == errc::cancelled || f.code == errc::deadline_exceeded ||
        f.code == errc::circuit_open)
        return false;
    return counts_if ? counts_if(f) : true;
}

circuit_breaker::circuit_breaker(const circuit_breaker_policy& policy) : policy_(&policy) {}

circuit_breaker::admission circuit_breaker::admit(clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (state_ == circuit_state::open) {
        if (now < open_until_) {
            ++refused_;
            return admission::refused;
        }
        state_ = circuit_state::half_open;
        trials_in_flight_ = 0;
        trial_successes_ = 0;
    }
    if (state_ == circuit_state::half_open) {
        const unsigned trials = std::max(1u, policy_->half_open_trials);
        if (trials_in_flight_ + trial_successes_ >= trials) {
            ++refused_;
            return admission::refused;
        }
        ++trials_in_flight_;
        return admission::trial;
    }
    return admission::admitted;
}

void circuit_breaker::record(admission how, verdict what, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (how == admission::refused) return;
    if (how == admission::trial) {
        // A trial of an earlier half-open spell (the breaker has since
        // opened or closed) says nothing about this one.
        if (state_ != circuit_state::half_open || trials_in_flight_ == 0) return;
        --trials_in_flight_;
        if (what == verdict::failure)
            open_locked(now, true);
        else if (what == verdict::success &&
                 ++trial_successes_ >= std::max(1u, policy_->half_open_trials))
            close_locked();
        return;
    }
    // Verdicts of attempts let through before the breaker opened do not
    // count once it has.
    if (state_ != circuit_state::closed || what == verdict::none) return;
    const bool failed = what == verdict::failure;
    failures_in_a_row_ = failed ? failures_in_a_row_ + 1 : 0;
    if (policy_->failure_ratio > 0 && policy_->window > 0) {
        if (window_.size() < policy_->window) {
            window_.push_back(failed);
        } else {
            window_failures_ -= window_[window_next_];
            window_[window_next_] = failed;
            window_next_ = (window_next_ + 1) % window_.size();
        }
        window_failures_ += failed;
    }
    const bool too_many_in_a_row =
        policy_->consecutive_failures > 0 && failures_in_a_row_ >= policy_->consecutive_failures;
    const bool too_high_a_ratio = policy_->failure_ratio > 0 &&
                                  window_.size() >= std::max(1u, policy_->minimum_calls) &&
                                  static_cast<double>(window_failures_) >=
                                      policy_->failure_ratio * static_cast<double>(window_.size());
    if (too_many_in_a_row || too_high_a_ratio) open_locked(now, false);
}

void circuit_breaker::open_locked(clock::time_point now, bool after_trial) {
    using std::chrono::nanoseconds;
    nanoseconds how_long = policy_->open_for;
    if (after_trial && last_open_for_ > nanoseconds::zero() && how_long != nanoseconds::max()) {
        const double grown =
            static_cast<double>(last_open_for_.count()) * std::max(1.0, policy_->open_growth);
        const auto cap = std::max(policy_->max_open_for, policy_->open_for);
        how_long = grown >= static_cast<double>(cap.count())
                       ? cap
                       : nanoseconds(static_cast<nanoseconds::rep>(grown));
    }
    last_open_for_ = how_long;
    state_ = circuit_state::open;
    // nanoseconds::max() (or anything past the clock's range): open for good.
    open_until_ =
        how_long >= clock::time_point::max() - now ? clock::time_point::max() : now + how_long;
    ++times_opened_;
    failures_in_a_row_ = 0;
    window_.clear();
    window_next_ = 0;
    window_failures_ = 0;
    trials_in_flight_ = 0;
    trial_successes_ = 0;
}

void circuit_breaker::close_locked() {
    state_ = circuit_state::closed;
    last_open_for_ = {};
    failures_in_a_row_ = 0;
    trials_in_flight_ = 0;
    trial_successes_ = 0;
}

circuit_state circuit_breaker::state(clock::time_point now) const {
    std::lock_guard lock(mutex_);
    if (state_ == circuit_state::open && now >= open_until_) return circuit_state::half_open;
    return state_;
}

std::uint64_t circuit_breaker::times_opened() const {
    std::lock_guard lock(mutex_);
    return times_opened_;
}

std::uint64_t circuit_breaker::refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
}

circuit_breakers::circuit_breakers(circuit_breaker_policy policy) : policy_(std::move(policy)) {}

circuit_breakers::~circuit_breakers() = default;

circuit_breaker& circuit_breakers::at(std::string_view key) {
    std::lock_guard lock(mutex_);
    auto found = breakers_.find(key);
    if (found == breakers_.end())
        found =
            breakers_.emplace(std::string(key), std::make_unique<circuit_breaker>(policy_)).first;
    return *found->second;
}

std::size_t circuit_breakers::size() const {
    std::lock_guard lock(mutex_);
    return breakers_.size();
}

std::size_t circuit_breakers::open_now() const {
    std::lock_guard lock(mutex_);
    const auto now = circuit_breaker::clock::now();
    return static_cast<std::size_t>(std::count_if(
        breakers_.begin(), breakers_.end(),
        [now](const auto& entry) { return entry.second->state(now) == circuit_state::open; }));
}

}  // namespace fanout
