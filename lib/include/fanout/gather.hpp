#pragma once
// Bounded fan-out over any input range.
//
//   gather(inputs, fn, options)            -> awaitable<std::vector<outcome<T>>>
//       one outcome per input, in input order (asyncio.gather with
//       return_exceptions=True, folly collectAllTryWindowed)
//   gather_each(inputs, fn, sink, options) -> awaitable<gather_summary>
//       sink(outcome<T>&&), or sink(input, outcome<T>&&), as each item ends,
//       memory O(limit) (as_completed)
//
// fn(item) returns awaitable<T> or awaitable<result<T>>. At most
// options.limit items are in flight; workers pull the next input only when
// they are free, so a lazy input of ten million items never makes ten million
// coroutine frames. Every input ends as exactly one outcome.
//
// Errors: an item's failure is a value in its outcome: a failure returned by
// fn, an exception fn threw (captured, code kept for system_error), a per-
// attempt timeout (errc::timeout), the global deadline (errc::deadline_exceeded,
// for items in flight then). Retries follow options.retry. With
// failure_mode::fail_fast the first failure cancels the rest.
// Timeouts: the per-attempt timeout bounds everything fn does in one attempt
// (CPU time included; not the backoff between attempts). A timeout inside fn
// (the HTTP client's phases, the resolver's tries) races it: the first to
// run out ends the attempt, and either way the code is errc::timeout, the
// message saying which ("attempt 2 timed out after 2s" for this one).
// Cancellation: cancelling the awaiting coroutine cancels the items in
// flight through their cancellation slots (they finish, as errc::cancelled);
// inputs not yet started come out as errc::cancelled with attempts == 0, and
// the gather completes normally once every worker has finished, its summary
// saying stop_reason::cancelled. The cancellation is then answered: the
// awaiting coroutine's cancellation state is reset (to Asio's default
// filters, as this_coro::reset_cancellation_state() does), so its next
// co_await does not throw. A caller that means to stop checks the summary.
// Threads: any executor. On an io_context with concurrency hint 1 (fanout's
// runtime loops) or a strand, the gather runs on the caller's executor as
// it is; on anything else (an io_context run by several threads, a thread
// pool) its bookkeeping, fn and the sink run on a strand of that executor,
// so fn and the sink never run concurrently with each other within one
// gather (items still overlap at their co_awaits).
// Tail tools, all options of the same run: options.hedge twins a slow
// attempt (hedge.hpp); options.breakers ends a failing key's items as
// errc::circuit_open, untried (circuit_breaker.hpp); options.adaptive moves
// the limit with latency and drops (adaptive_limit.hpp); enough_successes
// stops after k successes, as first_of and quorum do (first_of.hpp).
// An exception thrown by the sink or by the input range is a fault, not an
// item failure: the rest is cancelled and the exception is rethrown once
// every worker has finished.
//
// Async inputs: instead of a range, gather_each takes (by reference) an
// async_input, such as a line_source (line_source.hpp): an object whose
// next() returns awaitable<std::optional<T>> (nothing: the end) and whose
// stop() ends it. Workers co_await next(), so an input read off the loop
// never blocks it, and the time an item waits for its input counts neither
// in its elapsed time nor in its timeout. When the gather stops (cancelled,
// deadline, fail-fast, fault) it calls stop() and reports what next() still
// returns (the items already read ahead) as not started; one input may feed
// gathers on several loops at once.

#include <fanout/detail/gather_run.hpp>
#include <fanout/gather_options.hpp>
#include <fanout/outcome.hpp>

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <optional>
#include <ranges>
#include <utility>
#include <vector>

namespace fanout {

/// An input read asynchronously; see the top of this header.
template <class Input>
concept async_input = requires(Input& input) {
    typename Input::value_type;
    {
        input.next()
        } -> std::same_as<boost::asio::awaitable<std::optional<typename Input::value_type>>>;
    input.stop();
};

/// One outcome per input, in input order. See the top of this header for
/// errors and cancellation. `key_of(item)`, with options.per_key_limit,
/// limits items in flight per key (e.g. per host).
template <std::ranges::viewable_range Inputs, class Fn, class KeyFn = no_key>
requires std::ranges::input_range<Inputs>
auto gather(Inputs&& inputs, Fn fn, gather_options options = {}, KeyFn key_of = {}) {
    auto view = std::views::all(std::forward<Inputs>(inputs));
    using value_type = detail::gather_value_t<decltype(view), Fn>;
    return detail::gather_ordered<value_type>(std::move(view), std::move(fn), std::move(options),
                                              std::move(key_of));
}

/// sink(outcome<T>&&) for each input as it ends, on the gather's loop, or
/// sink(input, outcome<T>&&) when the sink takes the input too (the input
/// as fn saw it: attribution for a lazy input that is gone by then);
/// memory O(limit). Returns the counts. See the top of this header.
template <std::ranges::viewable_range Inputs, class Fn, class Sink, class KeyFn = no_key>
requires std::ranges::input_range<Inputs> boost::asio::awaitable<gather_summary> gather_each(
    Inputs&& inputs, Fn fn, Sink sink, gather_options options = {}, KeyFn key_of = {}) {
    return detail::gather_each(std::views::all(std::forward<Inputs>(inputs)), std::move(fn),
                               std::move(sink), std::move(options), std::move(key_of));
}

/// sink(outcome<T>&&) or sink(input, outcome<T>&&) for each item of an async
/// input as it ends; the input must outlive the gather, and may feed other
/// gathers at once. See the top of this header.
template <async_input Input, class Fn, class Sink, class KeyFn = no_key>
boost::asio::awaitable<gather_summary> gather_each(Input& input, Fn fn, Sink sink,
                                                   gather_options options = {}, KeyFn key_of = {}) {
    return detail::gather_each(detail::async_input_ref<Input>{&input}, std::move(fn),
                               std::move(sink), std::move(options), std::move(key_of));
}

/// The value type of the outcomes a gather of `fn` over `Inputs` produces.
template <class Inputs, class Fn>
using gather_value_t = detail::gather_value_t<std::views::all_t<Inputs>, Fn>;

}  // namespace fanout
