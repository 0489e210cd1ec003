// Measures the memory a gather holds, one scenario per process so each peak
// RSS (getrusage's ru_maxrss) belongs to that scenario alone:
//
//   memory_bench sleepers          100,000 items each sleeping 1 s on a
//                                  steady_timer, all at once (limit 100,000),
//                                  through gather_each with a counting sink
//   memory_bench sleepers_ordered  the same through gather (the vector of
//                                  100,000 outcomes included)
//   memory_bench sleepers_bare     the floor for both: the same 100,000
//                                  sleeps as bare co_spawned coroutines
//   memory_bench stream            10,000,000 items from a lazy input
//                                  (iota | transform) through gather_each,
//                                  limit 1,000, one suspension per item
//
// Prints `name value unit` lines: the RSS before the run (baseline), the
// peak, the difference per item (or per item in flight, for stream), and the
// seconds taken. Run by tests/bench/run.sh.
#include <fanout/gather.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t sleeper_count = 100'000;
constexpr std::size_t stream_count = 10'000'000;
constexpr std::size_t stream_limit = 1'000;

/// The largest resident set this process has had so far, in KiB.
long peak_rss_kib() {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) != 0) throw std::runtime_error("getrusage failed");
    return usage.ru_maxrss;  // Linux reports KiB
}

net::awaitable<void> sleep_one_second(std::size_t) {
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::seconds(1));
    co_await timer.async_wait(net::use_awaitable);
}

net::awaitable<void> suspend_once(std::size_t) {
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
}

/// Counts the items that succeeded; the gather's own memory is what is measured.
struct counting_sink {
    std::size_t* succeeded;
    void operator()(fanout::outcome<void>&& out) const {
        if (out.ok()) ++*succeeded;
    }
};

net::awaitable<std::size_t> sleepers(bool ordered) {
    const auto inputs = std::views::iota(std::size_t{0}, sleeper_count);
    const auto fn = [](std::size_t i) { return sleep_one_second(i); };
    fanout::gather_options options;
    options.limit = sleeper_count;
    std::size_t succeeded = 0;
    if (ordered) {
        const auto results = co_await fanout::gather(inputs, fn, options);
        for (const auto& out : results)
            if (out.ok()) ++succeeded;
    } else {
        co_await fanout::gather_each(inputs, fn, counting_sink{&succeeded}, options);
    }
    co_return succeeded;
}

net::awaitable<void> bare_sleeper(std::size_t& succeeded) {
    co_await sleep_one_second(0);
    ++succeeded;
}

net::awaitable<std::size_t> stream() {
    // transform makes each input a prvalue, so nothing is stored up front.
    auto inputs = std::views::iota(std::size_t{0}, stream_count) |
                  std::views::transform([](std::size_t i) { return i * 2; });
    const auto fn = [](std::size_t i) { return suspend_once(i); };
    fanout::gather_options options;
    options.limit = stream_limit;
    std::size_t succeeded = 0;
    co_await fanout::gather_each(inputs, fn, counting_sink{&succeeded}, options);
    co_return succeeded;
}

void print(std::string_view mode, const char* name, double value, const char* unit) {
    std::printf("%.*s_%s %.3f %s\n", static_cast<int>(mode.size()), mode.data(), name, value, unit);
}

int run(std::string_view mode) {
    std::size_t expected = 0;
    std::size_t per = 0;  // what the RSS growth is divided by
    if (mode == "sleepers" || mode == "sleepers_ordered" || mode == "sleepers_bare") {
        expected = per = sleeper_count;
    } else if (mode == "stream") {
        expected = stream_count;
        per = stream_limit;
    } else {
        std::fprintf(stderr,
                     "usage: memory_bench sleepers|sleepers_ordered|sleepers_bare|stream\n");
        return 2;
    }

    net::io_context io(1);
    const long baseline = peak_rss_kib();
    std::size_t succeeded = 0;
    const auto start = clock_type::now();
    auto rethrow = [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);
    };
    if (mode == "sleepers_bare") {
        for (std::size_t i = 0; i < sleeper_count; ++i)
            net::co_spawn(io, bare_sleeper(succeeded), rethrow);
    } else {
        auto body = mode == "stream" ? stream() : sleepers(mode == "sleepers_ordered");
        net::co_spawn(io, std::move(body), [&succeeded](std::exception_ptr error, std::size_t n) {
            if (error) std::rethrow_exception(error);
            succeeded = n;
        });
    }
    io.run();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    const long peak = peak_rss_kib();
    if (succeeded != expected)
        throw std::logic_error(std::string(mode) + ": " + std::to_string(succeeded) + " of " +
                               std::to_string(expected) + " items succeeded");

    print(mode, "items", static_cast<double>(expected), "count");
    print(mode, "baseline_rss", static_cast<double>(baseline) / 1024.0, "MiB");
    print(mode, "peak_rss", static_cast<double>(peak) / 1024.0, "MiB");
    print(mode, mode == "stream" ? "rss_per_item_in_flight" : "rss_per_item",
          static_cast<double>(peak - baseline) * 1024.0 / static_cast<double>(per), "B");
    print(mode, "seconds", seconds, "s");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc == 2 ? std::string_view(argv[1]) : std::string_view());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "memory_bench: %s\n", e.what());
        return 1;
    }
}
