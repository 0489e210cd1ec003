#pragma once
// The machinery of gather and gather_each (see <fanout/gather.hpp>, which
// includes this after its options; not for direct use).

#include <fanout/adaptive_limit.hpp>
#include <fanout/circuit_breaker.hpp>
#include <fanout/detail/completion_latch.hpp>
#include <fanout/duration.hpp>
#include <fanout/gather_options.hpp>
#include <fanout/hedge.hpp>
#include <fanout/outcome.hpp>
#include <fanout/progress.hpp>
#include <fanout/rate_limiter.hpp>
#include <fanout/retry.hpp>
#include <fanout/semaphore.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <ranges>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fanout {

namespace detail {

template <class A>
struct awaitable_traits;
template <class T, class E>
struct awaitable_traits<boost::asio::awaitable<T, E>> {
    using value_type = T;
};

template <class T>
struct result_traits {
    using value_type = T;
};
template <class T>
struct result_traits<result<T>> {
    using value_type = T;
};

// An async input (see gather.hpp), as gather_run holds it.
template <class Input>
struct async_input_ref {
    Input* input;
};

template <class View>
struct input_traits {
    using reference = std::ranges::range_reference_t<View>;
    // Items of a forward range over stable storage are used in place; any
    // other input is moved into the worker before the iterator advances.
    static constexpr bool by_reference =
        std::ranges::forward_range<View> && std::is_lvalue_reference_v<reference>;
    using holder = std::conditional_t<by_reference, std::remove_reference_t<reference>*,
                                      std::ranges::range_value_t<View>>;
    using argument = std::conditional_t<by_reference, reference, holder&>;
};

template <class Input>
struct input_traits<async_input_ref<Input>> {
    static constexpr bool by_reference = false;
    using holder = typename Input::value_type;
    using argument = holder&;
};

template <class View>
inline constexpr bool is_async_input_ref = false;
template <class Input>
inline constexpr bool is_async_input_ref<async_input_ref<Input>> = true;

// Where a gather's next input comes from: a range's iterator, or an async input.
template <class View>
struct input_cursor {
    explicit input_cursor(View& view)
        : next(std::ranges::begin(view)), end(std::ranges::end(view)) {}
    std::ranges::iterator_t<View> next;
    std::ranges::sentinel_t<View> end;
};
template <class Input>
struct input_cursor<async_input_ref<Input>> {
    explicit input_cursor(async_input_ref<Input>& view) : input(view.input) {}
    Input* input;
};

template <class View, class Fn>
using fn_awaited_t = typename awaitable_traits<
    std::invoke_result_t<Fn&, typename input_traits<View>::argument>>::value_type;

template <class View, class Fn>
using gather_value_t = typename result_traits<fn_awaited_t<View, Fn>>::value_type;

std::string attempt_timed_out_message(unsigned attempt, std::chrono::nanoseconds timeout);
failure stopped_failure(stop_reason why);
failure not_started_failure(stop_reason why);
failure circuit_open_failure(unsigned attempt);

template <class View, class Fn, class Sink, class KeyFn>
class gather_run {
  public:
    using traits = input_traits<View>;
    using value_type = gather_value_t<View, Fn>;
    using awaited_type = fn_awaited_t<View, Fn>;
    using clock = std::chrono::steady_clock;
    static constexpr bool keyed = !std::is_same_v<KeyFn, no_key>;
    static constexpr bool async = is_async_input_ref<View>;

    gather_run(View view, Fn fn, Sink sink, gather_options options, KeyFn key_of,
               boost::asio::any_io_executor executor)
        : view_(std::move(view)),
          cursor_(view_),
          fn_(std::move(fn)),
          sink_(std::move(sink)),
          key_of_(std::move(key_of)),
          options_(std::move(options)),
          executor_(std::move(executor)),
          random_(std::random_device{}()) {
        if (options_.limit == 0 && !options_.adaptive)
            throw std::invalid_argument("gather: limit must be at least 1");
        if constexpr (keyed && !std::is_convertible_v<const key_type&, std::string_view>)
            if (options_.breakers)
                throw std::invalid_argument(
                    "gather: with breakers, the key function must return a string");
        if (options_.hedge) {
            latencies_ = options_.hedge->latencies;
            if (!latencies_)
                latencies_ = (own_latencies_ = std::make_unique<latency_tracker>()).get();
            budget_ = options_.hedge->budget;
            if (!budget_) budget_ = (own_budget_ = std::make_unique<hedge_budget>()).get();
        }
    }

    gather_run(const gather_run&) = delete;
    gather_run& operator=(const gather_run&) = delete;

    const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

    /// Runs every item; resumes once every worker has finished. Never
    /// throws on cancellation (the workers refer to this object); a fault
    /// is kept for fault().
    boost::asio::awaitable<gather_summary> run() {
        namespace net = boost::asio;
        co_await net::this_coro::throw_if_cancelled(false);
        const auto state = co_await net::this_coro::cancellation_state;

        std::size_t workers = options_.adaptive ? options_.adaptive->max_limit() : options_.limit;
        if (options_.adaptive) {
            const auto now = options_.adaptive->current();
            summary_.limit_lowest = summary_.limit_highest = now;
            note_limit();
        }
        if constexpr (!async && std::ranges::sized_range<View>) {
            const auto size = static_cast<std::size_t>(std::ranges::size(view_));
            workers = std::min(workers, size);
            if (options_.progress) options_.progress->add_total(size);
        }
        if (options_.deadline) arm_deadline();
        if (options_.per_attempt_timeout) timeout_timer_.emplace(executor_);
        for (std::size_t i = 0; i < workers; ++i) spawn_worker();
        // Workers start running inside co_spawn, so a cancellation may have
        // arrived before the wait below could hear it.
        if (state.cancelled() != net::cancellation_type::none) request_stop(stop_reason::cancelled);

        co_await latch_.async_wait(
            executor_,
            [](void* self) {
                static_cast<gather_run*>(self)->request_stop(stop_reason::cancelled);
            },
            this, net::use_awaitable);
        summary_.stopped = stop_;
        if (options_.adaptive) note_limit();
        co_return summary_;
    }

    /// The caller was cancelled before the run began: every input comes out
    /// as not started.
    void cancel_before_start() { request_stop(stop_reason::cancelled); }

    /// What the sink or the input threw, if anything did.
    std::exception_ptr fault() const noexcept { return fault_; }

  private:
    struct worker_slot {
        worker_slot() = default;
        boost::asio::cancellation_signal signal;  // cancels what this worker awaits
        // Backoff and rate waits; made on first use (most workers never wait,
        // and a timer costs ~100 bytes per worker).
        std::unique_ptr<boost::asio::steady_timer> timer;
        // The attempt's timeout: a place in the gather's list of armed slots.
        clock::time_point timeout_at{};
        worker_slot* earlier = nullptr;
        worker_slot* later = nullptr;
        bool armed = false;
        bool timed_out = false;
        // Emit only to a worker that has started and not ended: a coroutine
        // cancelled before its first statement would die without draining.
        bool running = false;
    };

    using key_type = std::remove_cvref_t<
        std::invoke_result_t<std::conditional_t<keyed, KeyFn, int (*)(int)>&,
                             std::conditional_t<keyed, typename traits::argument, int>>>;

    // An attempt's admission under the adaptive limit; given back with no
    // verdict unless end() gave one.
    struct limit_permit {
        adaptive_limit* limit = nullptr;

        limit_permit() = default;
        limit_permit(limit_permit&& other) noexcept : limit(std::exchange(other.limit, nullptr)) {}
        limit_permit& operator=(limit_permit&& other) noexcept {
            if (this != &other) {
                end({}, limit_verdict::none);
                limit = std::exchange(other.limit, nullptr);
            }
            return *this;
        }
        ~limit_permit() { end({}, limit_verdict::none); }
        void end(clock::duration latency, limit_verdict what) {
            if (limit) std::exchange(limit, nullptr)->release(latency, what);
        }
    };

    // The adaptive limit's value, as this run saw it, to the summary and
    // the progress.
    void note_limit() {
        const auto now = options_.adaptive->current();
        summary_.limit_final = now;
        summary_.limit_lowest = std::min(summary_.limit_lowest, now);
        summary_.limit_highest = std::max(summary_.limit_highest, now);
        if (options_.progress) options_.progress->set_limit(now);
    }

    // Waits for admission under the adaptive limit; false when a stop cut
    // the wait short (or came while it was granted: nothing is held then).
    boost::asio::awaitable<bool> admit_adaptive(limit_permit& permit) {
        const bool admitted = co_await options_.adaptive->acquire();
        if (!admitted) co_return false;
        permit.limit = options_.adaptive.get();
        if (stop_ == stop_reason::none) co_return true;
        permit.end({}, limit_verdict::none);
        co_return false;
    }

    // An item's use of its key's entry, and the permit once granted. The
    // entry is dropped when no item uses it, so memory follows the keys in
    // flight, not every key seen.
    struct key_permit {
        gather_run& run;
        const key_type* key = nullptr;
        bool holds_permit = false;

        explicit key_permit(gather_run& owner) : run(owner) {}
        key_permit(const key_permit&) = delete;
        key_permit& operator=(const key_permit&) = delete;
        ~key_permit() { reset(); }

        void reset() {
            if constexpr (keyed) {
                if (!key) return;
                const auto entry = run.key_limits_.find(*std::exchange(key, nullptr));
                if (std::exchange(holds_permit, false)) entry->second.limit->release();
                if (--entry->second.users == 0) run.key_limits_.erase(entry);
            }
        }
    };

    void spawn_worker() {
        namespace net = boost::asio;
        auto& slot = slots_.emplace_back();
        latch_.add();
        ++live_workers_;
        net::co_spawn(executor_, worker(slot),
                      net::bind_cancellation_slot(slot.signal.slot(),
                                                  [this, &slot](std::exception_ptr error) {
                                                      slot.running = false;
                                                      if (error && !fault_) {
                                                          fault_ = error;
                                                          request_stop(stop_reason::fault);
                                                      }
                                                      if (--live_workers_ == 0) {
                                                          if (deadline_timer_)
                                                              deadline_timer_->cancel();
                                                          if (timeout_timer_)
                                                              timeout_timer_->cancel();
                                                      }
                                                      latch_.done();
                                                  }));
    }

    void arm_deadline() {
        deadline_timer_.emplace(executor_, *options_.deadline);
        latch_.add();
        deadline_timer_->async_wait([this](const boost::system::error_code& ec) {
            if (!ec) request_stop(stop_reason::deadline);
            latch_.done();
        });
    }

    void request_stop(stop_reason why, worker_slot* except = nullptr) {
        if (stop_ != stop_reason::none) return;
        stop_ = why;
        if constexpr (async) cursor_.input->stop();
        for (auto& slot : slots_)
            if (slot.running && &slot != except)
                slot.signal.emit(boost::asio::cancellation_type::terminal);
        if (deadline_timer_) deadline_timer_->cancel();
    }

    // Per-attempt timeouts share one timer: armed slots form a list ordered
    // by deadline (every attempt has the same timeout and starts from a
    // clock reading taken no earlier than the last one armed, so appending
    // keeps the order), and the timer waits for the head. Disarming is an
    // unlink, with no timer operation and no completion to run.
    void arm_timeout(worker_slot& slot, clock::time_point attempt_start) {
        slot.timed_out = false;
        slot.timeout_at = attempt_start + *options_.per_attempt_timeout;
        slot.armed = true;
        slot.earlier = armed_last_;
        slot.later = nullptr;
        (armed_last_ ? armed_last_->later : armed_first_) = &slot;
        armed_last_ = &slot;
        if (!timeout_timer_waiting_) wait_for_first_timeout();
    }

    void disarm_timeout(worker_slot& slot) noexcept {
        if (!slot.armed) return;
        (slot.earlier ? slot.earlier->later : armed_first_) = slot.later;
        (slot.later ? slot.later->earlier : armed_last_) = slot.earlier;
        slot.earlier = slot.later = nullptr;
        slot.armed = false;
    }

    void wait_for_first_timeout() {
        timeout_timer_->expires_at(armed_first_->timeout_at);
        timeout_timer_waiting_ = true;
        latch_.add();
        timeout_timer_->async_wait([this](const boost::system::error_code& ec) {
            timeout_timer_waiting_ = false;
            if (!ec) {
                const auto now = clock::now();
                while (armed_first_ && armed_first_->timeout_at <= now) {
                    worker_slot& late = *armed_first_;
                    disarm_timeout(late);
                    late.timed_out = true;
                    late.signal.emit(boost::asio::cancellation_type::terminal);
                }
                if (armed_first_ && live_workers_ > 0) wait_for_first_timeout();
            }
            latch_.done();
        });
    }

    // Waits on the worker's timer; false when cut short by a stop.
    boost::asio::awaitable<bool> sleep(worker_slot& slot, clock::duration how_long) {
        namespace net = boost::asio;
        if (!slot.timer) slot.timer = std::make_unique<boost::asio::steady_timer>(executor_);
        slot.timer->expires_after(how_long);
        auto [ec] = co_await slot.timer->async_wait(net::as_tuple(net::use_awaitable));
        co_return !ec && stop_ == stop_reason::none;
    }

    typename traits::holder take() requires(!async) {
        if constexpr (traits::by_reference) {
            auto* item = std::addressof(*cursor_.next);
            ++cursor_.next;
            return item;
        } else {
            typename traits::holder item = *cursor_.next;
            ++cursor_.next;
            return item;
        }
    }

    static decltype(auto) argument(typename traits::holder& held) {
        if constexpr (traits::by_reference)
            return *held;
        else
            return (held);
    }

    // A worker takes the next input, runs it as an item and delivers its
    // outcome, until the input ends or the run stops.
    boost::asio::awaitable<void> worker(worker_slot& slot) {
        namespace net = boost::asio;
        // The worker's own waits report cancellation as error codes; only
        // fn runs with Asio's default (a cancelled coroutine's next co_await
        // throws), so an item between two operations still stops.
        co_await net::this_coro::throw_if_cancelled(false);
        slot.running = true;
        // One clock reading per item: an item starts when the previous one
        // of this worker ended (delivering it and taking the next are
        // synchronous, so the difference is the sink's own time).
        auto last_end = clock::now();
        while (stop_ != stop_reason::fault) {
            std::optional<typename traits::holder> taken;
            if constexpr (async) {
                taken = co_await cursor_.input->next();
                if (!taken) break;
                // A stop may have reached the worker while it waited.
                co_await reset_if_cancelled();
                last_end = clock::now();  // the wait for input is not the item's time
            } else {
                if (cursor_.next == cursor_.end) break;
                taken.emplace(take());
            }
            typename traits::holder& held = *taken;
            outcome<value_type> out;
            out.index = next_index_++;
            // The first attempt's admission is waited for before the item
            // starts, so an item that never got it is reported as not
            // started; the wait is not the item's time.
            limit_permit first_permit;
            if (options_.adaptive && stop_ == stop_reason::none) {
                if (!options_.adaptive->try_acquire()) {
                    co_await admit_adaptive(first_permit);
                    co_await reset_if_cancelled();
                    last_end = clock::now();
                } else {
                    first_permit.limit = options_.adaptive.get();
                }
            }
            if (stop_ != stop_reason::none) {
                first_permit.end({}, limit_verdict::none);
                out.result = not_started_failure(stop_);
                ++summary_.not_started;
                deliver(slot, held, std::move(out));
                continue;
            }
            const auto started = last_end;
            co_await run_item(slot, held, out, started, first_permit);
            last_end = clock::now();
            out.elapsed = last_end - started;
            deliver(slot, held, std::move(out));
        }
        slot.running = false;
    }

    // Every attempt of one item that the retry policy allows, each admitted
    // first (its key's permit, a rate token); leaves the last result in `out`.
    boost::asio::awaitable<void> run_item(worker_slot& slot, typename traits::holder& held,
                                          outcome<value_type>& out, clock::time_point started,
                                          limit_permit& first_permit) {
        if (options_.progress) options_.progress->on_start();
        if (budget_) budget_->on_item();
        circuit_breaker* breaker = options_.breakers ? &breaker_of(held) : nullptr;
        for (unsigned attempt = 1;; ++attempt) {
            bool waited = attempt > 1;  // a wait before the attempt needs a fresh clock reading
            key_permit held_key(*this);
            limit_permit permit;
            if (attempt == 1) permit = std::move(first_permit);
            if (!co_await admit(slot, held, held_key, permit, waited)) {
                out.result = stopped_failure(stop_);
                co_await reset_if_cancelled();
                break;
            }
            auto admission = circuit_breaker::admission::admitted;
            if (breaker) {
                admission = breaker->admit();
                if (admission == circuit_breaker::admission::refused) {
                    out.result = circuit_open_failure(attempt);
                    break;
                }
            }
            out.attempts = attempt;
            const auto attempt_start = waited ? clock::now() : started;
            co_await run_attempt(slot, held, out, attempt, attempt_start);
            held_key.reset();
            if (permit.limit) {
                permit.end(clock::now() - attempt_start, limit_verdict_of(out));
                note_limit();
            }
            if (breaker) breaker->record(admission, verdict_of(*breaker, out));
            if (!worth_another_attempt(out, attempt)) break;
            if (!co_await back_off(slot, out, attempt)) break;
            if (options_.progress) options_.progress->on_retry();
        }
    }

    circuit_breaker& breaker_of(typename traits::holder& held) {
        if constexpr (keyed && std::is_convertible_v<const key_type&, std::string_view>) {
            const key_type key = key_of_(argument(held));
            return options_.breakers->at(std::string_view(key));
        } else {
            return options_.breakers->at({});
        }
    }

    circuit_breaker::verdict verdict_of(const circuit_breaker& breaker,
                                        const outcome<value_type>& out) const {
        if (out.ok()) return circuit_breaker::verdict::success;
        if (stop_ != stop_reason::none) return circuit_breaker::verdict::none;
        return breaker.judge(out.error());
    }

    limit_verdict limit_verdict_of(const outcome<value_type>& out) const {
        if (out.ok()) return limit_verdict::success;
        if (stop_ != stop_reason::none) return limit_verdict::none;
        return options_.adaptive->judge(out.error());
    }

    // Waits for what an attempt needs before it starts: admission under the
    // adaptive limit (unless the item's first attempt has it already), a
    // permit of its key (with a per-key limit) and a token of the rate
    // limiter. False when a stop cut a wait short; `waited` is set when
    // anything was waited for.
    boost::asio::awaitable<bool> admit(worker_slot& slot, typename traits::holder& held,
                                       key_permit& held_key, limit_permit& permit, bool& waited) {
        if (options_.adaptive && !permit.limit) {
            if (!options_.adaptive->try_acquire()) {
                waited = true;
                if (!co_await admit_adaptive(permit)) co_return false;
            } else {
                permit.limit = options_.adaptive.get();
            }
        }
        if constexpr (keyed) {
            if (options_.per_key_limit > 0) {
                semaphore& limit = enter_key(held_key, argument(held));
                if (!limit.try_acquire()) {
                    waited = true;
                    if (!co_await wait_for_permit(limit)) co_return false;
                }
                held_key.holds_permit = true;
            }
        }
        if (options_.rate) {
            const auto wait = options_.rate->reserve();
            if (wait > clock::duration::zero()) {
                waited = true;
                if (!co_await sleep(slot, wait)) co_return false;
            }
        }
        co_return true;
    }

    // Registers the item as a user of its key's entry (made on first use).
    semaphore& enter_key(key_permit& held_key, typename traits::argument item) requires keyed {
        auto& [key, entry] = *key_limits_.try_emplace(key_of_(item)).first;
        if (!entry.limit)
            entry.limit = std::make_unique<semaphore>(executor_, options_.per_key_limit);
        ++entry.users;
        held_key.key = &key;
        return *entry.limit;
    }

    static boost::asio::awaitable<bool> wait_for_permit(semaphore& limit) {
        namespace net = boost::asio;
        auto [ec] = co_await limit.async_acquire(net::as_tuple(net::use_awaitable));
        co_return !ec;
    }

    // One call of fn under the per-attempt timeout; its result, or why it
    // has none (timeout, the run's stop), goes to `out`.
    boost::asio::awaitable<void> run_attempt(worker_slot& slot, typename traits::holder& held,
                                             outcome<value_type>& out, unsigned attempt,
                                             clock::time_point attempt_start) {
        namespace net = boost::asio;
        if (options_.per_attempt_timeout) arm_timeout(slot, attempt_start);
        if (options_.hedge) {
            co_await run_hedged(held, out);
        } else {
            co_await net::this_coro::throw_if_cancelled(true);
            try {
                if constexpr (std::is_void_v<awaited_type>) {
                    co_await fn_(argument(held));
                    out.result = result<void>{};
                } else {
                    out.result = co_await fn_(argument(held));
                }
            } catch (...) {
                out.result = failure::from_exception(std::current_exception());
            }
            co_await net::this_coro::throw_if_cancelled(false);
        }
        disarm_timeout(slot);

        if (slot.timed_out) {
            slot.timed_out = false;
            out.result = failure{errc::timeout,
                                 attempt_timed_out_message(attempt, *options_.per_attempt_timeout)};
        } else if (!out.ok() && stop_ != stop_reason::none) {
            out.result = stopped_failure(stop_);
        }
        // reset_if_cancelled(), inlined: this is the per-item path.
        if (const auto state = co_await net::this_coro::cancellation_state;
            state.cancelled() != net::cancellation_type::none)
            co_await net::this_coro::reset_cancellation_state();
    }

    // An attempt and, while it is slow and the budget allows, its twins,
    // each a coroutine of its own; the worker waits on `wake`, which each of
    // them cancels as it ends.
    static constexpr unsigned race_size = hedge_policy::max_hedged_calls;
    struct hedge_race {
        explicit hedge_race(const boost::asio::any_io_executor& executor)
            : wake(executor, clock::time_point::max()) {}
        boost::asio::steady_timer wake;
        boost::asio::cancellation_signal signals[race_size];
        std::optional<result<value_type>> results[race_size];
        clock::duration took[race_size]{};
        unsigned started = 0;
        unsigned running = 0;
        unsigned last_to_end = 0;
    };

    boost::asio::awaitable<result<value_type>> call_fn(typename traits::holder& held) {
        try {
            if constexpr (std::is_void_v<awaited_type>) {
                co_await fn_(argument(held));
                co_return result<void>{};
            } else {
                co_return co_await fn_(argument(held));
            }
        } catch (...) {
            co_return failure::from_exception(std::current_exception());
        }
    }

    boost::asio::awaitable<void> raced_attempt(hedge_race& race, typename traits::holder& held,
                                               unsigned which) {
        const auto began = clock::now();
        auto ended = co_await call_fn(held);
        race.took[which] = clock::now() - began;
        race.results[which].emplace(std::move(ended));
        race.last_to_end = which;
    }

    void start_raced_attempt(hedge_race& race, typename traits::holder& held, unsigned which) {
        namespace net = boost::asio;
        ++race.started;
        ++race.running;
        net::co_spawn(
            executor_, raced_attempt(race, held, which),
            net::bind_cancellation_slot(race.signals[which].slot(), [&race](std::exception_ptr) {
                --race.running;
                race.wake.cancel();
            }));
    }

    static void cancel_unfinished(hedge_race& race) {
        for (unsigned i = 0; i < race.started; ++i)
            if (!race.results[i]) race.signals[i].emit(boost::asio::cancellation_type::terminal);
    }

    // One attempt, hedged (see hedge.hpp): returns once every call of the
    // race has finished.
    boost::asio::awaitable<void> run_hedged(typename traits::holder& held,
                                            outcome<value_type>& out) {
        namespace net = boost::asio;
        hedge_race race(executor_);
        const auto delay = options_.hedge->delay_for(*latencies_);
        const unsigned calls = std::clamp(options_.hedge->max_attempts, 2u, race_size);
        const auto first_started = clock::now();
        start_raced_attempt(race, held, 0);
        bool hedge_pending = delay.has_value();
        bool cancelled = false;
        int winner = -1;
        while (race.running > 0) {
            // The next twin is due one delay after the previous call began.
            race.wake.expires_at(hedge_pending ? first_started + race.started * *delay
                                               : clock::time_point::max());
            auto [ec] = co_await race.wake.async_wait(net::as_tuple(net::use_awaitable));
            if (const auto state = co_await net::this_coro::cancellation_state;
                state.cancelled() != net::cancellation_type::none) {
                co_await net::this_coro::reset_cancellation_state();
                cancelled = true;
                hedge_pending = false;
                cancel_unfinished(race);
            }
            if (winner < 0) {
                for (unsigned i = 0; i < race.started; ++i)
                    if (race.results[i] && race.results[i]->has_value()) {
                        winner = static_cast<int>(i);
                        hedge_pending = false;
                        cancel_unfinished(race);
                        break;
                    }
            }
            if (!ec && hedge_pending) {
                // Hedged only while every call so far is still running:
                // a failed call ends the race as its calls end.
                hedge_pending = false;
                if (race.running == race.started && !cancelled && stop_ == stop_reason::none &&
                    budget_->try_take()) {
                    start_raced_attempt(race, held, race.started);
                    ++out.hedges;
                    hedge_pending = race.started < calls;
                }
            }
        }
        if (winner >= 0) {
            const auto which = static_cast<unsigned>(winner);
            out.result = std::move(*race.results[which]);
            out.hedge_won = which != 0;
            latencies_->record(race.took[which]);
        } else if (race.results[race.last_to_end]) {
            out.result = std::move(*race.results[race.last_to_end]);
        } else {
            out.result = failure{errc::cancelled};
        }
    }

    bool worth_another_attempt(const outcome<value_type>& out, unsigned attempt) const {
        if (out.ok() || stop_ != stop_reason::none) return false;
        return attempt < options_.retry.max_attempts && options_.retry.should_retry(out.error());
    }

    // The retry policy's wait after a failed attempt; false when a stop cut
    // it short (the outcome then says why).
    boost::asio::awaitable<bool> back_off(worker_slot& slot, outcome<value_type>& out,
                                          unsigned attempt) {
        const auto backoff = options_.retry.backoff(attempt, out.error(), random_);
        if (co_await sleep(slot, backoff)) co_return true;
        if (stop_ != stop_reason::none) out.result = stopped_failure(stop_);
        co_await reset_if_cancelled();
        co_return false;
    }

    // Clears the worker's cancelled state after an emission reached it, so
    // the next item starts clean. (The worker runs with throw_if_cancelled
    // off, so awaiting this never throws.)
    static boost::asio::awaitable<void> reset_if_cancelled() {
        namespace net = boost::asio;
        const auto state = co_await net::this_coro::cancellation_state;
        if (state.cancelled() != net::cancellation_type::none)
            co_await net::this_coro::reset_cancellation_state();
    }

    void deliver(worker_slot& slot, typename traits::holder& held, outcome<value_type>&& out) {
        ++summary_.total;
        const bool ok = out.ok();
        if (ok)
            ++summary_.succeeded;
        else
            ++summary_.failed;
        const bool refused = !ok && out.error().code == errc::circuit_open;
        summary_.circuit_open += refused;
        if (options_.progress && (out.attempts > 0 || refused)) options_.progress->on_done(ok);
        if (!ok && options_.on_failure == failure_mode::fail_fast && stop_ == stop_reason::none)
            request_stop(stop_reason::fail_fast, &slot);
        if (ok && summary_.succeeded == options_.enough_successes)
            request_stop(stop_reason::enough, &slot);
        try {
            if constexpr (std::is_invocable_v<Sink&, typename traits::argument,
                                              outcome<value_type>&&>)
                sink_(argument(held), std::move(out));
            else
                sink_(std::move(out));
        } catch (...) {
            if (!fault_) fault_ = std::current_exception();
            request_stop(stop_reason::fault);
        }
    }

    View view_;
    input_cursor<View> cursor_;
    Fn fn_;
    Sink sink_;
    KeyFn key_of_;
    gather_options options_;
    boost::asio::any_io_executor executor_;
    std::mt19937_64 random_;
    std::unique_ptr<latency_tracker> own_latencies_;
    std::unique_ptr<hedge_budget> own_budget_;
    latency_tracker* latencies_ = nullptr;  // with a hedge policy
    hedge_budget* budget_ = nullptr;

    std::deque<worker_slot> slots_;
    completion_latch latch_;
    std::size_t live_workers_ = 0;
    std::optional<boost::asio::steady_timer> deadline_timer_;
    std::optional<boost::asio::steady_timer> timeout_timer_;
    bool timeout_timer_waiting_ = false;
    worker_slot* armed_first_ = nullptr;  // earliest deadline
    worker_slot* armed_last_ = nullptr;
    std::size_t next_index_ = 0;
    stop_reason stop_ = stop_reason::none;
    std::exception_ptr fault_;
    gather_summary summary_;
    struct key_entry {
        std::unique_ptr<semaphore> limit;
        std::size_t users = 0;  // items holding or waiting for this key
    };
    std::conditional_t<keyed, std::unordered_map<key_type, key_entry>, char> key_limits_{};
};

/// Whether handlers on `executor` never run concurrently: an io_context
/// made with concurrency hint 1, or a strand.
bool runs_serially(const boost::asio::any_io_executor& executor) noexcept;

template <class View, class Fn, class Sink, class KeyFn>
boost::asio::awaitable<gather_summary> gather_each(View view, Fn fn, Sink sink,
                                                   gather_options options, KeyFn key_of) {
    namespace net = boost::asio;
    // From here to the end of the run nothing may throw on cancellation:
    // the workers refer to `run`.
    const bool caller_throws = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    const auto caller_state = co_await net::this_coro::cancellation_state;
    const net::any_io_executor caller_executor = co_await net::this_coro::executor;
    const bool serial = runs_serially(caller_executor);

    gather_run<View, Fn, Sink, KeyFn> run(
        std::move(view), std::move(fn), std::move(sink), std::move(options), std::move(key_of),
        serial ? caller_executor : net::any_io_executor(net::make_strand(caller_executor)));
    gather_summary summary;
    if (serial) {
        summary = co_await run.run();
    } else {
        // The run is a coroutine of its own on the strand; the caller's
        // cancellation reaches it through co_spawn (dispatched to the
        // strand), except one that came before it began.
        if (caller_state.cancelled() != net::cancellation_type::none) run.cancel_before_start();
        summary = co_await net::co_spawn(run.executor(), run.run(), net::use_awaitable);
    }
    // A cancelled gather has said so in its summary; the caller goes on.
    if (caller_state.cancelled() != net::cancellation_type::none)
        co_await net::this_coro::reset_cancellation_state();
    co_await net::this_coro::throw_if_cancelled(caller_throws);
    if (const auto fault = run.fault()) std::rethrow_exception(fault);
    co_return summary;
}

template <class T, class View, class Fn, class KeyFn>
boost::asio::awaitable<std::vector<outcome<T>>> gather_ordered(View view, Fn fn,
                                                               gather_options options,
                                                               KeyFn key_of) {
    std::vector<outcome<T>> results;
    if constexpr (std::ranges::sized_range<View>)
        results.resize(static_cast<std::size_t>(std::ranges::size(view)));
    auto store = [&results](outcome<T>&& out) {
        if (out.index >= results.size()) results.resize(out.index + 1);
        results[out.index] = std::move(out);
    };
    co_await detail::gather_each(std::move(view), std::move(fn), store, std::move(options),
                                 std::move(key_of));
    co_return results;
}

}  // namespace detail
}  // namespace fanout
