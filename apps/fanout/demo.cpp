// fanout demo: the core at work on simulated operations, with no setup.
//
// Each item is a simulated network call with a random latency; a share of
// attempts fail (a reset) and a share hang until the per-attempt timeout
// cuts them; failures are retried with backoff; each success then hashes a
// block on the CPU pool through the thread-pool bridge. A progress line
// shows on a terminal, and a summary follows. Ctrl-C stops it early: every
// item is still accounted for, and the exit code is 130.
#include "commands.hpp"

#include <fanout/gather.hpp>
#include <fanout/histogram.hpp>
#include <fanout/offload.hpp>
#include <fanout/progress.hpp>
#include <fanout/runtime.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanout::cli {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

struct demo_settings {
    std::size_t items = 20'000;
    std::size_t limit = 1'000;
    std::string timeout = "200ms";
    unsigned attempts = 3;
    double fail_rate = 0.05;
    double hang_rate = 0.02;
    std::size_t block_bytes = 16 * 1024;
    std::uint64_t seed = 1;
};

// What the simulated operations share: the random source (one loop thread,
// so no locking) and the pool that hashes.
struct demo_world {
    std::mt19937_64 random;
    thread_pool& cpu;
    std::size_t block_bytes;
    double fail_rate;
    double hang_rate;
};

using digest = std::array<unsigned char, 32>;

digest sha256_of_block(std::uint64_t item, std::size_t bytes) {
    std::vector<unsigned char> block(bytes);
    std::uint64_t state = item * 0x9E3779B97F4A7C15ull + 1;
    for (std::size_t i = 0; i + 8 <= bytes; i += 8) {
        state ^= state << 13;  // xorshift: cheap, so the hash dominates
        state ^= state >> 7;
        state ^= state << 17;
        std::memcpy(block.data() + i, &state, 8);
    }
    digest out{};
    unsigned int length = 0;
    if (EVP_Digest(block.data(), block.size(), out.data(), &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    return out;
}

net::awaitable<result<digest>> simulated_call(demo_world& world, std::size_t item) {
    const double draw = std::uniform_real_distribution<double>(0, 1)(world.random);
    const auto latency = std::chrono::microseconds(static_cast<long>(
        std::min(150'000.0, std::exponential_distribution<double>(1.0 / 20'000)(world.random))));

    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(draw < world.hang_rate ? std::chrono::steady_clock::duration(1h) : latency);
    co_await timer.async_wait(net::use_awaitable);
    if (draw < world.hang_rate + world.fail_rate)
        co_return failure{net::error::connection_reset,
                          fmt::format("item {}: the simulated peer reset the connection", item)};

    co_return co_await offload(
        world.cpu, [item, bytes = world.block_bytes] { return sha256_of_block(item, bytes); });
}

struct demo_report {
    histogram latency;  // successful items, from first attempt to the end
    std::map<std::string, std::uint64_t> failures_by_kind;
    std::uint64_t retried_items = 0;
};

void print_summary(const demo_settings& settings, const gather_summary& summary,
                   const demo_report& report, std::chrono::nanoseconds took, bool interrupted,
                   std::size_t cpu_threads) {
    const double seconds = std::chrono::duration<double>(took).count();
    const auto ran = summary.total - summary.not_started;
    fmt::print("\n{} in {:.2f} s: {} of {} items reported, {} ran, {} items/s\n",
               interrupted ? "interrupted" : "done", seconds, format_count(summary.total),
               format_count(settings.items), format_count(ran),
               format_count(
                   static_cast<std::uint64_t>(static_cast<double>(ran) / std::max(seconds, 1e-9))));
    fmt::print("  succeeded    {:>9}   ({} needed a retry)\n", format_count(summary.succeeded),
               format_count(report.retried_items));
    std::string kinds;
    for (const auto& [kind, count] : report.failures_by_kind)
        kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, format_count(count));
    fmt::print("  failed       {:>9}   {}\n", format_count(summary.failed - summary.not_started),
               kinds.empty() ? "" : "(" + kinds + ")");
    if (summary.not_started > 0)
        fmt::print("  not started  {:>9}   (cancelled before their first attempt)\n",
                   format_count(summary.not_started));
    const auto& h = report.latency;
    if (h.count() > 0) {
        fmt::print("  latency      p50 {}  p90 {}  p99 {}  max {}  (successes, retries included)\n",
                   format_duration(h.percentile(50)), format_duration(h.percentile(90)),
                   format_duration(h.percentile(99)), format_duration(h.max()));
    }
    fmt::print("  cpu step     {} SHA-256 digests of {} KiB on {} CPU-pool threads\n",
               format_count(summary.succeeded), settings.block_bytes / 1024, cpu_threads);
}

int run_demo(const demo_settings& settings) {
    auto timeout = parse_duration(settings.timeout);
    if (!timeout) {
        fmt::print(stderr, "fanout demo: --timeout: {}\n", timeout.error().text());
        return exit_usage;
    }

    runtime rt({.handle_signals = true});
    thread_pool& cpu = rt.cpu_pool();
    demo_world world{std::mt19937_64(settings.seed), cpu, settings.block_bytes, settings.fail_rate,
                     settings.hang_rate};

    progress counters;
    demo_report report;
    gather_options options{
        .limit = settings.limit, .per_attempt_timeout = *timeout, .progress = &counters};
    options.retry.max_attempts = settings.attempts;
    options.retry.initial_backoff = 20ms;
    options.retry.max_backoff = 500ms;

    const auto started = std::chrono::steady_clock::now();
    auto summary = rt.run([&]() -> net::awaitable<gather_summary> {
        // Printed once Ctrl-C is handled (the runtime is running).
        fmt::print(
            "fanout demo: {} simulated operations ({:.0f}% of attempts fail, {:.0f}% hang), limit "
            "{}, "
            "timeout {}, up to {} attempts, SHA-256 on {} CPU-pool threads\n",
            format_count(settings.items), settings.fail_rate * 100, settings.hang_rate * 100,
            format_count(settings.limit), format_duration(*timeout), settings.attempts, cpu.size());
        std::fflush(stdout);
        progress_line line(co_await net::this_coro::executor, counters, "demo");
        line.start();
        auto result = co_await gather_each(
            std::views::iota(std::size_t{0}, settings.items),
            [&world](std::size_t item) { return simulated_call(world, item); },
            [&report](outcome<digest>&& out) {
                if (out.ok()) {
                    report.latency.record(out.elapsed);
                    if (out.attempts > 1) ++report.retried_items;
                } else if (out.attempts > 0) {
                    ++report.failures_by_kind[out.error().kind()];
                }
            },
            options);
        line.stop();
        co_return result;
    }());
    const auto took = std::chrono::steady_clock::now() - started;

    print_summary(settings, summary, report, took, rt.interrupted(), cpu.size());
    return rt.interrupted() ? exit_interrupted : exit_ok;
}

}  // namespace

command add_demo(CLI::App& parent) {
    auto settings = std::make_shared<demo_settings>();
    CLI::App* app = parent.add_subcommand(
        "demo", "Run simulated operations through the core: limit, timeouts, retries, CPU pool");
    app->add_option("--items", settings->items, "operations to run")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
    app->add_option("-c,--limit", settings->limit, "operations in flight at most")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    app->add_option("--timeout", settings->timeout, "per-attempt timeout (e.g. 200ms, 1s)")
        ->capture_default_str();
    app->add_option("--attempts", settings->attempts, "attempts per operation")
        ->capture_default_str()
        ->check(CLI::Range(1u, 100u));
    app->add_option("--fail-rate", settings->fail_rate, "share of attempts that fail")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    app->add_option("--hang-rate", settings->hang_rate, "share of attempts that hang")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    app->add_option("--seed", settings->seed, "random seed")->capture_default_str();
    return {app, [settings] { return run_demo(*settings); }};
}

}  // namespace fanout::cli
