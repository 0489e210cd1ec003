#include <fanout/report/writer.hpp>

#include <fanout/http/error.hpp>
#include <fanout/probe/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace report = fanout::report;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

report::record healthy_http() {
    report::record r;
    r.line = 3;
    r.input = "https://example.test/health";
    r.kind = "http";
    r.ok = true;
    r.attempts = 1;
    r.elapsed = 12'345us;
    r.latency = 12'000us;
    r.status = 200;
    r.certificate_days_left = 9;
    r.warning = "the certificate expires in 9 days (fewer than 14)";
    r.http_version = "2";
    r.address = "192.0.2.7:443";
    r.phases = {.dns = 1500us, .connect = 2ms, .tls = 3250us, .first_byte = 4ms};
    return r;
}

report::record refused_tcp() {
    report::record r;
    r.line = 4;
    r.input = "tcp://127.0.0.1:9";
    r.kind = "tcp";
    r.error = fanout::failure{boost::asio::error::connection_refused,
                              "connect to 127.0.0.1:9: Connection refused"};
    r.attempts = 3;
    r.elapsed = 1500ms;
    r.address = "127.0.0.1:9";
    return r;
}

report::record dns_answer() {
    report::record r;
    r.line = 5;
    r.input = "dns://example.test?type=MX";
    r.kind = "dns";
    r.ok = true;
    r.attempts = 1;
    r.answers = {"MX 10 mail.example.test", "MX 20 \"odd\", name"};
    return r;
}

std::string written(report::format f, const std::vector<report::record>& records) {
    auto writer = report::make_writer(f);
    std::string out = writer->header();
    for (const auto& r : records) writer->append(out, r);
    return out + writer->footer();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

TEST_CASE("a format is named by its flag value") {
    CHECK(report::parse_format("table") == report::format::table);
    CHECK(report::parse_format("jsonl") == report::format::jsonl);
    CHECK(report::parse_format("csv") == report::format::csv);
    CHECK(report::parse_format("prometheus") == report::format::prometheus);
    CHECK(!report::parse_format("xml"));
}

TEST_CASE("a JSON line holds the common fields and those of its kind") {
    const auto lines =
        lines_of(written(report::format::jsonl, {healthy_http(), refused_tcp(), dns_answer()}));
    REQUIRE(lines.size() == 3);
    const auto http = json::parse(lines[0]).as_object();
    CHECK(http.at("line").as_int64() == 3);
    CHECK(http.at("input").as_string() == "https://example.test/health");
    CHECK(http.at("kind").as_string() == "http");
    CHECK(http.at("ok").as_bool());
    CHECK(http.at("error").is_null());
    CHECK(http.at("attempts").as_int64() == 1);
    CHECK(http.at("elapsed_ms").as_double() == Approx(12.345));
    CHECK(http.at("status").as_int64() == 200);
    CHECK(http.at("cert_days_left").as_int64() == 9);
    CHECK(http.at("warning").as_string().starts_with("the certificate expires"));
    CHECK(!http.contains("answers"));
    CHECK(http.at("http_version").as_string() == "2");
    CHECK(http.at("address").as_string() == "192.0.2.7:443");
    CHECK(http.at("dns_ms").as_double() == Approx(1.5));
    CHECK(http.at("connect_ms").as_double() == Approx(2.0));
    CHECK(http.at("tls_ms").as_double() == Approx(3.25));
    CHECK(http.at("first_byte_ms").as_double() == Approx(4.0));

    const auto tcp = json::parse(lines[1]).as_object();
    CHECK(!tcp.at("ok").as_bool());
    CHECK(tcp.at("error").at("kind").as_string() == "connection_refused");
    CHECK(tcp.at("error").at("message").as_string() ==
          "connect to 127.0.0.1:9: Connection refused");
    CHECK(tcp.at("attempts").as_int64() == 3);
    CHECK(tcp.at("address").as_string() == "127.0.0.1:9");
    CHECK(!tcp.contains("status"));

    const auto dns = json::parse(lines[2]).as_object();
    REQUIRE(dns.at("answers").as_array().size() == 2);
    CHECK(dns.at("answers").as_array()[1].as_string() == "MX 20 \"odd\", name");
}

TEST_CASE("CSV has a header row and quotes fields with commas and quotes") {
    const auto lines = lines_of(written(report::format::csv, {refused_tcp(), dns_answer()}));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].starts_with("line,input,kind,ok,error_kind,error_message,"));
    CHECK(lines[1] ==
          "4,tcp://127.0.0.1:9,tcp,false,connection_refused,connect to 127.0.0.1:9: Connection "
          "refused,,3,1500.000,0.000,,127.0.0.1:9,,,,,,,");
    CHECK(lines[2].ends_with(",\"MX 10 mail.example.test; MX 20 \"\"odd\"\", name\",,,,,"));
    CHECK(lines[0].ends_with(",answers,http_version,dns_ms,connect_ms,tls_ms,first_byte_ms"));
}

TEST_CASE("an HTTP record without an answer has null version, address and phases") {
    auto r = healthy_http();
    r.ok = false;
    r.error = fanout::failure{make_error_code(fanout::http::errc::http2_not_negotiated),
                              "TLS handshake with example.test: the server refused ALPN h2"};
    r.status.reset();
    r.certificate_days_left.reset();
    r.http_version.clear();
    r.address.clear();
    r.phases = {};
    auto one = r;
    one.phases.first_byte = 7ms;  // a reused connection: only the first byte
    one.http_version = "1.1";
    const auto lines = lines_of(written(report::format::jsonl, {r, one}));
    REQUIRE(lines.size() == 2);
    const auto failed = json::parse(lines[0]).as_object();
    CHECK(failed.at("error").at("kind").as_string() == "http2_not_negotiated");
    for (const char* key :
         {"http_version", "address", "dns_ms", "connect_ms", "tls_ms", "first_byte_ms"})
        CHECK(failed.at(key).is_null());
    const auto reused = json::parse(lines[1]).as_object();
    CHECK(reused.at("http_version").as_string() == "1.1");
    CHECK(reused.at("dns_ms").is_null());
    CHECK(reused.at("tls_ms").is_null());
    CHECK(reused.at("first_byte_ms").as_double() == Approx(7.0));
    const auto csv = lines_of(written(report::format::csv, {one}));
    REQUIRE(csv.size() == 2);
    CHECK(csv[1].ends_with(",1.1,,,,7.000"));
}

TEST_CASE("Prometheus text groups each gauge's samples and escapes label values") {
    auto odd = dns_answer();
    odd.input = "dns://a\"b\\c";
    const auto lines = lines_of(written(report::format::prometheus, {refused_tcp(), odd}));
    REQUIRE(lines.size() == 8);
    CHECK(lines[0].starts_with("# HELP fanout_sweep_up "));
    CHECK(lines[1] == "# TYPE fanout_sweep_up gauge");
    CHECK(lines[2] == "fanout_sweep_up{target=\"tcp://127.0.0.1:9\",kind=\"tcp\",line=\"4\"} 0");
    CHECK(lines[3] == "fanout_sweep_up{target=\"dns://a\\\"b\\\\c\",kind=\"dns\",line=\"5\"} 1");
    CHECK(lines[4].starts_with("# HELP fanout_sweep_latency_seconds "));
    CHECK(lines[5] == "# TYPE fanout_sweep_latency_seconds gauge");
    CHECK(lines[6] ==
          "fanout_sweep_latency_seconds{target=\"tcp://127.0.0.1:9\",kind=\"tcp\",line=\"4\"} "
          "1.500000");
    CHECK(lines[7].starts_with("fanout_sweep_latency_seconds{target=\"dns://a\\\"b\\\\c\""));
}

TEST_CASE("a table row shows the verdict, status, tries, time, target and why") {
    const auto lines = lines_of(written(report::format::table, {healthy_http(), refused_tcp()}));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("LINE") != std::string::npos);
    CHECK(lines[1].find(" warn ") != std::string::npos);
    CHECK(lines[1].find(" 200 ") != std::string::npos);
    CHECK(lines[1].find("https://example.test/health  (the certificate expires") !=
          std::string::npos);
    CHECK(lines[2].find(" FAIL ") != std::string::npos);
    CHECK(lines[2].find("(connection_refused: connect to 127.0.0.1:9") != std::string::npos);
}

TEST_CASE("a record takes the outcome's failure over the check's problem") {
    fanout::probe::check_result seen;
    seen.problem = fanout::failure{fanout::probe::errc::unexpected_status, "status 503"};
    seen.status = 503;
    fanout::outcome<void> out;
    out.result = fanout::failure{fanout::errc::timeout, "attempt 2 timed out"};
    out.attempts = 2;
    out.elapsed = 2s;
    const auto r = report::make_record(7, "http://example.test/", "http", out, &seen);
    CHECK(!r.ok);
    CHECK(r.error->code == fanout::errc::timeout);
    CHECK(r.status == 503u);
    CHECK(r.attempts == 2);
    CHECK(r.line == 7);

    fanout::outcome<void> healthy;
    healthy.result = fanout::result<void>{};
    seen.problem.reset();
    seen.warning = "soon";
    const auto good = report::make_record(8, "http://example.test/", "http", healthy, &seen);
    CHECK(good.ok);
    CHECK(!good.error);
    CHECK(good.warning == "soon");
}

TEST_CASE("a JSON line of text that is not UTF-8 is valid JSON and says the text was replaced") {
    auto r = refused_tcp();
    r.input = "tcp://\xff\xfe:9";
    r.error = fanout::failure{boost::asio::error::connection_refused, "to \xc3 refused"};
    const auto lines = lines_of(written(report::format::jsonl, {r, refused_tcp()}));
    REQUIRE(lines.size() == 2);
    const auto bad = json::parse(lines[0]).as_object();  // strict: no invalid UTF-8
    CHECK(bad.at("input").as_string() == "tcp://\xef\xbf\xbd\xef\xbf\xbd:9");
    CHECK(bad.at("error").at("message").as_string() == "to \xef\xbf\xbd refused");
    CHECK(bad.at("invalid_utf8").as_bool());
    CHECK(!json::parse(lines[1]).as_object().contains("invalid_utf8"));
}

TEST_CASE("a table row shows control characters of a target or message escaped") {
    auto r = refused_tcp();
    r.input = "tcp://x\x1b[31m\r:9";
    r.error = fanout::failure{boost::asio::error::connection_refused, "bell\x07 and \xc2\x9b"};
    const auto lines = lines_of(written(report::format::table, {r}));
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].find('\x1b') == std::string::npos);
    CHECK(lines[1].find("tcp://x\\x1b[31m\\x0d:9") != std::string::npos);
    CHECK(lines[1].find("(connection_refused: bell\\x07 and \\xc2\\x9b)") != std::string::npos);
}

TEST_CASE("CSV cells a spreadsheet would run as a formula get a leading quote") {
    auto r = refused_tcp();
    r.input = "=cmd|' /C calc'!A0";
    r.error = fanout::failure{boost::asio::error::connection_refused, "-1+1"};
    r.address = "@SUM(1,2)";
    const auto lines = lines_of(written(report::format::csv, {r}));
    REQUIRE(lines.size() == 2);
    CHECK(lines[1] ==
          "4,\"'=cmd|' /C calc'!A0\",tcp,false,connection_refused,\"'-1+1\",,3,1500.000,0.000,,"
          "\"'@SUM(1,2)\",,,,,,,");
    r.input = "+1";
    CHECK(lines_of(written(report::format::csv, {r}))[1].starts_with("4,\"'+1\",tcp,"));
}

TEST_CASE("Prometheus label values escape CR, NUL and other control characters, and are UTF-8") {
    auto r = refused_tcp();
    r.input = std::string("a\rb\0c\x1b\xff", 7);
    const auto lines = lines_of(written(report::format::prometheus, {r}));
    REQUIRE(lines.size() == 6);
    CHECK(lines[2] ==
          "fanout_sweep_up{target=\"a\\\\x0db\\\\x00c\\\\x1b\xef\xbf\xbd\",kind=\"tcp\","
          "line=\"4\"} 0");
}
