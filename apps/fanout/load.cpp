// fanout load: HTTP load generation, closed loop or at a fixed rate.
//
// Flags are read here; the work is fanout::load::run (http and https). The report goes to
// stdout, a progress line to stderr on a terminal, the full result (with its
// histograms) to --json. Exit: 0 done, 1 a --fail-if threshold failed, 2 bad
// input (flags, URLs, unreachable hosts: said before anything is sent), 74
// the report or the --json file not written (a failed write of stdout stops
// the run), 130 interrupted (the report of what was done is printed first).
#include "commands.hpp"
#include "stdio.hpp"

#include <fanout/duration.hpp>
#include <fanout/http/message.hpp>
#include <fanout/load/hgrm.hpp>
#include <fanout/load/html_report.hpp>
#include <fanout/load/run.hpp>
#include <fanout/load/threshold.hpp>
#include <fanout/progress.hpp>
#include <fanout/runtime.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fanout::cli {
namespace {

namespace net = boost::asio;

struct load_settings {
    std::vector<std::string> urls;
    std::string urls_file;
    std::size_t connections = 64;
    std::string duration;
    std::optional<std::uint64_t> requests;
    std::optional<double> rate;
    std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    std::size_t pipeline = 1;
    std::string method = "GET";
    std::vector<std::string> headers;
    std::string body;
    std::string body_file;
    std::string timeout = "2s";
    std::string json_file;
    std::string hgrm_file;
    std::string html_file;
    std::string hgrm_uncorrected_file;
    std::vector<std::string> fail_if;
    bool insecure = false;
    std::string ca_file;
    bool http2 = false;
    bool http2_prior_knowledge = false;
};

int usage_error(const std::string& message) {
    say("fanout load: {}\n", message);
    return exit_usage;
}

// The load options of the flags, or the message saying which is wrong.
fanout::result<load::options> options_of(const load_settings& settings) {
    const auto bad = [](std::string message) {
        return failure{make_error_code(errc::invalid_input), std::move(message)};
    };
    load::options opts;
    opts.urls = settings.urls;
    if (!settings.urls_file.empty()) {
        if (auto why = unreadable(settings.urls_file))
            return bad(fmt::format("--urls: cannot read '{}': {}", settings.urls_file, *why));
        std::ifstream in(settings.urls_file);
        if (!in) return bad(fmt::format("--urls: cannot read '{}'", settings.urls_file));
        std::size_t number = 0;
        for (std::string line; std::getline(in, line);) {
            ++number;
            const auto first = line.find_first_not_of(" \t\r");
            if (first == std::string::npos || line[first] == '#') continue;
            auto url = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
            if (auto problem = http::check_url(url))
                return bad(fmt::format("--urls {} line {}: {}", settings.urls_file, number,
                                       problem->text()));
            opts.urls.push_back(std::move(url));
        }
    }
    if (opts.urls.empty()) return bad("no URL given (as arguments or with --urls)");
    opts.connections = settings.connections;
    opts.threads = settings.threads;
    opts.pipeline = settings.pipeline;
    if (settings.http2 && settings.http2_prior_knowledge)
        return bad("--http2 and --http2-prior-knowledge cannot both be given");
    if (settings.http2) opts.version = load::protocol::http2;
    if (settings.http2_prior_knowledge) opts.version = load::protocol::http2_prior_knowledge;
    opts.requests = settings.requests;
    opts.rate = settings.rate;
    opts.method = settings.method;
    opts.verify_tls = !settings.insecure;
    opts.ca_file = settings.ca_file;
    if (!settings.duration.empty()) {
        const auto d = parse_duration(settings.duration);
        if (!d) return bad("-d: " + d.error().text());
        opts.duration = *d;
    }
    const auto timeout = parse_duration(settings.timeout);
    if (!timeout) return bad("--timeout: " + timeout.error().text());
    opts.timeout = *timeout;
    for (const auto& line : settings.headers) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0)
            return bad(fmt::format("-H: '{}' is not 'Name: value'", line));
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        opts.headers.push_back({line.substr(0, colon), value});
    }
    if (!settings.body.empty() && !settings.body_file.empty())
        return bad("-b and --body-file cannot both be given");
    opts.body = settings.body;
    if (!settings.body_file.empty()) {
        if (auto why = read_file(settings.body_file, opts.body))
            return bad(fmt::format("--body-file: cannot read '{}': {}", settings.body_file, *why));
    }
    return opts;
}

std::string describe(const load::options& opts, std::size_t threads) {
    std::string what =
        opts.rate ? fmt::format("open loop at {}/s", *opts.rate) : std::string("closed loop");
    std::string how_long;
    if (opts.requests) how_long = fmt::format("{} requests", format_count(*opts.requests));
    if (opts.duration)
        how_long += fmt::format("{}{}", how_long.empty() ? "" : ", at most ",
                                format_duration(*opts.duration));
    if (how_long.empty()) how_long = "10s";
    std::string where = opts.urls.front();
    if (opts.urls.size() > 1) where += fmt::format(" and {} more URLs", opts.urls.size() - 1);
    const bool h2 = opts.version != load::protocol::http1_1;
    std::string depth;
    if (h2)
        depth = fmt::format(", h2{}, {} stream{} per connection",
                            opts.version == load::protocol::http2_prior_knowledge ? "c" : "",
                            opts.pipeline, opts.pipeline == 1 ? "" : "s");
    else if (opts.pipeline > 1)
        depth = fmt::format(", pipeline {}", opts.pipeline);
    return fmt::format("fanout load: {} {} to {}, {} connection{} over {} thread{}, {}{}\n",
                       how_long, opts.method, where, opts.connections,
                       opts.connections == 1 ? "" : "s", threads, threads == 1 ? "" : "s", what,
                       depth);
}

int run_load(const load_settings& settings) {
    auto opts = options_of(settings);
    if (!opts) return usage_error(opts.error().text());
    const auto thresholds = load::parse_thresholds(settings.fail_if);
    if (!thresholds) return usage_error("--fail-if: " + thresholds.error().text());
    for (const auto& [flag, path] :
         {std::pair{"--json", &settings.json_file}, std::pair{"--hgrm", &settings.hgrm_file},
          std::pair{"--hgrm-uncorrected", &settings.hgrm_uncorrected_file},
          std::pair{"--html", &settings.html_file}})
        if (!path->empty())
            if (auto why = unwritable(*path))
                return usage_error(fmt::format("{}: cannot write '{}': {}", flag, *path, *why));

    const std::size_t threads =
        std::max<std::size_t>(1, std::min(settings.threads, opts->connections));
    opts->threads = threads;
    warn_if_open_files_short("load", fmt::format("-c {}", opts->connections), opts->connections);
    runtime rt({.loop_threads = threads, .handle_signals = true});
    auto& out = standard_output();
    // The report cannot be written: the load stops.
    const auto stop_on_failure = out.on_failure([&rt] { rt.cancel(); });
    // The progress line counts from the start of the load (after the checks).
    std::optional<progress> counters;
    std::optional<progress_line> line;
    load::run_hooks hooks;
    hooks.on_tick = [&counters](const load::live_counts& live) {
        if (live.total) counters->set_total(*live.total);
        counters->set_counts(live.sent, live.responses + live.errors, live.errors);
    };
    const auto opts_urls = opts->urls;
    auto outcome = rt.run([&](load::options opts) -> net::awaitable<fanout::result<load::result>> {
        const auto executor = co_await net::this_coro::executor;
        hooks.on_start = [&, executor, banner = describe(opts, threads)] {
            out.write(banner);
            out.flush();
            counters.emplace();
            line.emplace(executor, *counters, "load");
            line->start();
        };
        auto measured = co_await load::run(rt, std::move(opts), std::move(hooks));
        if (line) line->stop();
        co_return measured;
    }(std::move(*opts)));
    if (!outcome) {
        if (rt.interrupted()) {
            say("fanout load: interrupted before the load started\n");
            return exit_interrupted;
        }
        return usage_error(outcome.error().text());
    }
    load::result& measured = *outcome;
    measured.run_ids = {load::make_run_id()};
    out.write(load::to_text(measured));
    // Stopped by a failed write: main says so (exit_io_error), and the
    // result of a run cut short does not replace the --json file.
    if (!out.flush()) return exit_io_error;
    if (!settings.json_file.empty()) {
        if (auto why = replace_file(settings.json_file,
                                    boost::json::serialize(measured.to_json()) + '\n')) {
            say("fanout load: cannot write the result to '{}': {}\n", settings.json_file, *why);
            return exit_io_error;
        }
    }
    // Corrected latency in open loop (the only one in closed loop), as wrk2 --latency.
    const std::pair<const std::string*, const histogram*> distributions[] = {
        {&settings.hgrm_file, &measured.honest_latency()},
        {&settings.hgrm_uncorrected_file, &measured.latency}};
    for (const auto& [path, latency] : distributions) {
        if (path->empty()) continue;
        if (auto why = replace_file(*path, load::to_hgrm(*latency))) {
            say("fanout load: cannot write the percentile distribution to '{}': {}\n", *path, *why);
            return exit_io_error;
        }
    }
    if (!settings.html_file.empty()) {
        load::report_about about;
        about.command = command_line();
        about.target = fmt::format("{}", fmt::join(opts_urls, " "));
        if (measured.protocol == "h2") about.protocol = "HTTP/2";
        if (auto why = replace_file(settings.html_file, load::to_html(measured, about))) {
            say("fanout load: cannot write the report to '{}': {}\n", settings.html_file, *why);
            return exit_io_error;
        }
    }
    if (rt.interrupted()) return exit_interrupted;
    const auto failed = load::failed_thresholds(*thresholds, measured);
    for (const auto& message : failed) say("fanout load: threshold {}\n", message);
    return failed.empty() ? exit_ok : exit_some_failed;
}

}  // namespace

command add_load(CLI::App& parent) {
    auto settings = std::make_shared<load_settings>();
    CLI::App* app = parent.add_subcommand(
        "load",
        "HTTP load: closed loop or a fixed rate, latency corrected for coordinated omission");
    app->add_option("url", settings->urls,
                    "http:// or https:// URLs to load (cycled through per origin)");
    app->add_option("--urls", settings->urls_file, "a file of URLs, one a line");
    app->add_option("-c,--connections", settings->connections, "keep-alive connections in all")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    app->add_option("-d,--duration", settings->duration,
                    "how long to send (e.g. 10s, 1m; default 10s unless -n is given)");
    app->add_option("-n,--requests", settings->requests, "send exactly this many requests")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 62));
    app->add_option("-R,--rate", settings->rate,
                    "open loop: requests per second in all (latency from intended starts)")
        ->check(rate_check(false));
    app->add_option("-t,--threads", settings->threads, "loop threads (default: one per core)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    app->add_option("-p,--pipeline", settings->pipeline,
                    "requests in flight per connection: pipelined on HTTP/1.1, concurrent "
                    "streams on HTTP/2 (capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
    app->add_option("-m,--method", settings->method, "request method")->capture_default_str();
    app->add_option("-H,--header", settings->headers, "'Name: value' added to every request")
        ->allow_extra_args(false);
    app->add_option("-b,--body", settings->body, "request body");
    app->add_option("--body-file", settings->body_file, "request body read from a file");
    app->add_option("--timeout", settings->timeout, "a request not answered by then is an error")
        ->capture_default_str();
    app->add_option("--json", settings->json_file,
                    "write the full result (histograms included) to this file, for fanout merge");
    app->add_option("--hgrm", settings->hgrm_file,
                    "write the latency percentile distribution in HdrHistogram's text format "
                    "(corrected in open loop) to this file");
    app->add_option("--hgrm-uncorrected", settings->hgrm_uncorrected_file,
                    "the same, of the latency from each request's actual send");
    app->add_option("--html", settings->html_file,
                    "write a self-contained HTML report (latency and throughput over time, "
                    "percentile spectrum, status codes and errors) to this file");
    app->add_option("--fail-if", settings->fail_if,
                    "exit 1 when this holds: 'p99>50ms', 'errors>1%', 'rps<1000' (repeatable)")
        ->allow_extra_args(false);
    app->add_flag("--http2", settings->http2,
                  "HTTP/2 over TLS (https:// URLs; ALPN offers h2 only, and a server that does "
                  "not pick it is an error before the run)");
    app->add_flag("--http2-prior-knowledge", settings->http2_prior_knowledge,
                  "HTTP/2 on plain TCP, h2c by prior knowledge (http:// URLs)");
    app->add_flag("--insecure", settings->insecure,
                  "https: accept any certificate (no verification)");
    app->add_option("--cacert", settings->ca_file,
                    "https: trust the CA certificates of this PEM file instead of the system's");
    return {app, [settings] { return run_load(*settings); }};
}

}  // namespace fanout::cli
