// The HTML reports of fanout load and fanout merge, made from real runs
// against nginx on 127.0.0.1: their charts read statically, then opened in
// headless Chromium (when it can start): the DOM it built holds every chart
// with its series, the console has no errors, and a screenshot is not blank.
#include "child_process.hpp"
#include "nginx_server.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using fanout::test::child_process;
using fanout::test::nginx_server;
using fanout::test::scratch_directory;

namespace {

constexpr const char* chromium_path = "/usr/bin/chromium";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct chart_shape {
    std::vector<std::string> series;  // names of the paths with points
    std::size_t empty_paths = 0;      // paths with no points
    std::size_t bars = 0;
};

// Each <svg data-chart=...>: its series and bars.
std::map<std::string, chart_shape> charts_of(const std::string& html) {
    std::map<std::string, chart_shape> out;
    const std::regex svg(R"re(<svg[^>]*data-chart="([a-z]+)"[^>]*>([\s\S]*?)</svg>)re");
    const std::regex path(R"re(<path class="series" data-series="([^"]*)"[^>]*?d="([^"]*)")re");
    const std::regex bar(R"re(class="bar")re");
    for (std::sregex_iterator it(html.begin(), html.end(), svg), end; it != end; ++it) {
        auto& shape = out[(*it)[1]];
        const std::string body = (*it)[2];
        for (std::sregex_iterator p(body.begin(), body.end(), path); p != end; ++p) {
            if (std::string((*p)[2]).starts_with("M"))
                shape.series.push_back((*p)[1]);
            else
                ++shape.empty_paths;
        }
        shape.bars = static_cast<std::size_t>(
            std::distance(std::sregex_iterator(body.begin(), body.end(), bar), end));
    }
    return out;
}

void run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), FANOUT_CLI_PATH);
    child_process cli(args);
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    REQUIRE(status.code == 0);
}

// Nothing the page would fetch: no src, no href, no @import, no url().
void check_self_contained(const std::string& html) {
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("href=") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
}

struct chromium_run {
    bool started = false;
    std::string why_not;  // when it could not start
    std::string dom;
    std::string log;  // stderr, with console messages
};

std::vector<std::string> chromium_flags(const scratch_directory& profile) {
    return {chromium_path,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-extensions",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--user-data-dir=" + profile.path() + "/profile"};
}

chromium_run open_in_chromium(const std::string& file, const scratch_directory& dir) {
    chromium_run out;
    if (::access(chromium_path, X_OK) != 0) {
        out.why_not = std::string(chromium_path) + " is not installed (cmake/setup.sh installs it)";
        return out;
    }
    auto argv = chromium_flags(dir);
    argv.push_back("--dump-dom");
    argv.push_back("file://" + file);
    child_process browser(argv);
    const auto status = browser.wait_for_exit(40s);
    out.log = browser.errors();
    out.dom = browser.output();
    if (!status.exited || status.code != 0 || out.dom.find("<html") == std::string::npos) {
        out.why_not = "chromium did not start: " + out.log.substr(0, 2000);
        return out;
    }
    out.started = true;
    return out;
}

// Console messages Chromium logged (with --enable-logging=stderr).
std::vector<std::string> console_messages(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
        if (line.find("CONSOLE") != std::string::npos) out.push_back(line);
    return out;
}

std::string run_python(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3"};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process python(argv);
    const auto status = python.wait_for_exit(40s);
    INFO(python.errors());
    REQUIRE(status.exited);
    REQUIRE(status.code == 0);
    return python.output();
}

}  // namespace

TEST_CASE("fanout load --html against nginx writes a self-contained page with every chart") {
    nginx_server nginx;
    scratch_directory dir("fanout-report-test");
    const auto page = dir.path() + "/load.html";
    run_cli(
        {"load", nginx.url("/ok"), "-R", "400", "-d", "2s", "-c", "4", "-t", "2", "--html", page});
    const auto html = read_text(page);
    check_self_contained(html);
    CHECK(html.find("fanout load report") != std::string::npos);
    CHECK(html.find(nginx.url("/ok")) != std::string::npos);
    CHECK(html.find("open loop at 400/s asked") != std::string::npos);
    const auto charts = charts_of(html);
    REQUIRE(charts.size() == 5);
    CHECK(charts.at("latency").series ==
          std::vector<std::string>{"p50 corrected", "p99 corrected", "max corrected",
                                   "p50 uncorrected", "p99 uncorrected", "max uncorrected"});
    CHECK(charts.at("throughput").series ==
          std::vector<std::string>{"sent", "answered", "errors", "rate asked for"});
    CHECK(charts.at("spectrum").series == std::vector<std::string>{"corrected", "uncorrected"});
    CHECK(charts.at("status").bars == 1);
    CHECK(charts.at("errors").bars == 0);
    for (const auto& [name, shape] : charts) CHECK(shape.empty_paths == 0);
}

TEST_CASE("a 1 s closed-loop run still draws its charts over time") {
    nginx_server nginx;
    scratch_directory dir("fanout-report-test");
    const auto page = dir.path() + "/short.html";
    run_cli({"load", nginx.url("/ok"), "-d", "1s", "-c", "2", "-t", "1", "--html", page});
    const auto html = read_text(page);
    const auto charts = charts_of(html);
    CHECK(charts.at("latency").series == std::vector<std::string>{"p50", "p99", "max"});
    CHECK(charts.at("throughput").series.size() == 3);  // no rate asked in closed loop
    // At 100 ms intervals a second has ten points: more than one M/L pair.
    const std::regex latency_path(
        R"re(data-chart="latency"[\s\S]*?class="series"[^>]*d="M[^"]*L[^"]*L[^"]*")re");
    CHECK(std::regex_search(html, latency_path));
}

TEST_CASE("fanout merge --html overlays each run's spectrum on the merged one") {
    nginx_server nginx;
    scratch_directory dir("fanout-report-test");
    for (const auto* name : {"/a.json", "/b.json"})
        run_cli({"load", nginx.url("/ok"), "-R", "200", "-d", "1s", "-c", "2", "--json",
                 dir.path() + name});
    const auto page = dir.path() + "/merged.html";
    run_cli({"merge", dir.path() + "/a.json", dir.path() + "/b.json", "--html", page});
    const auto html = read_text(page);
    check_self_contained(html);
    CHECK(html.find("fanout merge report") != std::string::npos);
    const auto charts = charts_of(html);
    CHECK(charts.at("spectrum").series ==
          std::vector<std::string>{"all runs, corrected", "all runs, uncorrected",
                                   dir.path() + "/a.json", dir.path() + "/b.json"});
    CHECK(charts.at("latency").series.size() == 6);
    CHECK(html.find("runs merged") != std::string::npos);
}

TEST_CASE(
    "in headless Chromium the load report has every chart, no console error and is not "
    "blank") {
    nginx_server nginx;
    scratch_directory dir("fanout-report-test");
    const auto page = dir.path() + "/load.html";
    run_cli(
        {"load", nginx.url("/ok"), "-R", "300", "-d", "2s", "-c", "2", "-t", "1", "--html", page});

    // The console check catches an error when there is one.
    const auto faulty = dir.path() + "/faulty.html";
    std::ofstream(faulty) << "<!DOCTYPE html><html><body><p>x</p>"
                             "<script>console.error('fanout-test-error')</script></body></html>";
    const auto probe = open_in_chromium(faulty, dir);
    if (!probe.started) {
        WARN("skipped: " << probe.why_not);
        return;
    }
    const auto faulty_messages = console_messages(probe.log);
    INFO(probe.log);
    REQUIRE(faulty_messages.size() == 1);
    CHECK(faulty_messages[0].find("fanout-test-error") != std::string::npos);

    const auto opened = open_in_chromium(page, dir);
    INFO(opened.log);
    REQUIRE(opened.started);
    CHECK(console_messages(opened.log).empty());
    const auto charts = charts_of(opened.dom);
    REQUIRE(charts.size() == 5);
    CHECK(charts.at("latency").series.size() == 6);
    CHECK(charts.at("throughput").series.size() == 4);
    CHECK(charts.at("spectrum").series.size() == 2);
    CHECK(charts.at("status").bars == 1);

    const auto png = dir.path() + "/shot.png";
    auto argv = chromium_flags(dir);
    argv.insert(argv.end(), {"--screenshot=" + png, "--window-size=800,1400", "--hide-scrollbars",
                             "file://" + page});
    child_process shot(argv);
    const auto status = shot.wait_for_exit(40s);
    INFO(shot.errors());
    REQUIRE(status.exited);
    REQUIRE(status.code == 0);
    std::istringstream colours(run_python({FANOUT_PNG_COLOURS, png}));
    std::size_t distinct = 0;
    double dominant = 1;
    colours >> distinct >> dominant;
    INFO("distinct colours " << distinct << ", the commonest covers " << dominant);
    CHECK(distinct >= 8);    // text, grid, series colours, anti-aliasing
    CHECK(dominant < 0.99);  // white background, but not only
}

TEST_CASE("fanout demo --html writes the report of its load part") {
    scratch_directory dir("fanout-report-test");
    const auto page = dir.path() + "/demo.html";
    run_cli({"demo", "--items", "50", "--dns-names", "0", "--http-requests", "0", "--load-ms",
             "500", "--html", page});
    const auto html = read_text(page);
    check_self_contained(html);
    const auto charts = charts_of(html);
    REQUIRE(charts.size() == 5);
    CHECK(charts.at("latency").series.size() == 6);  // open loop: corrected and uncorrected
}

TEST_CASE(
    "fanout sweep --html puts the unhealthy first, lists certificates, and its script runs "
    "in Chromium") {
    nginx_server nginx({.https = true});
    scratch_directory dir("fanout-report-test");
    const auto targets = dir.path() + "/targets.txt";
    std::ofstream(targets) << nginx.url("/ok") << "\n"
                           << nginx.url("/missing") << "\n"
                           << nginx.https_url("/ok") << "\n"
                           << nginx.url("/ok.txt") << "\n";
    const auto page = dir.path() + "/sweep.html";
    child_process cli({FANOUT_CLI_PATH, "sweep", targets, "--format", "jsonl", "--ca-file",
                       nginx.pki().ca_certificate, "--html", page});
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);                                    // one unhealthy target
    CHECK(cli.output().find("\"line\"") != std::string::npos);  // jsonl as asked, beside the page
    const auto html = read_text(page);
    check_self_contained(html);
    const auto unhealthy_row = html.find("<tr class=\"unhealthy\">");
    const auto healthy_row = html.find("<tr class=\"healthy\">");
    REQUIRE(unhealthy_row != std::string::npos);
    REQUIRE(healthy_row != std::string::npos);
    CHECK(unhealthy_row < healthy_row);
    CHECK(html.find("/missing", unhealthy_row) < healthy_row);
    CHECK(html.find("The 1 soonest to expire of 1 https targets") != std::string::npos);
    const auto charts = charts_of(html);
    CHECK(charts.at("unhealthy").bars == 1);
    CHECK(charts.at("latency").series == std::vector<std::string>{"healthy"});

    const auto opened = open_in_chromium(page, dir);
    if (!opened.started) {
        WARN("skipped the browser part: " << opened.why_not);
        return;
    }
    INFO(opened.log);
    CHECK(console_messages(opened.log).empty());
    CHECK(opened.dom.find(R"(data-sortable="ready")") != std::string::npos);
}
