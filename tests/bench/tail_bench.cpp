// The tail of a fan-out, with and without hedging ("The Tail at Scale"):
// an in-process fleet of loopback servers (TAIL_SERVERS, 20 ports), each
// request answered after 0.2-1 ms, except 1% that hiccup for 200-1,000 ms.
// A client fans TAIL_KEYS (1,000) keys out across the fleet, TAIL_ROUNDS
// (40) times, unhedged and then hedged at the observed p95 (a latency
// tracker shared by the rounds, 50 ms until it holds 200 latencies; a
// budget of 5% of items plus 10 tokens; up to TAIL_HEDGE_ATTEMPTS (3) calls
// per attempt, a second twin one delay after the first),
// and prints `name value unit` lines: p50/p99/p99.9 of the whole fan-out's
// latency for both, and the extra requests hedging sent. With 40 rounds the
// p99.9 is the slowest round. Run by tests/bench/tail_bench.sh.
//
// Adaptive concurrency: a server with a knee, ADAPTIVE_KNEE (32) workers
// that each take ADAPTIVE_SERVICE_US (10,000 us) per request, requests
// past them queued, so its latency is flat up to the knee and grows past
// it. Runs of ADAPTIVE_ITEMS (3,000) requests: fixed limits from knee/4
// to 4 x knee (knee/4 is the unloaded run), then a gradient limit (one
// warm-up run, then the measured run, the limit carried over), then AIMD
// with drop_after = 1.5 x the unloaded p50. It prints adaptive_limit_final,
// adaptive_knee, adaptive_p99_vs_unloaded and
// adaptive_throughput_vs_best_fixed (goals: the limit within 30% of the
// knee, p99 within 2x unloaded, throughput at least 90% of the best fixed
// limit), and the same for AIMD as adaptive_aimd_*. ADAPTIVE_HEADROOM sets
// the gradient's headroom (4). TAIL_SKIP_HEDGE=1 runs only this part.
//
// One request is one connection: "k\n" in, "ok\n" out; the client closes
// with SO_LINGER 0 so that 100,000 connections leave no TIME_WAIT behind.
// The servers run on a thread of their own, the client on the main thread.
#include <fanout/adaptive_limit.hpp>
#include <fanout/gather.hpp>
#include <fanout/hedge.hpp>
#include <fanout/semaphore.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

int setting(const char* name, int fallback) {
    const char* text = std::getenv(name);
    return text ? std::max(1, std::atoi(text)) : fallback;
}

std::atomic<long> requests_served{0};

net::awaitable<void> serve_one(tcp::socket socket, std::chrono::microseconds delay) {
    try {
        net::streambuf in;
        co_await net::async_read_until(socket, in, '\n', net::use_awaitable);
        ++requests_served;
        net::steady_timer timer(socket.get_executor(), delay);
        co_await timer.async_wait(net::use_awaitable);
        co_await net::async_write(socket, net::buffer("ok\n", 3), net::use_awaitable);
    } catch (const std::exception&) {
        // the client went away (a cancelled hedge loser)
    }
}

net::awaitable<void> serve(tcp::acceptor& acceptor, unsigned seed) {
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> unit(0, 1);
    for (;;) {
        auto socket = co_await acceptor.async_accept(net::use_awaitable);
        const double hiccup = unit(random);
        const auto delay =
            hiccup < 0.01
                ? std::chrono::microseconds(static_cast<long>(200'000 + unit(random) * 800'000))
                : std::chrono::microseconds(static_cast<long>(200 + unit(random) * 800));
        net::co_spawn(acceptor.get_executor(), serve_one(std::move(socket), delay), net::detached);
    }
}

// The knee server: `workers` requests are served at once, each taking
// `service`; the rest wait in FIFO order for a worker.
struct knee_server {
    fanout::semaphore workers;
    std::chrono::microseconds service;
};

net::awaitable<void> serve_knee_one(tcp::socket socket, knee_server& server) {
    try {
        net::streambuf in;
        co_await net::async_read_until(socket, in, '\n', net::use_awaitable);
        co_await server.workers.acquire();
        fanout::semaphore_permit worker(server.workers);
        net::steady_timer timer(socket.get_executor(), server.service);
        co_await timer.async_wait(net::use_awaitable);
        worker.reset();
        co_await net::async_write(socket, net::buffer("ok\n", 3), net::use_awaitable);
    } catch (const std::exception&) {
    }
}

net::awaitable<void> serve_knee(tcp::acceptor& acceptor, knee_server& server) {
    for (;;) {
        auto socket = co_await acceptor.async_accept(net::use_awaitable);
        net::co_spawn(acceptor.get_executor(), serve_knee_one(std::move(socket), server),
                      net::detached);
    }
}

net::awaitable<fanout::result<void>> ask(std::uint16_t port) {
    tcp::socket socket(co_await net::this_coro::executor);
    co_await socket.async_connect({net::ip::make_address_v4("127.0.0.1"), port},
                                  net::use_awaitable);
    socket.set_option(net::socket_base::linger(true, 0));
    co_await net::async_write(socket, net::buffer("k\n", 2), net::use_awaitable);
    net::streambuf in;
    co_await net::async_read_until(socket, in, '\n', net::use_awaitable);
    co_return fanout::result<void>{};
}

double percentile_ms(std::vector<double> values, double p) {
    std::sort(values.begin(), values.end());
    const auto rank =
        static_cast<std::size_t>(p / 100 * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

struct round_figures {
    std::vector<double> fanout_ms;
    long requests = 0;  // as the servers counted them (a loser cancelled before it was read is not)
    long hedges = 0;    // as the outcomes counted them
    long hedge_wins = 0;
    long failed = 0;
};

struct hedge_settings {
    double percentile = 95;
    double budget_ratio = 0.05;
    double budget_tokens = 10;
    unsigned max_attempts = 3;
};

round_figures run_rounds(const std::vector<std::uint16_t>& ports, int keys, int rounds, bool hedged,
                         const hedge_settings& chosen) {
    net::io_context io(1);
    round_figures figures;
    fanout::latency_tracker observed;
    fanout::hedge_budget budget(chosen.budget_ratio, chosen.budget_tokens);
    std::vector<int> inputs(static_cast<std::size_t>(keys));
    std::iota(inputs.begin(), inputs.end(), 0);
    auto all = [&]() -> net::awaitable<void> {
        for (int round = 0; round < rounds; ++round) {
            fanout::gather_options options;
            options.limit = 250;
            options.per_attempt_timeout = 5s;
            if (hedged) {
                fanout::hedge_policy hedge;
                hedge.percentile = chosen.percentile;
                hedge.delay = 50ms;  // until 200 latencies are in
                hedge.min_samples = 200;
                hedge.latencies = &observed;
                hedge.budget = &budget;
                hedge.max_attempts = chosen.max_attempts;
                options.hedge = hedge;
            }
            const long before = requests_served;
            const auto began = clock_type::now();
            const auto summary = co_await fanout::gather_each(
                inputs, [&ports](int key) { return ask(ports[key % ports.size()]); },
                [&figures](fanout::outcome<void>&& out) {
                    figures.hedges += out.hedges;
                    figures.hedge_wins += out.hedge_won;
                },
                options);
            figures.fanout_ms.push_back(
                std::chrono::duration<double, std::milli>(clock_type::now() - began).count());
            figures.requests += requests_served - before;
            if (std::getenv("TAIL_VERBOSE"))
                std::fprintf(stderr, "round %d %s %.1f ms\n", round, hedged ? "hedged" : "plain",
                             figures.fanout_ms.back());
            figures.failed += static_cast<long>(summary.failed);
        }
    };
    net::co_spawn(io, all(), net::detached);
    io.run();
    if (hedged)
        std::printf(
            "tail_hedge_delay_at_end_ms %.3f ms\n",
            std::chrono::duration<double, std::milli>(observed.percentile(chosen.percentile))
                .count());
    return figures;
}

struct limit_run {
    double p50_ms = 0;
    double p99_ms = 0;
    double per_second = 0;
    long failed = 0;
    fanout::gather_summary summary;
};

// One gather of `items` requests to the knee server under a fixed limit or
// an adaptive one.
limit_run run_limit(std::uint16_t port, int items, std::size_t fixed,
                    std::shared_ptr<fanout::adaptive_limit> adaptive, net::io_context& io) {
    limit_run figures;
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(items));
    std::vector<int> inputs(static_cast<std::size_t>(items));
    std::iota(inputs.begin(), inputs.end(), 0);
    fanout::gather_options options;
    options.limit = fixed;
    options.adaptive = std::move(adaptive);
    options.per_attempt_timeout = 10s;
    auto body = [&]() -> net::awaitable<void> {
        const auto began = clock_type::now();
        figures.summary = co_await fanout::gather_each(
            inputs, [port](int) { return ask(port); },
            [&latencies](fanout::outcome<void>&& out) {
                latencies.push_back(std::chrono::duration<double, std::milli>(out.elapsed).count());
            },
            options);
        const double seconds = std::chrono::duration<double>(clock_type::now() - began).count();
        figures.per_second = static_cast<double>(items) / seconds;
    };
    net::co_spawn(io, body(), net::detached);
    io.restart();
    io.run();
    figures.p50_ms = percentile_ms(latencies, 50);
    figures.p99_ms = percentile_ms(latencies, 99);
    figures.failed = static_cast<long>(figures.summary.failed);
    return figures;
}

void adaptive_rows(std::uint16_t port, std::size_t knee, int items) {
    net::io_context io(1);
    const bool verbose = std::getenv("TAIL_VERBOSE") != nullptr;
    double best_per_second = 0;
    std::size_t best_fixed = 0;
    limit_run unloaded;
    for (const double share : {0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 4.0}) {
        const auto fixed =
            std::max<std::size_t>(1, static_cast<std::size_t>(share * static_cast<double>(knee)));
        const auto run = run_limit(port, items, fixed, nullptr, io);
        if (share == 0.25) unloaded = run;
        std::printf("adaptive_fixed_%zu_per_second %.0f req/s\n", fixed, run.per_second);
        std::printf("adaptive_fixed_%zu_p99_ms %.3f ms\n", fixed, run.p99_ms);
        if (run.per_second > best_per_second) {
            best_per_second = run.per_second;
            best_fixed = fixed;
        }
    }
    std::printf("adaptive_knee %zu requests\n", knee);
    std::printf("adaptive_unloaded_p50_ms %.3f ms\n", unloaded.p50_ms);
    std::printf("adaptive_unloaded_p99_ms %.3f ms\n", unloaded.p99_ms);
    std::printf("adaptive_best_fixed_limit %zu requests\n", best_fixed);
    std::printf("adaptive_best_fixed_per_second %.0f req/s\n", best_per_second);

    const auto report = [&](const char* name,
                            const std::shared_ptr<fanout::adaptive_limit>& limit) {
        const auto warm = run_limit(port, items, 0, limit, io);
        const auto run = run_limit(port, items, 0, limit, io);
        const auto stats = limit->stats();
        if (verbose)
            std::fprintf(stderr, "%s warm-up: final %zu, %.0f req/s, p99 %.3f ms\n", name,
                         warm.summary.limit_final, warm.per_second, warm.p99_ms);
        std::printf("%s_limit_final %zu requests\n", name, run.summary.limit_final);
        std::printf("%s_limit_lowest %zu requests\n", name, run.summary.limit_lowest);
        std::printf("%s_limit_highest %zu requests\n", name, run.summary.limit_highest);
        std::printf("%s_limit_vs_knee %.2f x\n", name,
                    static_cast<double>(run.summary.limit_final) / static_cast<double>(knee));
        std::printf("%s_p99_ms %.3f ms\n", name, run.p99_ms);
        std::printf("%s_p99_vs_unloaded %.2f x\n", name, run.p99_ms / unloaded.p99_ms);
        std::printf("%s_per_second %.0f req/s\n", name, run.per_second);
        std::printf("%s_throughput_vs_best_fixed %.3f x\n", name, run.per_second / best_per_second);
        std::printf("%s_drops %llu attempts\n", name, static_cast<unsigned long long>(stats.drops));
        std::printf("%s_failed %ld items\n", name, warm.failed + run.failed);
    };
    fanout::gradient_policy gradient;
    gradient.max_limit = 8 * knee;
    if (const char* text = std::getenv("ADAPTIVE_HEADROOM")) gradient.headroom = std::atof(text);
    report("adaptive", std::make_shared<fanout::adaptive_limit>(io.get_executor(), gradient));
    fanout::aimd_policy aimd;
    aimd.max_limit = 8 * knee;
    aimd.drop_after = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double, std::milli>(1.5 * unloaded.p50_ms));
    report("adaptive_aimd", std::make_shared<fanout::adaptive_limit>(io.get_executor(), aimd));
}

}  // namespace

int main() {
    const int servers = setting("TAIL_SERVERS", 20);
    const int keys = setting("TAIL_KEYS", 1000);
    const int rounds = setting("TAIL_ROUNDS", 40);
    hedge_settings chosen;
    if (const char* text = std::getenv("TAIL_HEDGE_PERCENTILE"))
        chosen.percentile = std::atof(text);
    if (const char* text = std::getenv("TAIL_BUDGET_RATIO")) chosen.budget_ratio = std::atof(text);
    if (const char* text = std::getenv("TAIL_BUDGET_TOKENS"))
        chosen.budget_tokens = std::atof(text);
    if (const char* text = std::getenv("TAIL_HEDGE_ATTEMPTS"))
        chosen.max_attempts = static_cast<unsigned>(std::atoi(text));

    const bool skip_hedge = std::getenv("TAIL_SKIP_HEDGE") != nullptr;
    const auto knee = static_cast<std::size_t>(setting("ADAPTIVE_KNEE", 32));
    const int adaptive_items = setting("ADAPTIVE_ITEMS", 3000);

    net::io_context fleet(1);
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<std::uint16_t> ports;
    for (int i = 0; i < servers; ++i) {
        auto& acceptor = acceptors.emplace_back(std::make_unique<tcp::acceptor>(
            fleet, tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0)));
        acceptor->listen(4096);
        ports.push_back(acceptor->local_endpoint().port());
        net::co_spawn(fleet, serve(*acceptor, static_cast<unsigned>(i + 1)), net::detached);
    }
    knee_server knee_state{fanout::semaphore(fleet.get_executor(), knee),
                           std::chrono::microseconds(setting("ADAPTIVE_SERVICE_US", 10'000))};
    tcp::acceptor knee_acceptor(fleet, tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0));
    knee_acceptor.listen(4096);
    net::co_spawn(fleet, serve_knee(knee_acceptor, knee_state), net::detached);
    auto guard = net::make_work_guard(fleet);
    std::thread fleet_thread([&fleet] { fleet.run(); });

    round_figures plain, hedged;
    if (!skip_hedge) {
        plain = run_rounds(ports, keys, rounds, false, chosen);
        hedged = run_rounds(ports, keys, rounds, true, chosen);
    }
    adaptive_rows(knee_acceptor.local_endpoint().port(), knee, adaptive_items);
    fleet.stop();
    fleet_thread.join();
    if (skip_hedge) return 0;

    const double sent = static_cast<double>(keys) * rounds;
    for (const auto& [name, figures] : {std::pair{"unhedged", &plain}, {"hedged", &hedged}}) {
        std::printf("tail_%s_p50_ms %.3f ms\n", name, percentile_ms(figures->fanout_ms, 50));
        std::printf("tail_%s_p99_ms %.3f ms\n", name, percentile_ms(figures->fanout_ms, 99));
        std::printf("tail_%s_p999_ms %.3f ms\n", name, percentile_ms(figures->fanout_ms, 99.9));
        std::printf("tail_%s_failed %ld items\n", name, figures->failed);
    }
    std::printf("tail_unhedged_requests_pct %.2f %%\n",
                100.0 * (static_cast<double>(plain.requests) - sent) / sent);
    std::printf("tail_hedge_extra_requests_pct %.2f %%\n",
                100.0 * static_cast<double>(hedged.hedges) / sent);
    std::printf("tail_hedges_won_pct %.2f %%\n",
                100.0 * static_cast<double>(hedged.hedge_wins) /
                    std::max(1.0, static_cast<double>(hedged.hedges)));
    std::printf("tail_hedged_requests_served_extra_pct %.2f %%\n",
                100.0 * (static_cast<double>(hedged.requests) - sent) / sent);
    std::printf("tail_rounds %d rounds\n", rounds);
    std::printf("tail_hedge_max_attempts %u calls\n", chosen.max_attempts);
    return 0;
}
