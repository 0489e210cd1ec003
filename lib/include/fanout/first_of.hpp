#pragma once
// The first success, or the first k, of a fan-out.
//
//   first_of(inputs, fn, options)     -> awaitable<quorum_result<T>>
//       the first input whose fn succeeds; the rest cancelled
//   quorum(k, inputs, fn, options)    -> awaitable<quorum_result<T>>
//       the first k successes; the rest cancelled
//
// Both are gathers (gather.hpp) with options.enough_successes set: the same
// limit, per-attempt timeout, deadline, retries, hedging, breakers and key
// function, and an outcome for every input, in input order. Once enough
// items have succeeded the items in flight are cancelled through their
// cancellation slots and have finished before these return (their outcomes
// say errc::cancelled, "enough items succeeded"); inputs not started by
// then end as errc::cancelled with attempts == 0. When fewer than k succeed
// (all failed, the deadline, a cancellation from outside) `reached` is false
// and the outcomes hold the failures.
// Errors and cancellation otherwise as for gather: per-item failures are
// values; cancelling the caller cancels the run, which completes normally
// (summary.stopped == stop_reason::cancelled); what the input range throws is
// rethrown after every item has finished.

#include <fanout/gather.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <utility>
#include <vector>

namespace fanout {

template <class T>
struct quorum_result {
    std::vector<outcome<T>> outcomes;    ///< one per input, in input order
    std::vector<std::size_t> successes;  ///< indices of the successes, first first
    bool reached = false;                ///< as many successes as asked for
    gather_summary summary;

    /// The first success; nullptr when there was none.
    const outcome<T>* first() const noexcept {
        return successes.empty() ? nullptr : &outcomes[successes.front()];
    }
};

namespace detail {

template <class T, class View, class Fn, class KeyFn>
boost::asio::awaitable<quorum_result<T>> gather_quorum(std::size_t k, View view, Fn fn,
                                                       gather_options options, KeyFn key_of) {
    if (k == 0) throw std::invalid_argument("quorum: k must be at least 1");
    options.enough_successes = k;
    quorum_result<T> result;
    if constexpr (std::ranges::sized_range<View>)
        result.outcomes.resize(static_cast<std::size_t>(std::ranges::size(view)));
    auto store = [&result](outcome<T>&& out) {
        if (out.ok()) result.successes.push_back(out.index);
        if (out.index >= result.outcomes.size()) result.outcomes.resize(out.index + 1);
        result.outcomes[out.index] = std::move(out);
    };
    result.summary = co_await detail::gather_each(std::move(view), std::move(fn), store,
                                                  std::move(options), std::move(key_of));
    result.reached = result.successes.size() >= k;
    co_return result;
}

}  // namespace detail

/// The first k successes of fn over inputs; see the top of this header.
template <std::ranges::viewable_range Inputs, class Fn, class KeyFn = no_key>
requires std::ranges::input_range<Inputs>
auto quorum(std::size_t k, Inputs&& inputs, Fn fn, gather_options options = {}, KeyFn key_of = {}) {
    auto view = std::views::all(std::forward<Inputs>(inputs));
    using value_type = detail::gather_value_t<decltype(view), Fn>;
    return detail::gather_quorum<value_type>(k, std::move(view), std::move(fn), std::move(options),
                                             std::move(key_of));
}

/// The first success of fn over inputs; see the top of this header.
template <std::ranges::viewable_range Inputs, class Fn, class KeyFn = no_key>
requires std::ranges::input_range<Inputs>
auto first_of(Inputs&& inputs, Fn fn, gather_options options = {}, KeyFn key_of = {}) {
    return quorum(1, std::forward<Inputs>(inputs), std::move(fn), std::move(options),
                  std::move(key_of));
}

}  // namespace fanout
