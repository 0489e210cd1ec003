// fanout load as a user meets it: against the in-process fault server and a
// real nginx on 127.0.0.1, through the library (rate, coordinated omission)
// and through the command (counts, --json and fanout merge, --fail-if, bad
// input, Ctrl-C).
#include "child_process.hpp"
#include "http_fault_server.hpp"
#include "nginx_server.hpp"

#include <fanout/load/result.hpp>
#include <fanout/load/run.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using fanout::test::child_process;
using fanout::test::http_fault_server;
namespace load = fanout::load;

namespace {

fanout::result<load::result> run(load::options opts) {
    fanout::runtime rt({.loop_threads = 2});
    auto out = rt.run(load::run(rt, std::move(opts)));
    if (!out) UNSCOPED_INFO("the run failed: " << out.error().text());
    return out;
}

// Open loop at 1,000 requests/s to `url` for `duration` over two loops.
load::options at_1000_per_second(std::string url, std::chrono::seconds duration,
                                 std::size_t connections, std::size_t pipeline = 1) {
    load::options opts;
    opts.urls = {std::move(url)};
    opts.rate = 1000;
    opts.duration = duration;
    opts.connections = connections;
    opts.pipeline = pipeline;
    opts.threads = 2;
    return opts;
}

// -n requests to `url`, bounded by a duration in case of a bug.
load::options count_of(std::uint64_t n, std::string url, std::size_t connections,
                       std::size_t pipeline) {
    load::options opts;
    opts.urls = {std::move(url)};
    opts.requests = n;
    opts.duration = 30s;
    opts.connections = connections;
    opts.pipeline = pipeline;
    opts.threads = 2;
    return opts;
}

// What nginx logged of `expected` requests for /ok.
struct logged {
    std::size_t requests = 0;
    std::size_t over_tls = 0;
    std::set<std::uint64_t> connections;
};

logged logged_requests(const fanout::test::nginx_server& nginx, std::size_t expected) {
    logged out;
    for (const auto& entry : nginx.wait_for_log(expected, 10s)) {
        if (entry.request != "GET /ok HTTP/1.1") continue;
        ++out.requests;
        out.over_tls += entry.tls ? 1 : 0;
        out.connections.insert(entry.connection);
    }
    return out;
}

// The run of `opts` while `server` stalls for `stall` from `after` on.
fanout::result<load::result> run_with_stall(http_fault_server& server, const load::options& opts,
                                            std::chrono::milliseconds after,
                                            std::chrono::milliseconds stall) {
    std::thread staller([&server, after, stall] {
        std::this_thread::sleep_for(after);
        server.stall_for(stall);
    });
    auto out = run(opts);
    staller.join();
    return out;
}

load::result read_result(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return load::result::from_json(boost::json::parse(text.str()));
}

// A file name under the test's scratch directory.
struct scratch {
    fanout::test::scratch_directory dir{"fanout-load-test"};
    std::string file(const std::string& name) const { return dir.path() + "/" + name; }
};

std::vector<std::string> load_command(std::vector<std::string> args) {
    args.insert(args.begin(), {FANOUT_CLI_PATH, "load"});
    return args;
}

std::uint16_t closed_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

}  // namespace

TEST_CASE("an open-loop run at a fixed rate over 3 s hits the rate within 2%") {
    http_fault_server server;
    const auto r = run(at_1000_per_second(server.url("/ok"), 3s, 10));
    REQUIRE(r);
    INFO(load::to_text(*r));
    CHECK(r->duration >= 3s);
    CHECK(r->requests_per_second() == Approx(1000).epsilon(0.02));
    CHECK(r->sent_per_second() == Approx(1000).epsilon(0.02));
    CHECK(r->rate_kept());
    CHECK(r->errors == 0);
    CHECK(r->corrected_latency.count() == r->responses);
    CHECK(r->latency.count() == r->responses);
    // Intended starts are never after the actual sends.
    CHECK(r->corrected_latency.mean() >= r->latency.mean());
}

TEST_CASE("a server stall shows in the corrected p99 and not in the uncorrected one") {
    http_fault_server server;
    const auto r = run_with_stall(server, at_1000_per_second(server.url("/ok"), 3s, 10), 1s, 500ms);
    REQUIRE(r);
    INFO(load::to_text(*r));
    // About 500 of 3,000 requests were due during the stall: from their
    // intended starts they waited up to 500 ms.
    CHECK(r->corrected_latency.percentile(99) >= 300ms);
    // From their actual sends only the 10 held when it began waited long.
    CHECK(r->latency.percentile(99) < 150ms);
    CHECK(r->latency.max() >= 400ms);
}

TEST_CASE("in open loop with pipelining, requests that come due during a stall are still sent") {
    http_fault_server server;
    const auto r =
        run_with_stall(server, at_1000_per_second(server.url("/ok"), 2s, 2, 32), 500ms, 400ms);
    REQUIRE(r);
    INFO(load::to_text(*r));
    // Each connection kept writing on schedule into the stall until 32 were
    // in flight: dozens of requests were sent early in it and waited for
    // its end, so more than 1% waited 200 ms from their actual send.
    CHECK(r->latency.percentile(99) >= 200ms);
    CHECK(r->errors == 0);
    CHECK(r->sent_per_second() == Approx(1000).epsilon(0.05));
}

TEST_CASE("request counts agree with what nginx logged, over keep-alive connections") {
    fanout::test::nginx_server nginx;
    const auto r = run(count_of(2000, nginx.url("/ok"), 8, 4));
    REQUIRE(r);
    CHECK(r->responses == 2000);
    CHECK(r->status_counts.at(200) == 2000);
    const auto log = logged_requests(nginx, 2000);
    CHECK(log.requests == 2000);
    CHECK(log.connections.size() <= 8);
}

TEST_CASE("https load is verified against the CA given and answered over kept connections") {
    fanout::test::nginx_server nginx({.https = true});
    auto opts = count_of(300, nginx.https_url("/ok"), 4, 2);
    opts.ca_file = nginx.pki().ca_certificate;
    const auto r = run(opts);
    REQUIRE(r);
    CHECK(r->responses == 300);
    CHECK(r->errors == 0);
    CHECK(r->status_counts.at(200) == 300);
    const auto log = logged_requests(nginx, 300);
    CHECK(log.requests == 300);
    CHECK(log.over_tls == 300);
    CHECK(log.connections.size() <= 4);

    // A certificate for another name fails before the run, unless not verified.
    auto wrong = opts;
    wrong.urls = {nginx.wrong_name_url("/ok")};
    const auto refused = run(wrong);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().text().find("TLS handshake") != std::string::npos);
    wrong.verify_tls = false;
    wrong.ca_file.clear();
    const auto accepted = run(wrong);
    REQUIRE(accepted);
    CHECK(accepted->responses == 300);
}

TEST_CASE("fanout load over https needs a trusted certificate, or --insecure") {
    fanout::test::nginx_server nginx({.https = true});
    child_process untrusted(load_command({nginx.https_url("/ok"), "-n", "20", "-c", "2"}));
    const auto refused = untrusted.wait_for_exit(30s);
    INFO(untrusted.output() << untrusted.errors());
    REQUIRE(refused.exited);
    CHECK(refused.code == 2);
    CHECK(untrusted.errors().find("TLS handshake") != std::string::npos);

    child_process insecure(
        load_command({nginx.https_url("/ok"), "-n", "20", "-c", "2", "--insecure"}));
    const auto accepted = insecure.wait_for_exit(30s);
    INFO(insecure.output() << insecure.errors());
    REQUIRE(accepted.exited);
    CHECK(accepted.code == 0);
    CHECK(insecure.output().find("20 answered") != std::string::npos);

    child_process trusted(load_command(
        {nginx.https_url("/ok"), "-n", "20", "-c", "2", "--cacert", nginx.pki().ca_certificate}));
    const auto verified = trusted.wait_for_exit(30s);
    INFO(trusted.output() << trusted.errors());
    REQUIRE(verified.exited);
    CHECK(verified.code == 0);
}

TEST_CASE("fanout load -n sends exactly n requests and reports them") {
    http_fault_server server;
    child_process cli(load_command({server.url("/ok"), "-n", "500", "-c", "4", "-t", "2"}));
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(server.requests_served() == 500);
    CHECK(cli.output().find("500 answered") != std::string::npos);
    CHECK(cli.output().find("200 500") != std::string::npos);
    CHECK(cli.output().find("p99.99") != std::string::npos);
}

TEST_CASE("fanout merge of two --json results gives the combined counts and histogram") {
    http_fault_server server;
    scratch files;
    const std::vector<std::pair<std::string, std::string>> runs{{"a.json", "300"},
                                                                {"b.json", "200"}};
    for (const auto& [name, count] : runs) {
        child_process cli(
            load_command({server.url("/ok"), "-n", count, "-c", "2", "--json", files.file(name)}));
        const auto status = cli.wait_for_exit(60s);
        INFO(cli.output() << cli.errors());
        REQUIRE(status.exited);
        REQUIRE(status.code == 0);
    }
    const auto a = read_result(files.file("a.json"));
    const auto b = read_result(files.file("b.json"));
    CHECK(a.responses == 300);
    CHECK(b.responses == 200);

    child_process merge({FANOUT_CLI_PATH, "merge", files.file("a.json"), files.file("b.json"),
                         "--json", files.file("merged.json")});
    const auto status = merge.wait_for_exit(30s);
    INFO(merge.output() << merge.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(merge.output().find("500 answered") != std::string::npos);
    CHECK(merge.output().find("2 results") != std::string::npos);

    const auto merged = read_result(files.file("merged.json"));
    CHECK(merged.responses == 500);
    CHECK(merged.status_counts.at(200) == 500);
    CHECK(merged.runs == 2);
    CHECK(merged.series.total().answered == 500);
    CHECK(merged.series.total().latency.count() == 500);
    fanout::histogram combined = a.latency;
    combined += b.latency;
    CHECK(merged.latency == combined);
    for (double p : {50.0, 90.0, 99.0, 99.9, 99.99})
        CHECK(merged.latency.percentile(p) == combined.percentile(p));
}

// The rows of an hgrm file: {percentile, total count}, as plotters read them.
std::vector<std::pair<double, std::uint64_t>> hgrm_rows(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::pair<double, std::uint64_t>> rows;
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        double value = 0;
        double percentile = 0;
        std::uint64_t count = 0;
        fields >> value >> percentile >> count;
        if (fields) rows.emplace_back(percentile, count);
    }
    return rows;
}

TEST_CASE("fanout load --hgrm writes the corrected and uncorrected percentile distributions") {
    http_fault_server server;
    scratch files;
    child_process cli(load_command({server.url("/ok"), "-R", "400", "-d", "1s", "-c", "2", "--json",
                                    files.file("run.json"), "--hgrm", files.file("c.hgrm"),
                                    "--hgrm-uncorrected", files.file("u.hgrm")}));
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    REQUIRE(status.code == 0);
    const auto measured = read_result(files.file("run.json"));
    for (const auto& [name, expected] : {std::pair{"c.hgrm", measured.corrected_latency.count()},
                                         std::pair{"u.hgrm", measured.latency.count()}}) {
        INFO(name);
        const auto rows = hgrm_rows(files.file(name));
        REQUIRE(rows.size() > 10);
        for (std::size_t i = 1; i < rows.size(); ++i) CHECK(rows[i].first >= rows[i - 1].first);
        CHECK(rows.back().first == 1.0);
        CHECK(rows.back().second == expected);
    }
    CHECK(measured.corrected_latency.count() > 300);
}

TEST_CASE("fanout merge reads a result of format version 1 beside a new one") {
    http_fault_server server;
    scratch files;
    child_process cli(load_command(
        {server.url("/ok"), "-n", "100", "-c", "2", "--json", files.file("new.json")}));
    REQUIRE(cli.wait_for_exit(60s).code == 0);
    auto old = read_result(files.file("new.json")).to_json();
    old.as_object()["version"] = 1;
    old.as_object().erase("series");
    old.as_object()["run_ids"] = boost::json::array{"0123456789abcdef0123456789abcdef"};
    std::ofstream(files.file("old.json")) << boost::json::serialize(old);
    child_process merge({FANOUT_CLI_PATH, "merge", files.file("new.json"), files.file("old.json"),
                         "--json", files.file("merged.json")});
    const auto status = merge.wait_for_exit(30s);
    INFO(merge.output() << merge.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto merged = read_result(files.file("merged.json"));
    CHECK(merged.responses == 200);
    CHECK(merged.series.total().answered == 100);  // the old file has no series
}

TEST_CASE("fanout merge refuses a file that is not a load result") {
    scratch files;
    std::ofstream(files.file("bad.json")) << R"({"format":"something else"})";
    child_process merge({FANOUT_CLI_PATH, "merge", files.file("bad.json")});
    const auto status = merge.wait_for_exit(30s);
    REQUIRE(status.exited);
    CHECK(status.code == 2);
    CHECK(merge.errors().find("bad.json") != std::string::npos);
}

TEST_CASE("a failing --fail-if threshold exits 1 and names the expression") {
    http_fault_server server;
    child_process cli(load_command({server.url("/ok"), "-n", "50", "-c", "2", "--fail-if",
                                    "rps<1000000000", "--fail-if", "p99>1h"}));
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    CHECK(cli.errors().find("rps<1000000000 failed") != std::string::npos);
    CHECK(cli.errors().find("p99>1h") == std::string::npos);
    CHECK(cli.output().find("50 answered") != std::string::npos);

    child_process passing(
        load_command({server.url("/ok"), "-n", "50", "-c", "2", "--fail-if", "errors>0"}));
    const auto passed = passing.wait_for_exit(60s);
    REQUIRE(passed.exited);
    CHECK(passed.code == 0);
}

TEST_CASE("bad input gets a clear message before the run and exit 2") {
    http_fault_server server;
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"http//nowhere"}, "bad URL"},
        {{fmt::format("http://127.0.0.1:{}/", closed_port())}, "cannot connect"},
        {{server.url("/ok"), "-d", "soon"}, "-d"},
        {{server.url("/ok"), "--fail-if", "p99 is high"}, "bad threshold"},
        {{server.url("/ok"), "-H", "no colon"}, "-H"},
        {{server.url("/ok"), "-p", "0"}, "pipeline"},
        {{server.url("/ok"), "--body-file", "/nonexistent/body"}, "body-file"},
    };
    for (const auto& [args, message] : cases) {
        child_process cli(load_command(args));
        const auto status = cli.wait_for_exit(30s);
        INFO(args.front() << " -> " << cli.output() << cli.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK((cli.errors() + cli.output()).find(message) != std::string::npos);
        CHECK(cli.output().find("answered") == std::string::npos);
    }
    CHECK(server.requests_served() == 0);
}

TEST_CASE("Ctrl-C ends a run, prints the report of what was done and exits 130") {
    http_fault_server server;
    child_process cli(load_command({server.url("/ok"), "-d", "60s", "-c", "4", "-t", "2"}));
    REQUIRE(cli.wait_for_output("fanout load:", 30s));
    std::this_thread::sleep_for(300ms);
    cli.signal(SIGINT);
    const auto status = cli.wait_for_exit(20s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 130);
    CHECK(cli.output().find("answered") != std::string::npos);
    CHECK(cli.output().find("interrupted") != std::string::npos);
    CHECK(server.requests_served() > 0);
}

TEST_CASE("answers held past the end of -d are waited for: p99 and --fail-if see them") {
    http_fault_server server;
    // The server answers in 3 s; sending ends at 2 s.
    child_process held(load_command({server.url("/delay?ms=3000"), "-d", "2s", "-c", "2", "-t", "1",
                                     "--timeout", "10s", "--fail-if", "p99>1s"}));
    const auto status = held.wait_for_exit(60s);
    INFO(held.output() << held.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);
    CHECK(held.errors().find("p99>1s failed") != std::string::npos);
    CHECK(held.output().find("2 answered") != std::string::npos);
    CHECK(held.output().find("2 requests = 2 answered + 0 errors + 0 unanswered") !=
          std::string::npos);

    // Not answered within the timeout: timeouts, which errors>1% sees.
    child_process timed_out(load_command({server.url("/delay?ms=3000"), "-d", "1s", "-c", "2", "-t",
                                          "1", "--timeout", "1500ms", "--fail-if", "errors>1%"}));
    const auto ended = timed_out.wait_for_exit(60s);
    INFO(timed_out.output() << timed_out.errors());
    REQUIRE(ended.exited);
    CHECK(ended.code == 1);
    CHECK(timed_out.errors().find("errors>1% failed: errors was 100.00%") != std::string::npos);
    CHECK(timed_out.output().find("timeout 2") != std::string::npos);
}

TEST_CASE("fanout load refuses what would desynchronise or mislead, naming it") {
    http_fault_server server;
    scratch files;
    const auto urls_file = files.file("urls.txt");
    std::ofstream(urls_file) << server.url("/ok") << "\n# a comment\n"
                             << "http://127.0.0.1:99999/ok\n";
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--urls", urls_file},
         "line 3: bad URL 'http://127.0.0.1:99999/ok': port 99999 is out "
         "of range"},
        {{server.url("/ok"), "-H", "Content-Length: 99"}, "header 'Content-Length' is not allowed"},
        {{"http://user:pw@127.0.0.1:" + std::to_string(server.port()) + "/ok"}, "user information"},
        {{"http://127.0.0.1:" + std::to_string(65536 + server.port()) + "/ok"},
         "is out of range (1-65535)"},
        {{server.url("/ok"), "-R", "nan"}, "is not a rate"},
        {{server.url("/ok"), "-R", "-1"}, "is not a rate"},
        {{server.url("/ok") + "#frag"}, "a fragment"},
    };
    for (const auto& [args, message] : cases) {
        child_process cli(load_command(args));
        const auto status = cli.wait_for_exit(30s);
        INFO(args.front() << " -> " << cli.output() << cli.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(cli.errors().find(message) != std::string::npos);
    }
    CHECK(server.requests_served() == 0);
}

namespace {

// fanout with `args`, under a soft and a hard limit of open files.
child_process with_file_limits(unsigned soft, unsigned hard, std::vector<std::string> args) {
    std::vector<std::string> argv{
        "/bin/sh", "-c", fmt::format("ulimit -Sn {} && ulimit -Hn {} && exec \"$@\"", soft, hard),
        "sh", FANOUT_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return child_process(argv);
}

}  // namespace

TEST_CASE("the soft limit of open files is raised to the hard one, and a -c past it is warned of") {
    http_fault_server server;
    // 100 connections do not fit a soft limit of 64, and do fit the hard one.
    child_process raised(with_file_limits(
        64, 1024, {"load", server.url("/ok"), "-c", "100", "-t", "1", "-n", "500"}));
    const auto status = raised.wait_for_exit(60s);
    INFO(raised.output() << raised.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(raised.errors().find("warning") == std::string::npos);
    CHECK(raised.output().find("500 answered") != std::string::npos);
    CHECK(raised.output().find("0 errors") != std::string::npos);

    // 300 do not fit a hard limit of 128: said up front, and the connects
    // past it are counted by their kind.
    child_process short_of_files(with_file_limits(
        128, 128, {"load", server.url("/ok"), "-c", "300", "-t", "1", "-d", "300ms"}));
    const auto ended = short_of_files.wait_for_exit(60s);
    INFO(short_of_files.output() << short_of_files.errors());
    REQUIRE(ended.exited);
    CHECK(short_of_files.errors().find("warning: -c 300 needs about 332 open files, more than "
                                       "the limit of 128") != std::string::npos);
    CHECK(short_of_files.output().find("too_many_open_files") != std::string::npos);
}

TEST_CASE("fanout load --http2 against nginx reports h2, and merge refuses to mix it with 1.1") {
    fanout::test::nginx_server nginx({.https = true, .http2 = true});
    scratch files;
    child_process h2(load_command({nginx.https_url("/ok"), "--http2", "--cacert",
                                   nginx.pki().ca_certificate, "-n", "300", "-c", "2", "-p", "8",
                                   "-t", "2", "--json", files.file("h2.json")}));
    const auto h2_status = h2.wait_for_exit(60s);
    INFO(h2.output() << h2.errors());
    REQUIRE(h2_status.exited);
    REQUIRE(h2_status.code == 0);
    CHECK(h2.output().find("h2, 8 streams per connection") != std::string::npos);
    CHECK(h2.output().find("300 answered") != std::string::npos);
    std::size_t logged_h2 = 0;
    for (const auto& entry : nginx.wait_for_log(300, 10s))
        logged_h2 += entry.request == "GET /ok HTTP/2.0" ? 1 : 0;
    CHECK(logged_h2 == 300);
    CHECK(read_result(files.file("h2.json")).protocol == "h2");

    child_process h1(
        load_command({nginx.url("/ok"), "-n", "100", "-c", "2", "--json", files.file("h1.json")}));
    REQUIRE(h1.wait_for_exit(60s).code == 0);

    child_process refused({FANOUT_CLI_PATH, "merge", files.file("h2.json"), files.file("h1.json")});
    const auto refused_status = refused.wait_for_exit(30s);
    INFO(refused.output() << refused.errors());
    REQUIRE(refused_status.exited);
    CHECK(refused_status.code == 2);
    CHECK(refused.errors().find(files.file("h1.json")) != std::string::npos);
    CHECK(refused.errors().find(files.file("h2.json")) != std::string::npos);
    CHECK(refused.errors().find("--allow-mixed-protocols") != std::string::npos);

    child_process mixed({FANOUT_CLI_PATH, "merge", files.file("h2.json"), files.file("h1.json"),
                         "--allow-mixed-protocols", "--json", files.file("mixed.json")});
    REQUIRE(mixed.wait_for_exit(30s).code == 0);
    const auto merged = read_result(files.file("mixed.json"));
    CHECK(merged.protocol == "mixed");
    CHECK(merged.responses == 400);
}
