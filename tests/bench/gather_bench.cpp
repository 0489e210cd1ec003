// Measures what gather costs per item: N trivial items (each suspends exactly
// once, through post) at a fixed limit on one loop thread, in four shapes:
// gather_each with a counting sink and ordered gather, each without and with
// a per-attempt timeout armed (one that never fires); and, as the floor they
// are compared with, the same items run by `limit` bare coroutines.
//
// Each shape runs `--repeats` times, each on a fresh io_context(1), and
// prints its median rate twice as `name value unit` lines: items per wall
// second, and items per second of the loop thread's CPU time (the figure to
// trust on a busy, shared machine). Run by tests/bench/run.sh.
#include <fanout/gather.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

namespace net = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
    std::size_t items = 1'000'000;
    std::size_t limit = 1'000;
    int repeats = 5;
    std::string only;  // run just this shape (for profiling); empty: all
};

struct shape {
    const char* name;
    bool ordered;       // gather (builds the vector) rather than gather_each
    bool timeout;       // options.per_attempt_timeout armed, never firing
    bool bare = false;  // no gather at all: the floor the others are compared with
};

constexpr shape shapes[] = {
    {"bare_workers", false, false, true},   {"gather_each", false, false},
    {"gather_each_timeout", false, true},   {"gather_ordered", true, false},
    {"gather_ordered_timeout", true, true},
};

/// The item under test: one suspension and nothing else.
net::awaitable<void> trivial_item(std::size_t) {
    co_await net::post(co_await net::this_coro::executor, net::use_awaitable);
}

/// The floor: the same items with no gather, `limit` bare coroutines pulling
/// indices from a shared counter.
net::awaitable<void> bare_worker(std::size_t& next, std::size_t items, std::size_t& succeeded) {
    while (next < items) {
        co_await trivial_item(next++);
        ++succeeded;
    }
}

fanout::gather_options options_for(const shape& s, const settings& config) {
    fanout::gather_options options;
    options.limit = config.limit;
    if (s.timeout) options.per_attempt_timeout = std::chrono::seconds(10);
    return options;
}

/// One gather of the shape, leaving the number of items that succeeded in
/// `succeeded` (checked by the caller: a bench that loses items measures
/// nothing). The ordered shape builds, checks and frees the whole vector.
net::awaitable<void> one_gather(shape s, settings config, std::size_t& succeeded) {
    const auto inputs = std::views::iota(std::size_t{0}, config.items);
    const auto fn = [](std::size_t i) { return trivial_item(i); };
    const auto options = options_for(s, config);
    if (s.ordered) {
        const auto results = co_await fanout::gather(inputs, fn, options);
        for (const auto& out : results)
            if (out.ok()) ++succeeded;
    } else {
        auto count = [&succeeded](fanout::outcome<void>&& out) {
            if (out.ok()) ++succeeded;
        };
        co_await fanout::gather_each(inputs, fn, count, options);
    }
}

/// CPU time of the calling thread: unlike the wall clock, it does not grow
/// while the shared machine runs someone else.
double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

struct timing {
    double wall_seconds;
    double cpu_seconds;
};

timing run_once(const shape& s, const settings& config) {
    net::io_context io(1);
    std::size_t succeeded = 0;
    std::size_t next = 0;
    auto rethrow = [](std::exception_ptr error) {
        if (error) std::rethrow_exception(error);
    };
    const auto wall_start = clock_type::now();
    const double cpu_start = thread_cpu_seconds();
    if (s.bare) {
        for (std::size_t i = 0; i < config.limit; ++i)
            net::co_spawn(io, bare_worker(next, config.items, succeeded), rethrow);
    } else {
        net::co_spawn(io, one_gather(s, config, succeeded), rethrow);
    }
    io.run();
    const timing taken{std::chrono::duration<double>(clock_type::now() - wall_start).count(),
                       thread_cpu_seconds() - cpu_start};
    if (succeeded != config.items)
        throw std::logic_error(std::string(s.name) + ": " + std::to_string(succeeded) + " of " +
                               std::to_string(config.items) + " items succeeded");
    return taken;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

void bench(const shape& s, const settings& config) {
    std::vector<double> wall_rates;
    std::vector<double> cpu_rates;
    const auto items = static_cast<double>(config.items);
    for (int i = 0; i < config.repeats; ++i) {
        const timing taken = run_once(s, config);
        wall_rates.push_back(items / taken.wall_seconds);
        cpu_rates.push_back(items / taken.cpu_seconds);
        std::fprintf(stderr, "%s run %d: %.3f s wall, %.3f s cpu\n", s.name, i + 1,
                     taken.wall_seconds, taken.cpu_seconds);
    }
    std::printf("%s_items_per_s %.0f items/s\n", s.name, median(wall_rates));
    std::printf("%s_items_per_cpu_s %.0f items/s\n", s.name, median(cpu_rates));
    std::fflush(stdout);
}

std::size_t parse_count(const char* text) {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || value == 0)
        throw std::invalid_argument(std::string("not a positive count: ") + text);
    return static_cast<std::size_t>(value);
}

settings parse(int argc, char** argv) {
    settings config;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "--items") == 0 && has_value)
            config.items = parse_count(argv[++i]);
        else if (std::strcmp(argv[i], "--limit") == 0 && has_value)
            config.limit = parse_count(argv[++i]);
        else if (std::strcmp(argv[i], "--repeats") == 0 && has_value)
            config.repeats = static_cast<int>(parse_count(argv[++i]));
        else if (std::strcmp(argv[i], "--only") == 0 && has_value)
            config.only = argv[++i];
        else
            throw std::invalid_argument(
                "usage: gather_bench [--items N] [--limit N] [--repeats N] [--only SHAPE]");
    }
    return config;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const settings config = parse(argc, argv);
        std::printf("items %zu count\nlimit %zu count\n", config.items, config.limit);
        // Untimed: grows the allocator's pools so the first timed run is not
        // the only one that pays for them.
        run_once(shapes[1],
                 settings{std::min<std::size_t>(config.items, 100'000), config.limit, 1, {}});
        for (const shape& s : shapes)
            if (config.only.empty() || config.only == s.name) bench(s, config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gather_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
