// A fan-out inside a program that owns its io_context and its signals: the
// gather is one task on the program's loop, SIGTERM or Ctrl-C cancels it
// through the program's own signal_set, every item is still accounted for,
// and the task goes on afterwards (the gather answers the cancellation, so
// the next co_await does not throw). Here, after 100 items, the program
// stops the fan-out as its signal handler does, as if an operator had
// pressed Ctrl-C.
#include <fanout/gather.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <numeric>
#include <vector>

namespace net = boost::asio;
using namespace std::chrono_literals;

// Stands in for a network call of 2 ms.
net::awaitable<int> call(int item) {
    net::steady_timer timer(co_await net::this_coro::executor, 2ms);
    co_await timer.async_wait(net::use_awaitable);
    co_return item;
}

int main() {
    net::io_context io;  // the program's loop, run by the program
    net::signal_set signals(io, SIGINT, SIGTERM);
    net::cancellation_signal stop;
    signals.async_wait([&stop](boost::system::error_code ec, int) {
        if (!ec) stop.emit(net::cancellation_type::terminal);
    });

    std::vector<int> items(10'000);
    std::iota(items.begin(), items.end(), 0);
    std::size_t reported = 0;
    bool accounted = false;
    auto task = [&]() -> net::awaitable<void> {
        auto sink = [&](fanout::outcome<int>&&) {
            if (++reported == 100)
                net::post(io, [&stop] { stop.emit(net::cancellation_type::terminal); });
        };
        const fanout::gather_options options{.limit = 16};
        const auto summary = co_await fanout::gather_each(items, call, sink, options);
        // Not thrown at: the cancellation was answered by the gather.
        net::steady_timer settle(co_await net::this_coro::executor, 1ms);
        co_await settle.async_wait(net::use_awaitable);
        std::printf("%llu outcomes, %llu succeeded, %llu not started, stopped: %s\n",
                    static_cast<unsigned long long>(summary.total),
                    static_cast<unsigned long long>(summary.succeeded),
                    static_cast<unsigned long long>(summary.not_started),
                    summary.stopped == fanout::stop_reason::cancelled ? "cancelled" : "no");
        accounted = summary.total == items.size() && reported == items.size() &&
                    summary.stopped == fanout::stop_reason::cancelled;
    };
    std::exception_ptr failed;
    net::co_spawn(io, task(), net::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr e) {
                      failed = e;
                      signals.cancel();  // the program's other work ends too
                  }));
    io.run();
    return accounted && !failed ? 0 : 1;
}
