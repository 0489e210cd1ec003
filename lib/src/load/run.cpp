#include <fanout/load/run.hpp>

#include "load/loop_driver.hpp"
#include "load/plan.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <thread>

namespace fanout::load {

namespace net = boost::asio;
using detail::clock;
using namespace std::chrono_literals;

namespace {

// The loops a run uses: as many as asked (one per core by default), no more
// than the runtime has, nor than there are connections.
std::size_t loops_for(const options& opts, const runtime& rt) {
    const std::size_t wanted =
        opts.threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : opts.threads;
    return std::max<std::size_t>(1, std::min({wanted, rt.loop_count(), opts.connections}));
}

live_counts sum_live(const std::vector<std::shared_ptr<detail::loop_driver>>& drivers,
                     const options& opts, clock::time_point start) {
    live_counts out;
    for (const auto& d : drivers) {
        out.sent += d->live().sent.load(std::memory_order_relaxed);
        out.responses += d->live().responses.load(std::memory_order_relaxed);
        out.errors += d->live().errors.load(std::memory_order_relaxed);
    }
    out.total = opts.requests;
    out.elapsed = clock::now() - start;
    return out;
}

}  // namespace

net::awaitable<fanout::result<result>> run(runtime& rt, options opts, run_hooks hooks) {
    // Cancellation is watched for below, between waits; it must not turn
    // into exceptions in this coroutine's later waits.
    // (Restored before each co_return: a destructor cannot co_await.)
    const bool threw_if_cancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);

    fanout::result<detail::plan> prepared = co_await detail::prepare(std::move(opts));
    const auto cancelled = [](const net::cancellation_state& state) {
        return state.cancelled() != net::cancellation_type::none;
    };
    if (cancelled(co_await net::this_coro::cancellation_state)) {
        co_await net::this_coro::throw_if_cancelled(threw_if_cancelled);
        co_return failure{errc::cancelled, "cancelled before the load started"};
    }
    if (!prepared) {
        co_await net::this_coro::throw_if_cancelled(threw_if_cancelled);
        co_return std::move(prepared.error());
    }
    const detail::plan& the_plan = *prepared;
    const options& o = the_plan.opts;

    detail::shared_run shared(the_plan);
    if (o.requests) shared.remaining.store(static_cast<std::int64_t>(*o.requests));
    const std::size_t loops = loops_for(o, rt);
    std::vector<std::vector<std::size_t>> ids(loops);
    for (std::size_t id = 0; id < o.connections; ++id) ids[id % loops].push_back(id);
    std::vector<std::shared_ptr<detail::loop_driver>> drivers;
    for (std::size_t i = 0; i < loops; ++i)
        drivers.push_back(
            std::make_shared<detail::loop_driver>(rt.executor(i), shared, std::move(ids[i])));

    if (hooks.on_start) hooks.on_start();
    const auto executor = co_await net::this_coro::executor;
    net::steady_timer wake(executor);
    std::size_t running = loops;
    shared.start = clock::now();
    const auto wall_start = std::chrono::system_clock::now();
    for (auto& d : drivers) {
        net::post(d->executor(), [d, executor, &running, &wake] {
            d->start([executor, &running, &wake] {
                net::post(executor, [&running, &wake] {
                    if (--running == 0) wake.cancel();
                });
            });
        });
    }

    bool stopped = false;
    const auto stop_all = [&] {
        stopped = true;
        shared.stop.store(true, std::memory_order_relaxed);
        for (auto& d : drivers) net::post(d->executor(), [d] { d->stop(); });
    };
    const std::optional<clock::time_point> deadline =
        o.duration ? std::optional(shared.start + *o.duration) : std::nullopt;
    // At the end of the duration sending stops and the answers in flight
    // are waited for: each is answered or times out (the drivers' watchdogs
    // count it as a timeout). Past this, whatever is left is unanswered.
    std::optional<clock::time_point> drain_until;
    std::optional<clock::time_point> ended_at;
    bool interrupted = false;
    while (running > 0) {
        auto next = clock::now() + hooks.tick;
        if (deadline && !ended_at) next = std::min(next, *deadline);
        if (drain_until) next = std::min(next, *drain_until);
        wake.expires_at(next);
        co_await wake.async_wait(net::as_tuple(net::use_awaitable));
        if (running == 0) break;
        const auto now = clock::now();
        if (!stopped && cancelled(co_await net::this_coro::cancellation_state)) {
            interrupted = true;
            if (!ended_at) ended_at = now;
            stop_all();
        } else if (!ended_at && deadline && now >= *deadline) {
            ended_at = *deadline;
            drain_until = now + o.timeout + std::max<clock::duration>(o.timeout / 4, 250ms);
            for (auto& d : drivers) net::post(d->executor(), [d] { d->drain(); });
        } else if (!stopped && drain_until && now >= *drain_until) {
            stop_all();
        }
        if (!ended_at && hooks.on_tick) hooks.on_tick(sum_live(drivers, o, shared.start));
    }
    if (!ended_at) ended_at = clock::now();
    co_await net::this_coro::throw_if_cancelled(threw_if_cancelled);

    // Each loop's part counts its connections and itself as a thread.
    result total;
    for (auto& d : drivers) total += d->take_result();
    total.runs = 1;
    total.rate = o.rate;
    total.pipeline = o.pipeline;
    total.protocol = o.version == protocol::http1_1 ? "http/1.1" : "h2";
    total.duration = *ended_at - shared.start;
    total.interrupted = interrupted;
    total.series.start_unix_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall_start.time_since_epoch()).count();
    co_return total;
}

}  // namespace fanout::load
