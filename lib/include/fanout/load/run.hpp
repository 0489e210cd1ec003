#pragma once
// load::run(rt, options): HTTP/1.1 load over the runtime's loop threads, each
// with its share of keep-alive connections, closed loop or at a fixed rate,
// and the result merged from every loop's counters and histograms.
//
//   co_await load::run(rt, options, hooks) -> fanout::result<load::result>
//
// Before any load is sent the options are checked, every URL parsed, every
// host resolved (fanout::dns::resolver) and every origin connected to once,
// with a TLS handshake for https; any of these failing is a failure naming
// the URL or origin (errc::invalid_input, or the dns::errc code when a name
// does not resolve), and nothing is sent.
// Errors during the run (refused or reset connections, timeouts, malformed
// answers) are data: counted by kind in the result, and the connection is
// opened again.
// When the duration ends, sending stops and the answers in flight are
// waited for, each up to the timeout: an answer that comes is counted (with
// its latency), one that does not is a timeout error; so sent == responses +
// errors + unanswered, and a server that holds its answers past the end
// fails latency and error thresholds instead of passing them.
// Cancellation: cancelling the awaiting coroutine (e.g. the runtime's Ctrl-C
// handling) stops every connection at once, without waiting; the run then
// returns the result of what was done, with `interrupted` set and the
// requests in flight counted as unanswered.
//
// Threads: await run() inside rt.run(); it uses up to options::threads of
// `rt`'s loops. Hooks are called on the awaiting coroutine's executor and
// must not throw.

#include <fanout/load/options.hpp>
#include <fanout/load/result.hpp>
#include <fanout/outcome.hpp>
#include <fanout/runtime.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace fanout::load {

/// The counts of a run while it goes on.
struct live_counts {
    std::uint64_t sent = 0;
    std::uint64_t responses = 0;
    std::uint64_t errors = 0;
    std::optional<std::uint64_t> total;  ///< the requests asked for, with options::requests
    std::chrono::nanoseconds elapsed{};
};

struct run_hooks {
    /// Called once the checks have passed, just before load is sent.
    std::function<void()> on_start;
    /// How often on_tick is called.
    std::chrono::milliseconds tick{200};
    /// Called every tick while load is sent (e.g. to draw a progress line).
    std::function<void(const live_counts&)> on_tick;
};

/// Runs the load described by `opts` on `rt`'s loops (see the top of this
/// header for what fails and when).
boost::asio::awaitable<fanout::result<result>> run(runtime& rt, options opts, run_hooks hooks = {});

}  // namespace fanout::load
