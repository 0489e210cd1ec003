// DNS against real servers: the resolver and `fanout dns` against a real nsd
// with a generated zone, and `fanout dns` against the in-process responder's
// faults, Ctrl-C and bad flags.
#include "child_process.hpp"
#include "cli_output.hpp"
#include "dns_responder.hpp"
#include "nsd_server.hpp"
#include "test_loop.hpp"

#include <fanout/dns/resolver.hpp>
#include <fanout/gather.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <ranges>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace net = boost::asio;
namespace dns = fanout::dns;
namespace json = boost::json;
using fanout::test::child_process;
using fanout::test::dns_responder;
using fanout::test::json_lines;
using fanout::test::nsd_server;
using fanout::test::str;
using fanout::test::temp_file;
using behaviour = fanout::test::dns_behaviour;
using namespace std::chrono_literals;

namespace {

// The names of hosts first..last of the generated zone, one a line.
std::string host_names(std::size_t first, std::size_t last) {
    std::string out;
    for (std::size_t i = first; i < last; ++i) out += nsd_server::name_of(i) + "\n";
    return out;
}

}  // namespace

TEST_CASE("every name of an nsd zone resolves to its address through the library") {
    constexpr std::size_t names = 5000;
    const nsd_server server(names);
    net::io_context io;
    dns::resolver_options options;
    options.servers = {dns::parse_server(server.server()).value()};
    dns::resolver resolver(io.get_executor(), options);

    auto results = fanout::test::run_bounded(
        io,
        fanout::gather(std::views::iota(std::size_t{0}, names),
                       [&](std::size_t i) {
                           return resolver.query(nsd_server::name_of(i), dns::record_type::a);
                       },
                       {.limit = 500}),
        60s);
    std::size_t right = 0;
    for (std::size_t i = 0; i < names; ++i) {
        const auto& out = results[i];
        if (out.ok() && out.value().records.size() == 1 &&
            out.value().records[0].text() == nsd_server::address_of(i) &&
            out.value().records[0].ttl == nsd_server::ttl_of(i))
            ++right;
    }
    CHECK(right == names);
    CHECK(resolver.pending() == 0);

    io.restart();
    auto www = fanout::test::run_bounded(io, resolver.resolve("www.fanout.test"));
    REQUIRE(www);
    CHECK(www->at(0).ip.to_string() == nsd_server::address_of(0));
    io.restart();
    auto mx = fanout::test::run_bounded(io, resolver.query("fanout.test", dns::record_type::mx));
    REQUIRE(mx);
    CHECK(mx->records.at(0).text() == "10 mail.fanout.test");
}

TEST_CASE("fanout dns reports every name and type of a file exactly once, against nsd") {
    // One loop takes the input without its lock: both shapes are checked.
    const std::string threads = GENERATE("1", "2");
    CAPTURE(threads);
    constexpr std::size_t names = 2000;
    const nsd_server server(names);
    temp_file input("# hosts of the zone\n\n" + host_names(0, names) +
                    "missing.fanout.test\nnot a name\n  www.fanout.test  \n");
    child_process run({FANOUT_CLI_PATH, "dns", input.path.string(), "-s", server.server(), "-t",
                       "A,MX", "-c", "200", "--timeout", "2s", "--threads", threads});
    const auto status = run.wait_for_exit(120s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);  // the NXDOMAIN and the empty MX answers are failures

    const auto records = json_lines(run.output());
    CHECK(records.size() == (names + 3) * 2);
    std::set<std::pair<std::int64_t, std::string>> seen;
    std::size_t right_a = 0;
    std::size_t no_mx = 0;
    for (const auto& r : records) {
        const auto line = r.at("line").as_int64();
        CHECK(seen.emplace(line, str(r, "type")).second);
        for (const char* key :
             {"line", "input", "type", "ok", "rcode", "answers", "error", "attempts", "elapsed_ms"})
            CHECK(r.contains(key));
        const auto host = static_cast<std::size_t>(line - 3);  // two lines before the hosts
        if (line >= 3 && host < names) {
            CHECK(str(r, "input") == nsd_server::name_of(host));
            if (str(r, "type") == "A" && r.at("ok").as_bool() &&
                str(r.at("answers").as_array().at(0).as_object(), "value") ==
                    nsd_server::address_of(host) &&
                r.at("answers").as_array().at(0).at("ttl").as_int64() == nsd_server::ttl_of(host))
                ++right_a;
            if (str(r, "type") == "MX" && !r.at("ok").as_bool() &&
                str(r.at("error").as_object(), "kind") == "no_data" && str(r, "rcode") == "NOERROR")
                ++no_mx;
        }
    }
    CHECK(right_a == names);
    CHECK(no_mx == names);
    for (const auto& r : records) {
        const auto input = str(r, "input");
        if (input == "missing.fanout.test") {
            CHECK(str(r, "rcode") == "NXDOMAIN");
            CHECK(str(r.at("error").as_object(), "kind") == "nxdomain");
        } else if (input == "not a name") {
            CHECK(r.at("line").as_int64() == names + 4);
            CHECK(r.at("rcode").is_null());
            CHECK(str(r.at("error").as_object(), "kind") == "bad_name");
            CHECK(str(r.at("error").as_object(), "message").find("not a name") == 0);
        } else if (input == "www.fanout.test" && str(r, "type") == "A") {
            const auto& answers = r.at("answers").as_array();
            REQUIRE(answers.size() == 2);
            CHECK(str(answers[0].as_object(), "type") == "CNAME");
            CHECK(str(answers[1].as_object(), "value") == nsd_server::address_of(0));
        }
    }
    CHECK(run.errors().find("done in") != std::string::npos);
}

TEST_CASE("fanout dns reads stdin, and shards 1/3, 2/3, 3/3 cover it exactly once") {
    constexpr std::size_t names = 300;
    const nsd_server server(names);
    temp_file input(host_names(0, names));
    std::multiset<std::string> seen;
    for (const char* shard : {"1/3", "2/3", "3/3"}) {
        child_process run({"/bin/sh", "-c",
                           std::string("exec \"$0\" dns - -s \"$1\" --shard \"$2\" < \"$3\""),
                           FANOUT_CLI_PATH, server.server(), shard, input.path.string()});
        const auto status = run.wait_for_exit(60s);
        INFO(shard << ": " << run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        const auto records = json_lines(run.output());
        CHECK(records.size() == names / 3);
        for (const auto& r : records) {
            CHECK(r.at("ok").as_bool());
            seen.insert(str(r, "input"));
        }
    }
    CHECK(seen.size() == names);
    for (std::size_t i = 0; i < names; ++i) CHECK(seen.count(nsd_server::name_of(i)) == 1);
}

TEST_CASE("fanout dns gives each faulty answer its own error, retrying timeouts") {
    const std::string threads = GENERATE("1", "2");
    CAPTURE(threads);
    dns_responder responder;
    responder.add(fanout::test::dns_a("ok.example.test", "192.0.2.1"));
    responder.add(fanout::test::dns_a("big.example.test", "192.0.2.2"));
    responder.set_rule("big.example.test", {behaviour::truncate});
    responder.set_rule("broken.example.test", {behaviour::servfail});
    responder.set_rule("closed.example.test", {behaviour::refused});
    responder.set_rule("silent.example.test", {behaviour::drop});
    responder.set_rule("noise.example.test", {behaviour::garbage});
    temp_file input(
        "ok.example.test\nbig.example.test\nbroken.example.test\nclosed.example.test\n"
        "silent.example.test\nnoise.example.test\nmissing.example.test\n");
    child_process run({FANOUT_CLI_PATH, "dns", input.path.string(), "-s", responder.server(),
                       "--timeout", "200ms", "--tries", "2", "--format", "jsonl", "--threads", threads});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);

    std::map<std::string, json::object> by_name;
    for (auto& r : json_lines(run.output())) by_name[str(r, "input")] = r;
    REQUIRE(by_name.size() == 7);
    const auto kind = [&](const std::string& name) {
        const auto& error = by_name.at(name).at("error");
        return error.is_null() ? std::string("ok") : str(error.as_object(), "kind");
    };
    CHECK(kind("ok.example.test") == "ok");
    CHECK(kind("big.example.test") == "ok");
    CHECK(responder.tcp_queries() == 1);
    CHECK(kind("broken.example.test") == "servfail");
    CHECK(kind("closed.example.test") == "refused");
    CHECK(kind("silent.example.test") == "timeout");
    CHECK(kind("noise.example.test") == "timeout");
    CHECK(kind("missing.example.test") == "nxdomain");
    CHECK(by_name.at("silent.example.test").at("attempts").as_int64() == 2);
    CHECK(by_name.at("broken.example.test").at("attempts").as_int64() == 1);
    CHECK(responder.queries_for("silent.example.test") == 2);
}

TEST_CASE("SIGINT to fanout dns reports every name, the unasked ones as cancelled, exit 130") {
    dns_responder responder;
    std::string names;
    for (int i = 0; i < 5; ++i) {
        names += "fast" + std::to_string(i) + ".example.test\n";
        responder.add(
            fanout::test::dns_a("fast" + std::to_string(i) + ".example.test", "192.0.2.1"));
    }
    for (int i = 0; i < 995; ++i) {
        names += "slow" + std::to_string(i) + ".example.test\n";
        responder.set_rule("slow" + std::to_string(i) + ".example.test", {behaviour::drop});
    }
    temp_file input(names);
    child_process run({FANOUT_CLI_PATH, "dns", input.path.string(), "-s", responder.server(), "-c",
                       "20", "--timeout", "30s"});
    // Records are flushed within 100 ms of completing.
    REQUIRE(run.wait_for_output("fast4.example.test", 20s));
    REQUIRE(responder.wait_for_queries(20, 10s));
    run.signal(SIGINT);
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 130);

    const auto records = json_lines(run.output());
    CHECK(records.size() == 1000);
    std::set<std::string> inputs;
    std::size_t ok = 0, cancelled_in_flight = 0, not_started = 0;
    for (const auto& r : records) {
        inputs.insert(str(r, "input"));
        if (r.at("ok").as_bool()) {
            ++ok;
            continue;
        }
        CHECK(str(r.at("error").as_object(), "kind") == "cancelled");
        (r.at("attempts").as_int64() == 0 ? not_started : cancelled_in_flight) += 1;
    }
    CHECK(inputs.size() == 1000);
    CHECK(ok == 5);
    CHECK(cancelled_in_flight == 20);
    CHECK(not_started == 975);
    CHECK(run.errors().find("interrupted in") != std::string::npos);
}

TEST_CASE("bad flags and unreadable input exit 2 naming what is wrong") {
    struct expected {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<expected> cases{
        {{"-t", "A,SRV"}, "unknown record type 'SRV'"},
        {{"-s", "dns.example"}, "bad DNS server 'dns.example'"},
        {{"--shard", "4/3"}, "bad shard '4/3'"},
        {{"--timeout", "soon"}, "--timeout"},
        {{"/nonexistent/names.txt"}, "cannot read '/nonexistent/names.txt'"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> argv{FANOUT_CLI_PATH, "dns"};
        argv.insert(argv.end(), c.args.begin(), c.args.end());
        child_process run(argv);
        const auto status = run.wait_for_exit(30s);
        INFO(c.message << ": " << run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(run.errors().find(c.message) != std::string::npos);
        CHECK(run.output().empty());
    }
}

TEST_CASE("fanout dns asks each type given once, however often and in whatever case it is given") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("ok.example.test", "192.0.2.1"));
    temp_file input("ok.example.test\n");
    child_process run({FANOUT_CLI_PATH, "dns", input.path.string(), "-s", responder.server(), "-t",
                       "A,A,a", "--format", "jsonl"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = json_lines(run.output());
    REQUIRE(records.size() == 1);
    CHECK(str(records.front(), "type") == "A");
}

namespace {

// fanout dns reading its names from a pipe the test writes.
child_process dns_stdin(std::vector<std::string> args) {
    std::vector<std::string> argv{FANOUT_CLI_PATH, "dns", "-"};
    argv.insert(argv.end(), args.begin(), args.end());
    return child_process(argv, child_process::stdin_pipe);
}

std::string error_kind(const json::object& record) {
    const auto& error = record.at("error");
    return error.is_null() ? std::string("ok") : str(error.as_object(), "kind");
}

}  // namespace

TEST_CASE("fanout dns answers each name as a slow producer writes it, its latency its own") {
    dns_responder responder;
    for (int i = 1; i <= 6; ++i)
        responder.add(fanout::test::dns_a("n" + std::to_string(i) + ".example.test", "192.0.2.1"));
    auto run = dns_stdin({"-s", responder.server(), "--threads", "1"});
    for (int i = 1; i <= 6; ++i) {
        REQUIRE(run.write_input("n" + std::to_string(i) + ".example.test\n"));
        INFO("line " << i << ": " << run.errors());
        // Out while the input is open and the next name not written yet.
        REQUIRE(run.wait_for_output("\"line\":" + std::to_string(i) + ",", 10s));
        std::this_thread::sleep_for(300ms);
    }
    run.close_input();
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = json_lines(run.output());
    REQUIRE(records.size() == 6);
    for (const auto& r : records) {
        CHECK(r.at("ok").as_bool());
        const auto& elapsed = r.at("elapsed_ms");
        CHECK((elapsed.is_double() ? elapsed.as_double() : 0.0) < 250.0);
    }
}

TEST_CASE("SIGHUP and SIGTERM stop fanout dns with every name read reported, and how to resume") {
    const auto [signo, code] = GENERATE(std::pair{SIGHUP, 129}, std::pair{SIGTERM, 143});
    dns_responder responder;
    std::string names;
    for (int i = 0; i < 3; ++i) {
        names += "fast" + std::to_string(i) + ".example.test\n";
        responder.add(
            fanout::test::dns_a("fast" + std::to_string(i) + ".example.test", "192.0.2.1"));
    }
    for (int i = 0; i < 97; ++i) {
        names += "slow" + std::to_string(i) + ".example.test\n";
        responder.set_rule("slow" + std::to_string(i) + ".example.test", {behaviour::drop});
    }
    auto run = dns_stdin({"-s", responder.server(), "-c", "10", "--timeout", "30s"});
    REQUIRE(run.write_input(names));  // and the input stays open
    for (const char* fast : {"fast0.example.test", "fast1.example.test", "fast2.example.test"})
        REQUIRE(run.wait_for_output(fast, 20s));
    REQUIRE(responder.wait_for_queries(10, 10s));
    run.signal(signo);
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == code);
    const auto records = json_lines(run.output());
    std::set<std::int64_t> lines;
    for (const auto& r : records) CHECK(lines.insert(r.at("line").as_int64()).second);
    CHECK(records.size() == 100);
    CHECK(run.errors().find("100   lines read; resume from line 4 with --skip 3") !=
          std::string::npos);
}

TEST_CASE("a second signal ends fanout dns at once with whole records, saying how many were lost") {
    dns_responder responder;
    std::string block;
    for (int i = 0; i < 100; ++i) {
        block += "slow" + std::to_string(i) + ".example.test\n";
        responder.set_rule("slow" + std::to_string(i) + ".example.test", {behaviour::drop});
    }
    for (int i = 0; i < 400; ++i) block += "nx" + std::to_string(i) + ".example.test\n";
    bool forced = false;
    for (int attempt = 0; attempt < 5 && !forced; ++attempt) {
        auto run = dns_stdin({"-s", responder.server(), "-c", "2000", "--timeout", "30s"});
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (std::count(run.output().begin(), run.output().end(), '\n') < 1000 &&
               std::chrono::steady_clock::now() < give_up) {
            if (!run.write_input(block, 100ms)) break;
            run.wait_for_output("never", 10ms);
        }
        run.signal(SIGSTOP);
        run.signal(SIGINT);
        run.signal(SIGTERM);
        run.signal(SIGCONT);
        const auto status = run.wait_for_exit(20s);
        INFO(run.errors());
        REQUIRE(status.exited);
        REQUIRE((status.code == 130 || status.code == 143));
        forced = run.errors().find("interrupted twice") != std::string::npos;
        REQUIRE_FALSE(run.output().empty());
        CHECK(run.output().back() == '\n');
        CHECK_NOTHROW(json_lines(run.output()));
        if (forced) CHECK(run.errors().find("not written") != std::string::npos);
    }
    CHECK(forced);
}

TEST_CASE("fanout dns takes --skip, a trailing comment, and reports a too long line") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("a.example.test", "192.0.2.1"));
    responder.add(fanout::test::dns_a("b.example.test", "192.0.2.2"));
    temp_file input("skipped.example.test\na.example.test   # the first\n" +
                    std::string(70 * 1024, 'x') + "\nb.example.test\n");
    child_process run(
        {FANOUT_CLI_PATH, "dns", input.path.string(), "-s", responder.server(), "--skip", "1"});
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 2);  // the too long line
    std::map<std::int64_t, json::object> by_line;
    for (auto& r : json_lines(run.output())) by_line.emplace(r.at("line").as_int64(), r);
    REQUIRE(by_line.size() == 3);
    CHECK(str(by_line.at(2), "input") == "a.example.test");
    CHECK(error_kind(by_line.at(2)) == "ok");
    CHECK(error_kind(by_line.at(3)) == "line_too_long");
    CHECK(error_kind(by_line.at(4)) == "ok");
}

TEST_CASE("with stdin closed fanout dns reads nothing rather than its own descriptors") {
    child_process run({"/bin/sh", "-c", "exec \"$0\" dns - -s 127.0.0.1:9 <&-", FANOUT_CLI_PATH});
    const auto status = run.wait_for_exit(30s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(run.output().empty());
}

TEST_CASE("fanout dns spreads a pool of nsd servers, fails over past a dead and a SERVFAIL one") {
    constexpr std::size_t names = 3000;
    const nsd_server first(names), second(names), third(names);
    dns_responder failing;
    failing.set_default_rule({behaviour::servfail});
    // A port with nothing behind it.
    std::string dead;
    {
        net::io_context io;
        net::ip::udp::socket socket(io, {net::ip::make_address("127.0.0.1"), 0});
        dead = "127.0.0.1:" + std::to_string(socket.local_endpoint().port());
    }
    temp_file resolvers("# the pool\n" + second.server() + "\n\n" + dead + "  # down\n" +
                        failing.server() + "\n" + third.server() + "\n");
    temp_file input(host_names(0, names));
    child_process run({FANOUT_CLI_PATH, "dns", input.path.string(), "-s", first.server(),
                       "--resolvers", resolvers.path.string(), "-c", "100", "--timeout", "200ms",
                       "--tries", "1"});
    const auto status = run.wait_for_exit(120s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    const auto records = json_lines(run.output());
    REQUIRE(records.size() == names);
    std::map<std::string, std::size_t> by_server;
    std::size_t right = 0;
    for (const auto& r : records) {
        const auto host = std::stoul(str(r, "input").substr(4));
        if (r.at("ok").as_bool() && str(r.at("answers").as_array().at(0).as_object(), "value") ==
                                        nsd_server::address_of(host))
            ++right;
        ++by_server[str(r, "server")];
    }
    CHECK(right == names);
    // Only the healthy servers answer, each about a third.
    CHECK(by_server.size() == 3);
    for (const auto* healthy : {&first, &second, &third}) {
        INFO(healthy->server());
        CHECK(by_server[healthy->server()] >= names / 3 * 8 / 10);
        CHECK(by_server[healthy->server()] <= names / 3 * 12 / 10);
    }
    CHECK(failing.queries() >= 1);
}

TEST_CASE("a resolvers file with a bad line or no server exits 2 naming it") {
    temp_file bad("127.0.0.1\nnot-an-address\n");
    temp_file empty("# none\n");
    temp_file input("www.fanout.test\n");
    for (const auto* file : {&bad, &empty}) {
        child_process run(
            {FANOUT_CLI_PATH, "dns", input.path.string(), "--resolvers", file->path.string()});
        const auto status = run.wait_for_exit(20s);
        REQUIRE(status.exited);
        CHECK(status.code == 2);
        CHECK(run.errors().find("--resolvers") != std::string::npos);
    }
}

TEST_CASE("fanout dns --ptr asks PTR for every address of a network, and -t PTR expands lines") {
    dns_responder responder;
    for (int i = 0; i < 4; ++i)
        responder.add(fanout::test::dns_ptr(std::to_string(i) + ".2.0.192.in-addr.arpa",
                                            "host" + std::to_string(i) + ".example.test"));
    responder.add(fanout::test::dns_ptr(
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "v6.example.test"));
    {
        child_process run({FANOUT_CLI_PATH, "dns", "--ptr", "192.0.2.0/30", "--ptr", "2001:db8::1",
                           "-s", responder.server()});
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        std::map<std::string, std::string> by_address;
        for (const auto& r : json_lines(run.output())) {
            CHECK(str(r, "type") == "PTR");
            by_address[str(r, "address")] =
                str(r.at("answers").as_array().at(0).as_object(), "value");
        }
        CHECK(by_address == std::map<std::string, std::string>{{"192.0.2.0", "host0.example.test"},
                                                               {"192.0.2.1", "host1.example.test"},
                                                               {"192.0.2.2", "host2.example.test"},
                                                               {"192.0.2.3", "host3.example.test"},
                                                               {"2001:db8::1", "v6.example.test"}});
    }
    {
        temp_file input("192.0.2.3\n192.0.2.0/31\n");
        child_process run(
            {FANOUT_CLI_PATH, "dns", input.path.string(), "-t", "PTR", "-s", responder.server()});
        const auto status = run.wait_for_exit(60s);
        INFO(run.errors());
        REQUIRE(status.exited);
        CHECK(status.code == 0);
        std::set<std::pair<std::int64_t, std::string>> seen;
        for (const auto& r : json_lines(run.output()))
            seen.emplace(r.at("line").as_int64(), str(r, "input"));
        CHECK(seen ==
              std::set<std::pair<std::int64_t, std::string>>{{1, "3.2.0.192.in-addr.arpa"},
                                                             {2, "0.2.0.192.in-addr.arpa"},
                                                             {2, "1.2.0.192.in-addr.arpa"}});
    }
    child_process bad({FANOUT_CLI_PATH, "dns", "--ptr", "192.0.2.0/33"});
    const auto status = bad.wait_for_exit(20s);
    REQUIRE(status.exited);
    CHECK(status.code == 2);
    CHECK(bad.errors().find("--ptr") != std::string::npos);
}

TEST_CASE("a /16 --ptr sweep asks each of its 65,536 addresses once") {
    dns_responder responder;  // knows none of them: NXDOMAIN
    child_process run(
        {FANOUT_CLI_PATH, "dns", "--ptr", "10.7.0.0/16", "-s", responder.server(), "-c", "500"});
    const auto status = run.wait_for_exit(120s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 1);  // NXDOMAIN answers are failures
    std::set<std::string> addresses;
    for (const auto& r : json_lines(run.output())) {
        CHECK(str(r, "rcode") == "NXDOMAIN");
        addresses.insert(str(r, "address"));
    }
    CHECK(addresses.size() == 65536);
    CHECK(addresses.count("10.7.255.255") == 1);
    CHECK(responder.queries() == 65536);
}

TEST_CASE("fanout dns --wildcard-check marks the answers a zone's wildcard gives") {
    dns_responder responder;
    responder.add(fanout::test::dns_a("*.wild.example.test", "192.0.2.99"));
    responder.add(fanout::test::dns_a("real.wild.example.test", "192.0.2.1"));
    temp_file input("a.wild.example.test\nreal.wild.example.test\nb.wild.example.test\n");
    child_process run({FANOUT_CLI_PATH, "dns", input.path.string(), "--wildcard-check", "-s",
                       responder.server(), "--threads", "1"});
    const auto status = run.wait_for_exit(60s);
    INFO(run.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    std::map<std::string, bool> wildcard;
    for (const auto& r : json_lines(run.output()))
        wildcard[str(r, "input")] = r.contains("wildcard") && r.at("wildcard").as_bool();
    CHECK(wildcard == std::map<std::string, bool>{{"a.wild.example.test", true},
                                                  {"real.wild.example.test", false},
                                                  {"b.wild.example.test", true}});
    CHECK(responder.queries() == 3 + 1);  // one probe for the zone
}
