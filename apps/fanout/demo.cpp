// fanout demo: the core at work on simulated operations, with no setup.
//
// Each item is a simulated network call with a random latency; a share of
// attempts fail (a reset) and a share hang until the per-attempt timeout
// cuts them; failures are retried with backoff; each success then hashes a
// block on the CPU pool through the thread-pool bridge. Then a DNS part
// resolves thousands of names through the c-ares resolver against an
// in-process server (fanout::test::dns_responder) that drops a few queries
// (timeouts, then retries), and an HTTP part sends thousands of GETs through
// the keep-alive client to an in-process server
// (fanout::test::http_fault_server, its /item/<N>) that holds, refuses (503)
// or lacks (404) a few, and a
// load part runs fanout::load against it for a second at a fixed rate. A
// progress line shows on a terminal, and a summary follows each part. Ctrl-C
// stops it early: every item is still accounted for, and the exit code is 130.
#include "commands.hpp"
#include "stdio.hpp"

// The loopback servers the tests use too (tests/support, fanout_loopback).
#include "dns_responder.hpp"
#include "http_fault_server.hpp"

#include <fanout/dns/resolver.hpp>
#include <fanout/gather.hpp>
#include <fanout/histogram.hpp>
#include <fanout/http/client.hpp>
#include <fanout/load/html_report.hpp>
#include <fanout/load/run.hpp>
#include <fanout/offload.hpp>
#include <fanout/progress.hpp>
#include <fanout/runtime.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address_v4.hpp>
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
    std::size_t dns_names = 5'000;      // 0: no DNS part
    std::size_t http_requests = 5'000;  // 0: no HTTP part
    unsigned load_ms = 1'000;           // 0: no load part
    std::string html_file;              // the load part's HTML report
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
    standard_output().print("\n{} in {:.2f} s: {} of {} items reported, {} ran, {} items/s\n",
                            interrupted ? "interrupted" : "done", seconds,
                            format_count(summary.total), format_count(settings.items),
                            format_count(ran),
                            format_count(static_cast<std::uint64_t>(static_cast<double>(ran) /
                                                                    std::max(seconds, 1e-9))));
    standard_output().print("  succeeded    {:>9}   ({} needed a retry)\n",
                            format_count(summary.succeeded), format_count(report.retried_items));
    const auto kinds = format_counts(report.failures_by_kind);
    standard_output().print("  failed       {:>9}   {}\n",
                            format_count(summary.failed - summary.not_started),
                            kinds.empty() ? "" : "(" + kinds + ")");
    if (summary.not_started > 0)
        standard_output().print("  not started  {:>9}   (cancelled before their first attempt)\n",
                                format_count(summary.not_started));
    const auto& h = report.latency;
    if (h.count() > 0) {
        standard_output().print(
            "  latency      p50 {}  p90 {}  p99 {}  max {}  (successes, retries included)\n",
            format_duration(h.percentile(50)), format_duration(h.percentile(90)),
            format_duration(h.percentile(99)), format_duration(h.max()));
    }
    standard_output().print("  cpu step     {} SHA-256 digests of {} KiB on {} CPU-pool threads\n",
                            format_count(summary.succeeded), settings.block_bytes / 1024,
                            cpu_threads);
}

// The core part: the simulated operations, then their summary.
net::awaitable<void> run_core_part(const demo_settings& settings, std::chrono::nanoseconds timeout,
                                   runtime& rt) {
    thread_pool& cpu = rt.cpu_pool();
    demo_world world{std::mt19937_64(settings.seed), cpu, settings.block_bytes, settings.fail_rate,
                     settings.hang_rate};
    progress counters;
    demo_report report;
    gather_options options{
        .limit = settings.limit, .per_attempt_timeout = timeout, .progress = &counters};
    options.retry.max_attempts = settings.attempts;
    options.retry.initial_backoff = 20ms;
    options.retry.max_backoff = 500ms;

    standard_output().print(
        "fanout demo: {} simulated operations ({:.0f}% of attempts fail, {:.0f}% hang), limit {}, "
        "timeout {}, up to {} attempts, SHA-256 on {} CPU-pool threads\n",
        format_count(settings.items), settings.fail_rate * 100, settings.hang_rate * 100,
        format_count(settings.limit), format_duration(timeout), settings.attempts, cpu.size());
    standard_output().flush();
    const auto started = std::chrono::steady_clock::now();
    progress_line line(co_await net::this_coro::executor, counters, "demo");
    line.start();
    const auto summary = co_await gather_each(
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
    print_summary(settings, summary, report, std::chrono::steady_clock::now() - started,
                  rt.interrupted(), cpu.size());
}

// The DNS part's settings: fixed, as the point is to show the resolver at work.
constexpr std::size_t dns_limit = 500;
constexpr auto dns_timeout = 100ms;
constexpr unsigned dns_attempts = 3;
constexpr std::size_t dns_drop_every = 50;  // 2% of queries

// Names [0, hosts) are host<i>.demo.test; the rest, missing<i>.demo.test.
std::string demo_dns_name(std::size_t index, std::size_t hosts) {
    return index < hosts ? fmt::format("host{}.demo.test", index)
                         : fmt::format("missing{}.demo.test", index - hosts);
}

// What a network part (DNS, HTTP) counts: the items that came out right,
// with their latency, and the failures by kind.
struct part_report {
    histogram latency;  // items that came out right, from first attempt to the end
    std::map<std::string, std::uint64_t> failures_by_kind;
    std::uint64_t succeeded = 0;
    std::uint64_t retried = 0;

    // `wrong`: the item succeeded with an answer it should not have.
    template <class T>
    void count(const outcome<T>& out, const char* wrong) {
        if (!out.ok()) {
            if (out.attempts > 0) ++failures_by_kind[out.error().kind()];
        } else if (wrong != nullptr) {
            ++failures_by_kind[wrong];
        } else {
            ++succeeded;
            latency.record(out.elapsed);
            if (out.attempts > 1) ++retried;
        }
    }
};

// How a part's summary names its items: "dns", "names", "lookups",
// "resolved" (as in "dns: 5 of 5 names reported, 9 lookups/s; resolved 5").
struct part_words {
    const char* part;
    const char* items;
    const char* operations;
    const char* succeeded;
};

void print_part_summary(const part_words& words, const gather_summary& summary,
                        const part_report& report, std::chrono::nanoseconds took,
                        bool interrupted) {
    const double seconds = std::chrono::duration<double>(took).count();
    const auto asked = summary.total - summary.not_started;
    if (asked == 0) {
        standard_output().print(
            "{}: {} of {} {} reported, none asked{}\n", words.part, format_count(summary.total),
            format_count(summary.total), words.items,
            interrupted ? fmt::format(" (interrupted before the {} part)", words.part) : "");
    } else {
        standard_output().print("{}: {} of {} {} reported in {:.2f} s, {} {}/s{}\n", words.part,
                                format_count(summary.total), format_count(summary.total),
                                words.items, seconds,
                                format_count(static_cast<std::uint64_t>(static_cast<double>(asked) /
                                                                        std::max(seconds, 1e-9))),
                                words.operations, interrupted ? ", interrupted" : "");
        standard_output().print("  {:<12} {:>9}   ({} needed a retry)\n", words.succeeded,
                                format_count(report.succeeded), format_count(report.retried));
        std::uint64_t failed = 0;
        for (const auto& [kind, count] : report.failures_by_kind) failed += count;
        const auto kinds = format_counts(report.failures_by_kind);
        standard_output().print("  failed       {:>9}{}\n", format_count(failed),
                                kinds.empty() ? "" : "   (" + kinds + ")");
    }
    if (summary.not_started > 0)
        standard_output().print("  not started  {:>9}   (cancelled before their first attempt)\n",
                                format_count(summary.not_started));
    const auto& h = report.latency;
    if (h.count() > 0)
        standard_output().print(
            "  latency      p50 {}  p99 {}  max {}  ({} {}, retries included)\n",
            format_duration(h.percentile(50)), format_duration(h.percentile(99)),
            format_duration(h.max()), words.succeeded, words.items);
}

// The answer must be what the server's rule gives the name.
bool right_address(std::size_t index, std::size_t hosts, const outcome<dns::answer>& out) {
    const auto expected = test::numbered_host_address(demo_dns_name(index, hosts));
    const auto& records = out.result->records;
    const auto a = std::ranges::find(records, dns::record_type::a, &dns::record::type);
    return expected && a != records.end() &&
           std::get<net::ip::address_v4>(a->data).to_string() == *expected;
}

constexpr part_words dns_words{"dns", "names", "lookups", "resolved"};

// The DNS part: `hosts` names that resolve and 1% more that do not, through
// the resolver, against a dns_responder that makes up the host<N> names and
// drops every 50th query. Interrupted before it
// starts (Ctrl-C during the core part), it asks nothing and reports every
// name as not started.
net::awaitable<void> run_dns_part(std::size_t hosts, runtime& rt) {
    const std::size_t names = hosts + hosts / 100;
    const auto executor = co_await net::this_coro::executor;
    part_report report;
    standard_output().print("\n");
    if (rt.interrupted()) {
        print_part_summary(dns_words, {.total = names, .failed = names, .not_started = names},
                           report, {}, true);
        co_return;
    }

    test::dns_responder server;
    server.synthesise(test::numbered_hosts());
    server.drop_every(dns_drop_every);
    server.count_queries_by_name(false);  // --dns-names may be millions
    dns::resolver_options resolver_options{
        .servers = {{"127.0.0.1", server.port()}}, .timeout = dns_timeout, .tries = 1};
    dns::resolver resolver(executor, resolver_options);
    progress counters;
    gather_options options{.limit = dns_limit, .progress = &counters};
    options.retry.max_attempts = dns_attempts;
    options.retry.initial_backoff = 10ms;
    options.retry.max_backoff = 100ms;
    options.retry.retry_if = [](const failure& f) { return f.code == errc::timeout; };

    standard_output().print(
        "dns: {} names host<N>.demo.test and {} that do not exist, through the c-ares resolver "
        "to a server on 127.0.0.1:{} that drops {:.0f}% of queries; limit {}, timeout {}, up to {} "
        "attempts on timeout\n",
        format_count(hosts), format_count(names - hosts), server.port(), 100.0 / dns_drop_every,
        dns_limit, format_duration(dns_timeout), dns_attempts);
    standard_output().flush();
    const auto started = std::chrono::steady_clock::now();
    progress_line line(executor, counters, "dns");
    line.start();
    const auto summary = co_await gather_each(
        std::views::iota(std::size_t{0}, names),
        [&resolver, hosts](std::size_t index) {
            return resolver.query(demo_dns_name(index, hosts), dns::record_type::a);
        },
        [&report, hosts](std::size_t index, outcome<dns::answer>&& out) {
            report.count(out,
                         out.ok() && !right_address(index, hosts, out) ? "wrong_address" : nullptr);
        },
        options);
    line.stop();
    print_part_summary(dns_words, summary, report, std::chrono::steady_clock::now() - started,
                       rt.interrupted());
}

// The HTTP part's settings: fixed, as the point is to show the client at work.
constexpr std::size_t http_limit = 200;
constexpr auto http_timeout = 500ms;
constexpr unsigned http_attempts = 3;
constexpr part_words http_words{"http", "requests", "requests", "answered"};

// Worth another attempt: anything but an answer that will not change (a 404;
// a 503 says it will, with its Retry-After).
bool http_retryable(const failure& f) {
    return (f.code != http::errc::bad_status || f.retry_after) &&
           retry_policy::default_retryable(f);
}

// The HTTP part: `requests` GETs of /item/<N> through one http::client
// (keep-alive, one connection per request in flight at most) against an
// http_fault_server, whose faults on /item/<N> (a first answer that never
// comes, a 503, a 404) are set by N. Interrupted before it starts, it sends
// nothing and reports every request as not started.
net::awaitable<void> run_http_part(std::size_t requests, runtime& rt) {
    const auto executor = co_await net::this_coro::executor;
    part_report report;
    standard_output().print("\n");
    if (rt.interrupted()) {
        print_part_summary(http_words,
                           {.total = requests, .failed = requests, .not_started = requests}, report,
                           {}, true);
        co_return;
    }

    test::http_fault_server server;
    http::client client(executor, {.connections_per_origin = http_limit});
    progress counters;
    gather_options options{
        .limit = http_limit, .per_attempt_timeout = http_timeout, .progress = &counters};
    options.retry.max_attempts = http_attempts;
    options.retry.initial_backoff = 10ms;
    options.retry.max_backoff = 100ms;
    options.retry.retry_if = http_retryable;

    const auto base = server.url("/item/");
    standard_output().print(
        "http: {} GETs of {}<N> through the keep-alive client; the server never answers 2% of "
        "first requests, answers 2% with 503 and 0.5% always with 404; limit {}, timeout {}, up "
        "to {} attempts\n",
        format_count(requests), base, http_limit, format_duration(http_timeout), http_attempts);
    standard_output().flush();
    const auto started = std::chrono::steady_clock::now();
    progress_line line(executor, counters, "http");
    line.start();
    const auto summary = co_await gather_each(
        std::views::iota(std::size_t{0}, requests),
        [&client, &base](std::size_t index) -> net::awaitable<result<http::response>> {
            co_return http::expect_success(co_await client.get(base + std::to_string(index)));
        },
        [&report](std::size_t index, outcome<http::response>&& out) {
            report.count(out, out.ok() && out.value().body != fmt::format("item {}", index)
                                  ? "wrong_body"
                                  : nullptr);
        },
        options);
    line.stop();
    print_part_summary(http_words, summary, report, std::chrono::steady_clock::now() - started,
                       rt.interrupted());
    if (summary.total > summary.not_started)
        standard_output().print(
            "  connections  {:>9}   opened for {} requests (keep-alive reuse)\n",
            format_count(client.connections_opened()), format_count(server.requests_served()));
}

// The load part: `fanout load`'s machinery for a moment against an
// http_fault_server, open loop at a fixed rate, with the latency from each
// request's intended start beside the one from its send. The item it asks
// for is never faulty. Interrupted before it starts, it sends nothing.
net::awaitable<void> run_load_part(std::chrono::milliseconds duration, const std::string& html_file,
                                   runtime& rt) {
    standard_output().print("\n");
    if (rt.interrupted()) {
        standard_output().print("load: not started (interrupted before the load part)\n");
        co_return;
    }
    test::http_fault_server server;
    load::options options{
        .urls = {server.url("/item/0")}, .connections = 16, .duration = duration, .rate = 2000};
    standard_output().print(
        "load: {} of GET {} through fanout::load, 16 connections, open loop at 2,000/s\n",
        format_duration(duration), options.urls.front());
    standard_output().flush();
    const auto url = options.urls.front();
    auto measured = co_await load::run(rt, std::move(options));
    if (!measured) {
        standard_output().print("load: {}\n", measured.error().text());
        co_return;
    }
    standard_output().print("load: done\n{}", load::to_text(*measured));
    if (html_file.empty()) co_return;
    load::report_about about;
    about.title = "fanout demo: load part";
    about.command = command_line();
    about.target = url;
    if (auto why = replace_file(html_file, load::to_html(*measured, about)))
        say("fanout demo: cannot write the report to '{}': {}\n", html_file, *why);
    else
        standard_output().print("load: report written to {}\n", html_file);
}

int run_demo(const demo_settings& settings) {
    auto timeout = parse_duration(settings.timeout);
    if (!timeout) {
        say("fanout demo: --timeout: {}\n", timeout.error().text());
        return exit_usage;
    }

    // One run for every part: the signal handler is in place from the first
    // line to the last summary. A Ctrl-C cancels the part running then (its
    // gather answers the cancellation and returns), and the parts after it
    // see rt.interrupted() and report their items unasked.
    runtime rt({.handle_signals = true});
    rt.run([](const demo_settings& settings, std::chrono::nanoseconds timeout,
              runtime& rt) -> net::awaitable<void> {
        // Between the parts nothing throws for a cancellation: each part
        // checks rt.interrupted() before it starts.
        co_await net::this_coro::throw_if_cancelled(false);
        co_await run_core_part(settings, timeout, rt);
        if (settings.dns_names > 0) co_await run_dns_part(settings.dns_names, rt);
        if (settings.http_requests > 0) co_await run_http_part(settings.http_requests, rt);
        if (settings.load_ms > 0)
            co_await run_load_part(std::chrono::milliseconds(settings.load_ms), settings.html_file,
                                   rt);
    }(settings, *timeout, rt));
    return rt.interrupted() ? exit_interrupted : exit_ok;
}

}  // namespace

command add_demo(CLI::App& parent) {
    auto settings = std::make_shared<demo_settings>();
    CLI::App* app = parent.add_subcommand(
        "demo",
        "Run simulated operations through the core (limit, timeouts, retries, CPU pool), then "
        "DNS lookups, HTTP requests and a short load run against in-process servers");
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
    app->add_option("--dns-names", settings->dns_names,
                    "names to resolve in the DNS part (0: no DNS part)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}));
    app->add_option("--load-ms", settings->load_ms,
                    "milliseconds of load in the load part (0: no load part)")
        ->capture_default_str()
        ->check(CLI::Range(0u, 600'000u));
    app->add_option("--html", settings->html_file,
                    "write the load part's HTML report (as fanout load --html) to this file");
    app->add_option("--http-requests", settings->http_requests,
                    "GETs to send in the HTTP part (0: no HTTP part)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}));
    return {app, [settings] { return run_demo(*settings); }};
}

}  // namespace fanout::cli
