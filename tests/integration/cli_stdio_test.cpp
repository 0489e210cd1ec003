// The fanout commands against their standard streams and files: a stderr
// that cannot be written (a full disk, closed) never ends a run; a stdout
// that cannot be written stops it with exit 74; --json replaces its file
// whole; files that cannot be read are named with the system's reason;
// output is valid UTF-8 JSON and safe on a terminal; merge refuses a run
// given twice.
#include "child_process.hpp"
#include "cli_output.hpp"
#include "http_fault_server.hpp"
#include "nginx_server.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace json = boost::json;
using fanout::test::child_process;
using fanout::test::http_fault_server;
using fanout::test::json_lines;
using fanout::test::scratch_directory;
using fanout::test::str;
using fanout::test::temp_file;
using namespace std::chrono_literals;

namespace {

constexpr int exit_io_error = 74;

std::string quoted(const std::string& word) {
    std::string out = "'";
    for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// `fanout args...` run by /bin/sh with `redirects` after it ("2>/dev/full",
// ">&-"): stdout and stderr not redirected still reach the test's pipes.
child_process fanout_with(const std::vector<std::string>& args, const std::string& redirects) {
    std::string line = "exec " + quoted(FANOUT_CLI_PATH);
    for (const auto& arg : args) line += " " + quoted(arg);
    return child_process({"/bin/sh", "-c", line + " " + redirects});
}

child_process run_fanout(std::vector<std::string> args) {
    args.insert(args.begin(), FANOUT_CLI_PATH);
    return child_process(args);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A directory of the test's own, for result files.
struct scratch {
    scratch_directory dir{"fanout-stdio-test"};
    std::string file(const std::string& name) const { return dir.path() + "/" + name; }
};

// Writes one load result of `count` requests to `path`.
void load_result_file(const http_fault_server& server, const std::string& path,
                      const std::string& count = "20") {
    auto cli = run_fanout({"load", server.url("/ok"), "-n", count, "-c", "2", "--json", path});
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    REQUIRE(status.code == 0);
}

}  // namespace

TEST_CASE("a stderr that cannot be written never ends a command: the exit code is its own") {
    const temp_file invalid_lines("not a target\nno..name\n");
    scratch files;
    std::ofstream(files.file("bad.json")) << "{}";
    // (args, the code the command exits with when stderr works)
    const std::vector<std::pair<std::vector<std::string>, int>> cases{
        {{"sweep", "/nonexistent/targets"}, 2},
        {{"sweep", invalid_lines.path.string()}, 2},
        {{"sweep", invalid_lines.path.string(), "--timeout", "soon"}, 2},
        {{"dns", invalid_lines.path.string(), "-s", "127.0.0.1:9"}, 2},
        {{"dns", "/nonexistent/names"}, 2},
        {{"load", "http//nowhere"}, 2},
        {{"merge", files.file("bad.json")}, 2},
        {{"merge", "/nonexistent/a.json"}, 2},
    };
    for (const auto& redirect : {"2>/dev/full", "2>&-"}) {
        for (const auto& [args, code] : cases) {
            auto cli = fanout_with(args, redirect);
            const auto status = cli.wait_for_exit(30s);
            INFO(args.front() << " " << args.at(1) << " " << redirect << ": " << cli.output());
            REQUIRE(status.exited);
            CHECK(status.code == code);
        }
    }
}

TEST_CASE("a sweep with a full stderr still writes every record, and exits with its verdict") {
    http_fault_server server;
    const temp_file targets(server.url("/ok") + "\nnot a target\n" + server.url("/missing") + "\n");
    auto cli = fanout_with({"sweep", targets.path.string(), "--timeout", "5s"}, "2>/dev/full");
    const auto status = cli.wait_for_exit(30s);
    INFO(cli.output());
    REQUIRE(status.exited);
    CHECK(status.code == 1);  // one unhealthy target
    CHECK(json_lines(cli.output()).size() == 3);
}

TEST_CASE("a stdout that cannot be written ends sweep, dns and merge with exit 74, naming it") {
    const temp_file invalid_lines("not a target\nno..name\n");
    http_fault_server server;
    scratch files;
    load_result_file(server, files.file("a.json"));
    const std::vector<std::vector<std::string>> commands{
        {"sweep", invalid_lines.path.string()},
        {"sweep", invalid_lines.path.string(), "--format", "csv"},
        {"dns", invalid_lines.path.string(), "-s", "127.0.0.1:9"},
        {"merge", files.file("a.json")},
    };
    const std::vector<std::pair<std::string, std::string>> redirects{
        {">/dev/full", "No space left on device"}, {">&-", "Bad file descriptor"}};
    for (const auto& [redirect, reason] : redirects) {
        for (const auto& args : commands) {
            auto cli = fanout_with(args, redirect);
            const auto status = cli.wait_for_exit(30s);
            INFO(args.front() << " " << redirect << ": " << cli.errors());
            REQUIRE(status.exited);
            CHECK(status.code == exit_io_error);
            CHECK(contains(cli.errors(),
                           "fanout " + args.front() + ": cannot write to stdout: " + reason));
        }
    }
}

TEST_CASE("a sweep whose records cannot be written stops at once instead of checking on") {
    http_fault_server server;
    server.stall_for(60s);                 // every HTTP target would take its whole timeout
    std::string lines = "not a target\n";  // a record at once: the flush after it fails
    for (int i = 0; i < 20; ++i) lines += server.url("/ok") + "\n";
    const temp_file targets(lines);
    const auto began = std::chrono::steady_clock::now();
    auto cli =
        fanout_with({"sweep", targets.path.string(), "-c", "2", "--timeout", "20s"}, ">/dev/full");
    const auto status = cli.wait_for_exit(60s);
    INFO(cli.errors());
    REQUIRE(status.exited);
    CHECK(status.code == exit_io_error);
    CHECK(std::chrono::steady_clock::now() - began < 15s);  // 10 rounds of 20 s without the stop
}

TEST_CASE("fanout load exits 74 when its report or its --json file cannot be written") {
    http_fault_server server;
    {
        auto cli = fanout_with({"load", server.url("/ok"), "-n", "20", "-c", "2"}, ">/dev/full");
        const auto status = cli.wait_for_exit(60s);
        INFO(cli.errors());
        REQUIRE(status.exited);
        CHECK(status.code == exit_io_error);
        CHECK(contains(cli.errors(), "fanout load: cannot write to stdout: No space left"));
    }
    {
        auto cli =
            run_fanout({"load", server.url("/ok"), "-n", "20", "-c", "2", "--json", "/dev/full"});
        const auto status = cli.wait_for_exit(60s);
        INFO(cli.output() << cli.errors());
        REQUIRE(status.exited);
        CHECK(status.code == exit_io_error);
        CHECK(contains(cli.errors(), "'/dev/full': No space left on device"));
        CHECK(contains(cli.output(), "20 answered"));  // the report itself was written
    }
    {
        // A directory that does not exist is a usage error, said before the run.
        auto cli = run_fanout(
            {"load", server.url("/ok"), "-n", "20", "-c", "2", "--json", "/nonexistent/r.json"});
        const auto status = cli.wait_for_exit(60s);
        INFO(cli.output() << cli.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(contains(cli.errors(), "'/nonexistent/r.json': No such file or directory"));
        CHECK_FALSE(contains(cli.output(), "answered"));
    }
}

TEST_CASE("a load killed midway leaves the previous --json result as it was") {
    http_fault_server server;
    scratch files;
    const auto path = files.file("run.json");
    std::ofstream(path) << "the previous result\n";
    ::chmod(path.c_str(), 0640);

    auto killed = run_fanout({"load", server.url("/ok"), "-d", "30s", "-c", "2", "--json", path});
    REQUIRE(killed.wait_for_output("fanout load:", 30s));  // sending
    killed.signal(SIGKILL);
    killed.wait_for_exit(10s);
    CHECK(read_text(path) == "the previous result\n");

    load_result_file(server, path);
    const auto result = json::parse(read_text(path)).as_object();
    CHECK(result.at("responses").as_int64() == 20);
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0640);  // the file replaced keeps its mode
    // Nothing left beside it: the temporary file was renamed.
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(files.dir.path()))
        names.push_back(entry.path().filename().string());
    CHECK(names == std::vector<std::string>{"run.json"});
}

TEST_CASE("files that cannot be read are named with the system's reason, exit 2") {
    const auto tmp = std::filesystem::temp_directory_path().string();
    const temp_file targets("not a target\n");
    // (args, what stderr says)
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"sweep", tmp}, "fanout sweep: cannot read '" + tmp + "': Is a directory"},
        {{"sweep", "/nonexistent/t"}, "cannot read '/nonexistent/t': No such file or directory"},
        {{"dns", tmp}, "fanout dns: cannot read '" + tmp + "': Is a directory"},
        {{"load", "--urls", tmp}, "--urls: cannot read '" + tmp + "': Is a directory"},
        {{"load", "--urls", "/nonexistent/u"}, "'/nonexistent/u': No such file or directory"},
        {{"load", "http://127.0.0.1:9/", "--body-file", tmp},
         "--body-file: cannot read '" + tmp + "': Is a directory"},
        {{"merge", tmp}, "cannot read '" + tmp + "': Is a directory"},
        {{"sweep", targets.path.string(), "--ca-file", "/etc/passwd"},
         "--ca-file: cannot use '/etc/passwd'"},
        {{"sweep", targets.path.string(), "--ca-file", "/nonexistent/ca.pem"},
         "--ca-file: cannot use '/nonexistent/ca.pem': No such file or directory"},
    };
    for (const auto& [args, message] : cases) {
        auto cli = run_fanout(args);
        const auto status = cli.wait_for_exit(30s);
        INFO(args.front() << " " << args.at(1) << ": " << cli.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(contains(cli.errors(), message));
        CHECK(cli.output().empty());  // no record: refused before the run
    }
}

TEST_CASE("a CA file that holds no certificate is refused before a sweep of healthy targets") {
    http_fault_server server;
    const temp_file targets(server.url("/ok") + "\n");
    auto cli = run_fanout({"sweep", targets.path.string(), "--ca-file", "/etc/passwd"});
    const auto status = cli.wait_for_exit(30s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 2);
    CHECK(server.requests_served() == 0);
}

TEST_CASE("input that is not UTF-8 comes out as valid JSON, replaced and flagged") {
    const temp_file targets("http://bad\xff\xfe.example/\ncaf\xc3\xa9 is no target\n");
    auto cli = run_fanout({"sweep", targets.path.string()});
    const auto status = cli.wait_for_exit(30s);
    INFO(cli.output() << cli.errors());
    REQUIRE(status.exited);
    const auto records = json_lines(cli.output());  // a strict parser: it rejects bad UTF-8
    REQUIRE(records.size() == 2);
    CHECK(str(records[0], "input") == "http://bad\xef\xbf\xbd\xef\xbf\xbd.example/");
    CHECK(records[0].at("invalid_utf8").as_bool());
    CHECK(str(records[1], "input") == "caf\xc3\xa9 is no target");
    CHECK_FALSE(records[1].contains("invalid_utf8"));

    const temp_file names("bad\xc0\xafname\n");
    auto dns = run_fanout({"dns", names.path.string(), "-s", "127.0.0.1:9"});
    REQUIRE(dns.wait_for_exit(30s).exited);
    INFO(dns.output() << dns.errors());
    const auto lookups = json_lines(dns.output());
    REQUIRE(lookups.size() == 1);
    CHECK(str(lookups[0], "input") == "bad\xef\xbf\xbd\xef\xbf\xbdname");
    CHECK(lookups[0].at("invalid_utf8").as_bool());
}

TEST_CASE("terminal escapes in targets and names are shown escaped in table and text output") {
    const temp_file targets("http://x\x1b]0;owned\x07/\n");
    auto cli = run_fanout({"sweep", targets.path.string(), "--format", "table"});
    REQUIRE(cli.wait_for_exit(30s).exited);
    INFO(cli.output());
    CHECK_FALSE(contains(cli.output(), "\x1b"));
    CHECK_FALSE(contains(cli.output(), "\x07"));
    CHECK(contains(cli.output(), "http://x\\x1b]0;owned\\x07/"));

    const temp_file names("evil\x1b[2Jname\n");
    auto dns = run_fanout({"dns", names.path.string(), "-s", "127.0.0.1:9", "--format", "text"});
    REQUIRE(dns.wait_for_exit(30s).exited);
    INFO(dns.output());
    CHECK_FALSE(contains(dns.output(), "\x1b"));
    CHECK(contains(dns.output(), "evil\\x1b[2Jname A "));
}

TEST_CASE("fanout merge refuses the same run twice unless --allow-duplicate") {
    http_fault_server server;
    scratch files;
    load_result_file(server, files.file("a.json"));
    load_result_file(server, files.file("b.json"));
    const auto a = json::parse(read_text(files.file("a.json"))).as_object();
    const auto b = json::parse(read_text(files.file("b.json"))).as_object();
    REQUIRE(a.at("run_ids").as_array().size() == 1);
    const auto id = std::string(a.at("run_ids").as_array()[0].as_string());
    CHECK(id.size() == 32);
    CHECK(b.at("run_ids").as_array()[0].as_string() != id);

    std::filesystem::copy_file(files.file("a.json"), files.file("a-copy.json"));
    for (const auto& second : {files.file("a.json"), files.file("a-copy.json")}) {
        auto merge = run_fanout({"merge", files.file("a.json"), second});
        const auto status = merge.wait_for_exit(30s);
        INFO(merge.output() << merge.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(contains(merge.errors(),
                       "holds run " + id + ", already merged from '" + files.file("a.json") + "'"));
        CHECK(merge.output().empty());
    }
    {
        // A merged result carries both ids: merging it with one of them again is refused too.
        auto merge = run_fanout(
            {"merge", files.file("a.json"), files.file("b.json"), "--json", files.file("ab.json")});
        REQUIRE(merge.wait_for_exit(30s).code == 0);
        auto again = run_fanout({"merge", files.file("ab.json"), files.file("b.json")});
        const auto status = again.wait_for_exit(30s);
        REQUIRE(status.exited);
        CHECK(status.code == 2);
    }
    {
        // A result written before run ids: the same file twice is refused all the same.
        auto old = a;
        old.erase("run_ids");
        std::ofstream(files.file("old.json")) << json::serialize(old) << '\n';
        auto merge = run_fanout({"merge", files.file("old.json"), files.file("old.json")});
        const auto status = merge.wait_for_exit(30s);
        INFO(merge.output() << merge.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(contains(merge.errors(), "is '" + files.file("old.json") + "' again"));
    }
    auto allowed =
        run_fanout({"merge", files.file("a.json"), files.file("a.json"), "--allow-duplicate"});
    const auto status = allowed.wait_for_exit(30s);
    INFO(allowed.output() << allowed.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(contains(allowed.output(), "2 results"));
    CHECK(contains(allowed.output(), "40 answered"));
}
