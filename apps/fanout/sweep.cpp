// fanout sweep: health checks of many HTTP(S), TCP and DNS targets, each
// line of the input reported exactly once.
//
// Targets stream from a file or stdin, read off the loops by a line_source
// with a bounded read-ahead (blank lines and '#' comments skipped; a line
// that is no target, or too long, becomes an error record with its line
// number). Every loop thread runs a gather with its share of the limit over
// the one input, checks through fanout::probe and writes each record whole
// as it completes through fanout::report; a summary goes to stderr. A signal
// (INT, TERM, HUP) stops reading and the run: lines read and not checked
// are reported as cancelled, and the summary names the --skip to resume.
#include "commands.hpp"
#include "line_input.hpp"
#include "stdio.hpp"

#include <fanout/circuit_breaker.hpp>
#include <fanout/duration.hpp>
#include <fanout/error.hpp>
#include <fanout/gather.hpp>
#include <fanout/input.hpp>
#include <fanout/line_source.hpp>
#include <fanout/on_each_loop.hpp>
#include <fanout/probe/check.hpp>
#include <fanout/probe/error.hpp>
#include <fanout/probe/target.hpp>
#include <fanout/progress.hpp>
#include <fanout/rate_limiter.hpp>
#include <fanout/report/html_page.hpp>
#include <fanout/report/periodic_flush.hpp>
#include <fanout/report/record.hpp>
#include <fanout/report/record_output.hpp>
#include <fanout/report/summary.hpp>
#include <fanout/report/writer.hpp>
#include <fanout/runtime.hpp>
#include <fanout/shard.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

namespace fanout::cli {
namespace {

namespace net = boost::asio;

struct sweep_settings {
    std::string input = "-";
    std::size_t limit = 1000;
    std::size_t per_host = 0;
    unsigned max_host_errors = 0;
    double rate = 0;
    std::string timeout = "5s";
    unsigned retries = 0;
    std::string hedge;  // empty: no hedging
    unsigned hedge_calls = 2;
    std::string deadline;
    std::string format;  // empty: table on a terminal, jsonl otherwise
    std::string html_file;
    std::string expect_status = "200-399";
    std::string body_contains;
    std::string max_body = "1MiB";
    std::string max_latency;
    int cert_days = 14;
    std::string shard = "1/1";
    bool insecure = false;
    std::string ca_file;
    bool http1_1 = false;
    bool http2 = false;
    bool http2_prior_knowledge = false;
    std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    line_input_settings input_lines;
};

// One line of the input on its way through the gather: its check writes
// what it saw here, for the record.
struct sweep_item {
    std::size_t line = 0;
    std::string input;
    result<probe::target> target;
    std::optional<probe::check_result> checked;
};

sweep_item to_item(fanout::line&& l, std::size_t max_line) {
    if (l.too_long) {
        failure too_long{errc::line_too_long,
                         fmt::format("line {} is longer than {} bytes (see --max-line)", l.number,
                                     format_count(max_line))};
        return {l.number, std::move(l.text), std::move(too_long), std::nullopt};
    }
    auto target = probe::parse_target(l.text);
    return {l.number, std::move(l.text), std::move(target), std::nullopt};
}

// The targets of the input, for the gathers of every loop.
struct sweep_input {
    using value_type = sweep_item;
    line_source* lines;
    std::size_t max_line;

    net::awaitable<std::optional<sweep_item>> next() {
        auto l = co_await lines->next();
        if (!l) co_return std::nullopt;
        co_return to_item(std::move(*l), max_line);
    }
    void stop() { lines->stop(); }
};

// What one loop owns.
struct sweep_loop {
    std::unique_ptr<probe::prober> prober;
    report::summary tally;
    std::optional<report::html_page> page;  // with --html
    std::string text;
    std::size_t first_unfinished = 0;  // the lowest line a stop cut short, 0: none
};

// With --hedge, calls of one attempt run side by side: a healthy result is
// kept over the others, else the last to end is (the one gather reports).
net::awaitable<result<void>> check_item(probe::prober& prober, sweep_item& item) {
    if (!item.target) co_return item.target.error();
    item.checked.reset();
    auto seen = co_await prober.check(*item.target);
    std::optional<failure> problem = seen.problem;
    if (!problem || !item.checked || item.checked->problem) item.checked = std::move(seen);
    if (problem) co_return std::move(*problem);
    co_return result<void>{};
}

int usage_error(const std::string& message) {
    say("fanout sweep: {}\n", message);
    return exit_usage;
}

// Why the CA file cannot be used (unreadable, or no PEM certificate in it).
std::optional<std::string> ca_file_problem(const std::string& path) {
    if (auto why = unreadable(path)) return why;
    try {
        net::ssl::context context(net::ssl::context::tls_client);
        context.load_verify_file(path);
    } catch (const boost::system::system_error& e) {
        return e.code().message();
    }
    return std::nullopt;
}

// "65536", "64k", "64KiB", "1M", "1MiB", "1G": a size in bytes (binary units).
std::optional<std::size_t> parse_size(std::string_view text) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::size_t scale = 1;
    if (unit == "k" || unit == "K" || unit == "KiB")
        scale = std::size_t{1} << 10;
    else if (unit == "M" || unit == "MiB")
        scale = std::size_t{1} << 20;
    else if (unit == "G" || unit == "GiB")
        scale = std::size_t{1} << 30;
    else if (!unit.empty() && unit != "B")
        return std::nullopt;
    if (value == 0 || value > (std::size_t{1} << 40) / scale) return std::nullopt;
    return value * scale;
}

// A duration flag: nothing when not given, a usage error when unreadable.
std::optional<std::string> read_duration(const std::string& flag, const std::string& text,
                                         std::optional<std::chrono::nanoseconds>& out) {
    if (text.empty()) return std::nullopt;
    auto parsed = parse_duration(text);
    if (!parsed) return flag + ": " + parsed.error().text();
    if (*parsed < std::chrono::milliseconds(1)) return flag + " must be at least 1ms";
    out = *parsed;
    return std::nullopt;
}

// --hedge DELAY (e.g. 200ms) or pNN (e.g. p95: the delay is that
// percentile of the latencies seen so far on the loop, once 50 are in).
std::optional<std::string> read_hedge(const sweep_settings& settings,
                                      std::optional<hedge_policy>& out) {
    if (settings.hedge.empty()) return std::nullopt;
    hedge_policy policy;
    policy.max_attempts = settings.hedge_calls;
    const std::string_view text = settings.hedge;
    if (text.front() == 'p') {
        double percentile = 0;
        const auto [end, ec] =
            std::from_chars(text.data() + 1, text.data() + text.size(), percentile);
        if (ec != std::errc{} || end != text.data() + text.size() || !(percentile > 0) ||
            !(percentile < 100))
            return "--hedge: '" + settings.hedge +
                   "' is neither a duration (e.g. 200ms) nor a percentile from p1 to p99.9";
        policy.percentile = percentile;
    } else {
        std::optional<std::chrono::nanoseconds> delay;
        if (auto error = read_duration("--hedge", settings.hedge, delay)) return error;
        policy.delay = delay;
    }
    out = policy;
    return std::nullopt;
}

// --max-host-errors N: after N failures in a row a host is not tried again
// in this run. A failure counts when no answer came (refused, reset, timed
// out, TLS broken...): an unexpected status, a body without its text or an
// NXDOMAIN is the host answering. Invalid lines (key "") never count.
circuit_breaker_policy host_error_policy(const sweep_settings& settings) {
    circuit_breaker_policy policy;
    policy.consecutive_failures = settings.max_host_errors;
    policy.open_for = std::chrono::nanoseconds::max();
    policy.counts_if = [](const failure& f) {
        const bool answered = f.http_status || f.code == probe::errc::unexpected_status ||
                              f.code == probe::errc::body_mismatch ||
                              f.code == probe::errc::too_slow ||
                              f.code == probe::errc::certificate_expired;
        return !answered && !is_permanent(f.code) && f.code != errc::line_too_long;
    };
    return policy;
}

int run_sweep(const sweep_settings& settings) {
    std::optional<std::chrono::nanoseconds> timeout, deadline, max_latency;
    for (auto error : {read_duration("--timeout", settings.timeout, timeout),
                       read_duration("--deadline", settings.deadline, deadline),
                       read_duration("--max-latency", settings.max_latency, max_latency)})
        if (error) return usage_error(*error);
    if (!timeout) return usage_error("--timeout must be given");
    std::optional<hedge_policy> hedge;
    if (auto error = read_hedge(settings, hedge)) return usage_error(*error);
    const auto slice = parse_shard(settings.shard);
    if (!slice) return usage_error("--shard: " + slice.error().text());
    auto statuses = probe::parse_status_ranges(settings.expect_status);
    if (!statuses) return usage_error("--expect-status: " + statuses.error().text());
    const auto format = settings.format.empty() ? (::isatty(STDOUT_FILENO) ? report::format::table
                                                                           : report::format::jsonl)
                                                : report::parse_format(settings.format);
    if (!format) return usage_error(fmt::format("--format: unknown format '{}'", settings.format));
    if (!settings.html_file.empty())
        if (auto why = unwritable(settings.html_file))
            return usage_error(
                fmt::format("--html: cannot write '{}': {}", settings.html_file, *why));

    probe::check_options check;
    check.timeout = std::chrono::ceil<std::chrono::milliseconds>(*timeout);
    check.expected_status = std::move(*statuses);
    check.body_contains = settings.body_contains;
    const auto max_body = parse_size(settings.max_body);
    if (!max_body)
        return usage_error(fmt::format(
            "--max-body: '{}' is not a size from 1 byte to 1TiB (e.g. 65536, 64KiB, 1MiB)",
            settings.max_body));
    check.max_body_size = *max_body;
    check.max_latency = max_latency;
    check.certificate_warning_days = settings.cert_days;
    check.insecure = settings.insecure;
    check.ca_file = settings.ca_file;
    if (settings.http1_1) check.http_version = http::version::http1_1;
    if (settings.http2) check.http_version = http::version::http2;
    if (settings.http2_prior_knowledge) check.http_version = http::version::http2_prior_knowledge;

    if (!settings.ca_file.empty())
        if (auto why = ca_file_problem(settings.ca_file))
            return usage_error(
                fmt::format("--ca-file: cannot use '{}': {}", settings.ca_file, *why));
    if (settings.input != "-")
        if (auto why = unreadable(settings.input))
            return usage_error(fmt::format("cannot read '{}': {}", settings.input, *why));
    input_file input(settings.input);
    if (!input.is_open())
        return usage_error(
            fmt::format("cannot read '{}': {}", settings.input, input.open_error().message()));
    // Records go out whole, whatever stops the program (see record_output).
    report::record_output out(STDOUT_FILENO);
    const auto writer = report::make_writer(*format);

    // A per-host limit holds on one loop only (each gather keeps its own
    // count), so with one the sweep runs on a single loop.
    const std::size_t loops =
        settings.per_host > 0
            ? 1
            : std::max<std::size_t>(1, std::min(settings.threads, settings.limit));
    warn_if_open_files_short("sweep", fmt::format("-c {}", settings.limit), settings.limit);
    forced_exit_note note{.command = "sweep", .output = &out};
    runtime rt({.loop_threads = loops, .handle_signals = true, .on_forced_exit = std::ref(note)});
    // A record that cannot be written stops the run: checking on is pointless.
    out.on_failure([&rt] { rt.cancel(); });
    std::optional<rate_limiter> rate;
    if (settings.rate > 0) rate.emplace(settings.rate);
    std::optional<circuit_breakers> host_breakers;
    if (settings.max_host_errors > 0) host_breakers.emplace(host_error_policy(settings));
    progress counters;
    line_source lines(rt.executor(0), rt.blocking_pool(), input.descriptor(),
                      {.max_line_length = settings.input_lines.max_line,
                       .skip = settings.input_lines.skip,
                       .items_only = true,
                       .slice = *slice});
    note.lines = &lines;
    sweep_input source{&lines, settings.input_lines.max_line};
    std::vector<sweep_loop> per_loop(loops);
    check.connections_per_origin = settings.limit / loops + 1;
    try {
        for (std::size_t i = 0; i < loops; ++i)
            per_loop[i].prober = std::make_unique<probe::prober>(rt.executor(i), check);
        if (!settings.html_file.empty())
            for (auto& part : per_loop) part.page.emplace();
    } catch (const std::exception& e) {
        return usage_error(e.what());
    }

    const auto started = std::chrono::steady_clock::now();
    const auto run_loop = [&](std::size_t i) -> net::awaitable<gather_summary> {
        gather_options options{.limit = settings.limit / loops + (i < settings.limit % loops),
                               .per_attempt_timeout = *timeout,
                               .rate = rate ? &*rate : nullptr,
                               .per_key_limit = settings.per_host,
                               .progress = &counters,
                               .breakers = host_breakers ? &*host_breakers : nullptr};
        if (deadline) options.deadline = started + *deadline;
        options.hedge = hedge;  // a latency tracker and a budget per loop
        options.retry.max_attempts = settings.retries + 1;
        options.retry.initial_backoff = std::chrono::milliseconds(100);
        options.retry.max_backoff = std::chrono::seconds(2);
        options.retry.retry_if = [](const failure& f) {
            return f.code != probe::errc::invalid_target && retry_policy::default_retryable(f);
        };
        auto& state = per_loop[i];
        return gather_each(
            source, [&state](sweep_item& item) { return check_item(*state.prober, item); },
            [&state, &writer, &out](sweep_item& item, outcome<void>&& done) {
                const auto kind = item.target ? probe::to_string(item.target->kind) : "invalid";
                auto r = report::make_record(item.line, std::move(item.input), kind, done,
                                             item.checked ? &*item.checked : nullptr);
                if (!item.target) r.attempts = 0;  // nothing was tried
                state.text.clear();
                writer->append(state.text, r);
                out.write(state.text);
                state.tally.count(r);
                if (state.page) state.page->add(r);
                if (r.error && unfinished(*r.error) &&
                    (state.first_unfinished == 0 || item.line < state.first_unfinished))
                    state.first_unfinished = item.line;
            },
            options,
            [](const sweep_item& item) {
                return item.target ? probe::host_key(*item.target) : std::string();
            });
    };

    out.write(writer->header(), 0);
    rt.run([&]() -> net::awaitable<void> {
        const auto executor = co_await net::this_coro::executor;
        progress_line line(executor, counters, "sweep");
        line.start();
        report::periodic_flush flush(executor, [&out] { out.flush(); });
        flush.start();
        co_await on_each_loop(rt, loops, run_loop);
    }());
    const auto took = std::chrono::steady_clock::now() - started;
    out.write(writer->footer(), 0);
    out.flush();
    // A failed write has stopped the run.
    if (const auto error = out.error()) {
        say("fanout sweep: cannot write to stdout: {}\n", error.message());
        return exit_io_error;
    }

    report::summary tally;
    std::size_t first_unfinished = 0;
    for (const auto& part : per_loop) {
        tally += part.tally;
        if (part.first_unfinished != 0 &&
            (first_unfinished == 0 || part.first_unfinished < first_unfinished))
            first_unfinished = part.first_unfinished;
    }
    say("{}{}", tally.text(took, rt.interrupted()), input_summary(lines, first_unfinished));
    if (!settings.html_file.empty()) {
        report::html_page page;
        for (const auto& part : per_loop) page += *part.page;
        if (auto why = replace_file(settings.html_file, page.render(tally, command_line()))) {
            say("fanout sweep: cannot write the report to '{}': {}\n", settings.html_file, *why);
            return exit_io_error;
        }
    }
    if (rt.interrupted()) return interrupted_exit_code(rt);
    if (const auto error = lines.error())
        return usage_error(fmt::format("reading '{}' failed: {}", settings.input, error.message()));
    // Stopped (a deadline) before the end: the lines not read were not checked.
    if (!lines.at_end_of_input()) return exit_some_failed;
    if (tally.unhealthy() > 0) return exit_some_failed;
    return tally.invalid() > 0 ? exit_usage : exit_ok;
}

}  // namespace

command add_sweep(CLI::App& parent) {
    auto settings = std::make_shared<sweep_settings>();
    CLI::App* app = parent.add_subcommand(
        "sweep",
        "Health-check targets (http://, https://, tcp://host:port, dns://name one a line, "
        "from a file or stdin), one record each");
    app->add_option("input", settings->input, "file of targets, or - for stdin")
        ->capture_default_str();
    app->add_option("-c,--limit", settings->limit, "checks in flight at most")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{60'000}));
    app->add_option("--per-host", settings->per_host,
                    "checks of one host:port (or DNS server) in flight at most; 0: no limit")
        ->capture_default_str();
    app->add_option("--max-host-errors", settings->max_host_errors,
                    "after this many failures in a row of one host (no answer: refused, reset, "
                    "timed out), the rest of its targets are not tried and end as circuit_open; "
                    "0: no limit")
        ->capture_default_str();
    app->add_option("--rate", settings->rate, "attempts started per second at most; 0: no limit")
        ->capture_default_str()
        ->check(rate_check(true));
    app->add_option("--timeout", settings->timeout, "how long one attempt may take (e.g. 500ms)")
        ->capture_default_str();
    app->add_option("--retries", settings->retries,
                    "attempts after a failed one (with backoff); healthy if one succeeds")
        ->capture_default_str()
        ->check(CLI::Range(0u, 20u));
    app->add_option("--hedge", settings->hedge,
                    "a check still unanswered after this long (e.g. 200ms), or after this "
                    "percentile of the latencies seen so far (e.g. p95, once 50 are in), gets a "
                    "twin on a new request; the first healthy answer wins, the other is "
                    "cancelled; twins are capped at 5% of checks plus 10");
    app->add_option("--hedge-calls", settings->hedge_calls,
                    "with --hedge: calls of one attempt at most, the first included (2 to 5)")
        ->capture_default_str()
        ->check(CLI::Range(2u, 5u));
    app->add_option("--deadline", settings->deadline,
                    "end the whole sweep after this long (e.g. 10m); the rest is cancelled");
    app->add_option("--format", settings->format,
                    "table, jsonl, csv or prometheus (default: table on a terminal, else jsonl)")
        ->check(CLI::IsMember({"table", "jsonl", "csv", "prometheus"}));
    app->add_option("--html", settings->html_file,
                    "also write an HTML page (counts, unhealthy targets first, the slowest, "
                    "latency chart, certificate days) to this file");
    app->add_option("--expect-status", settings->expect_status,
                    "HTTP statuses that are healthy, e.g. 200-399 or 200,204")
        ->capture_default_str();
    app->add_option("--body-contains", settings->body_contains,
                    "HTTP bodies must contain this text");
    app->add_option("--max-body", settings->max_body,
                    "read at most this much of a body (e.g. 64KiB); the rest is not read and the "
                    "status decides; with --body-contains, the part searched")
        ->capture_default_str();
    app->add_option("--max-latency", settings->max_latency,
                    "slower answers are unhealthy (e.g. 500ms)");
    app->add_option("--cert-days", settings->cert_days,
                    "warn when a certificate has fewer days left")
        ->capture_default_str();
    app->add_option("--shard", settings->shard, "check the K-th of N slices of the input (K/N)")
        ->capture_default_str();
    app->add_flag("--insecure", settings->insecure,
                  "do not verify TLS certificates and host names");
    app->add_option("--ca-file", settings->ca_file, "trust the CA certificates of this PEM file");
    auto* http1_1 = app->add_flag("--http1.1", settings->http1_1,
                                  "speak HTTP/1.1 only (by default https targets speak h2 when the "
                                  "server offers it by ALPN)");
    auto* http2 = app->add_flag("--http2", settings->http2,
                                "https targets must speak h2 (a server that does not pick it by "
                                "ALPN fails as http2_not_negotiated); http:// stays HTTP/1.1");
    auto* prior = app->add_flag("--http2-prior-knowledge", settings->http2_prior_knowledge,
                                "speak h2 without negotiating, h2c on http:// (as --http2 on "
                                "https://)");
    http1_1->excludes(http2)->excludes(prior);
    http2->excludes(prior);
    app->add_option("--threads", settings->threads,
                    "loop threads (default: one per core; one with --per-host)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    add_line_input_flags(*app, settings->input_lines);
    return {app, [settings] { return run_sweep(*settings); }};
}

}  // namespace fanout::cli
