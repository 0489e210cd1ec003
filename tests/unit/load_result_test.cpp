#include <fanout/load/result.hpp>

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <stdexcept>

using namespace std::chrono_literals;
using fanout::load::result;

namespace {

// A result with `n` answers of latency base, 2*base, ... n*base.
result sample(int n, std::chrono::microseconds base, bool open_loop) {
    result r;
    r.sent = static_cast<std::uint64_t>(n) + 2;
    r.responses = static_cast<std::uint64_t>(n);
    r.errors = 2;
    r.errors_by_kind["timeout"] = 2;
    r.bytes_sent = 100 * r.sent;
    r.bytes_received = 200 * r.responses;
    r.status_counts[200] = r.responses - 1;
    r.status_counts[503] = 1;
    r.duration = 2s;
    r.connections = 8;
    r.threads = 2;
    if (open_loop) r.rate = 500.0;
    for (int i = 1; i <= n; ++i) {
        r.latency.record(base * i);
        if (open_loop) r.corrected_latency.record(base * i * 2);
    }
    return r;
}

}  // namespace

TEST_CASE("a result survives its JSON round trip") {
    const result r = sample(1000, 100us, true);
    const auto text = boost::json::serialize(r.to_json());
    const result back = result::from_json(boost::json::parse(text));
    CHECK(back.sent == r.sent);
    CHECK(back.responses == r.responses);
    CHECK(back.errors == r.errors);
    CHECK(back.errors_by_kind == r.errors_by_kind);
    CHECK(back.status_counts == r.status_counts);
    CHECK(back.bytes_sent == r.bytes_sent);
    CHECK(back.bytes_received == r.bytes_received);
    CHECK(back.duration == r.duration);
    CHECK(back.connections == 8);
    CHECK(back.rate == r.rate);
    CHECK(back.latency == r.latency);
    CHECK(back.corrected_latency == r.corrected_latency);
}

TEST_CASE("a closed-loop result has no rate in JSON and reads back without one") {
    const result back = result::from_json(sample(10, 1ms, false).to_json());
    CHECK_FALSE(back.rate.has_value());
    CHECK(back.corrected_latency.count() == 0);
    CHECK(&back.honest_latency() == &back.latency);
}

TEST_CASE("merging two results gives the counts and percentiles of the combined histogram") {
    const result a = sample(1000, 100us, true);
    result b = sample(3000, 1ms, true);
    b.duration = 3s;
    b.status_counts[404] = 7;
    result merged = result::from_json(a.to_json());
    merged += result::from_json(b.to_json());

    CHECK(merged.responses == 4000);
    CHECK(merged.sent == 4004);
    CHECK(merged.errors == 4);
    CHECK(merged.errors_by_kind.at("timeout") == 4);
    CHECK(merged.status_counts.at(200) == 3998);
    CHECK(merged.status_counts.at(404) == 7);
    CHECK(merged.duration == 3s);  // shards run side by side
    CHECK(merged.connections == 16);
    CHECK(merged.rate == 1000.0);
    CHECK(merged.runs == 2);

    fanout::histogram combined = a.latency;
    combined += b.latency;
    CHECK(merged.latency == combined);
    for (double p : {50.0, 90.0, 99.0, 99.9, 100.0})
        CHECK(merged.latency.percentile(p) == combined.percentile(p));
    // 1000 values up to 100 ms from b are above all of a's.
    CHECK(merged.latency.percentile(50) > 1ms);
    CHECK(merged.corrected_latency.count() == 4000);
}

TEST_CASE("rates and the error share are per second of duration and per finished request") {
    const result r = sample(998, 100us, false);
    CHECK(r.requests_per_second() == Approx(499.0));
    CHECK(r.sent_per_second() == Approx(500.0));
    CHECK(r.error_percent() == Approx(0.2));
    CHECK(result{}.requests_per_second() == 0);
    CHECK(result{}.error_percent() == 0);
}

TEST_CASE("an open-loop result says when the rate asked for was not kept") {
    result r = sample(10, 100us, true);  // 500/s asked over 2 s
    r.sent = 995;
    CHECK(r.rate_kept());
    r.sent = 800;
    CHECK_FALSE(r.rate_kept());
    CHECK(fanout::load::to_text(r).find("rate asked for was not kept") != std::string::npos);
    r.rate.reset();
    CHECK(r.rate_kept());
}

TEST_CASE("the text report names every percentile, the status codes and the errors") {
    const auto text = fanout::load::to_text(sample(100, 1ms, true));
    for (const char* part : {"p50", "p90", "p99", "p99.9", "p99.99", "max", "corrected",
                             "uncorrected", "200 99", "503 1", "timeout 2"}) {
        INFO(part);
        CHECK(text.find(part) != std::string::npos);
    }
}

TEST_CASE("malformed result JSON is refused with a message naming the problem") {
    auto good = sample(10, 1ms, false).to_json();
    CHECK_THROWS_AS(result::from_json(boost::json::parse("[1,2]")), std::invalid_argument);
    auto wrong_format = good;
    wrong_format.as_object()["format"] = "something";
    CHECK_THROWS_WITH(result::from_json(wrong_format), Catch::Contains("format"));
    auto missing = good;
    missing.as_object().erase("responses");
    CHECK_THROWS_WITH(result::from_json(missing), Catch::Contains("responses"));
    auto negative = good;
    negative.as_object()["sent"] = -1;
    CHECK_THROWS_WITH(result::from_json(negative), Catch::Contains("sent"));
    auto bad_status = good;
    bad_status.as_object()["status_counts"].as_object()["abc"] = 1;
    CHECK_THROWS_WITH(result::from_json(bad_status), Catch::Contains("status"));
    auto bad_histogram = good;
    bad_histogram.as_object()["latency"] = 3;
    CHECK_THROWS_WITH(result::from_json(bad_histogram), Catch::Contains("latency"));
}

TEST_CASE("a result carries the ids of its runs through JSON and merges") {
    const auto id = fanout::load::make_run_id();
    CHECK(id.size() == 32);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(fanout::load::make_run_id() != id);

    result a = sample(10, 1ms, false);
    a.run_ids = {id};
    result b = sample(10, 1ms, false);
    b.run_ids = {"b-run"};
    const result back = result::from_json(a.to_json());
    CHECK(back.run_ids == std::vector<std::string>{id});
    a += b;
    CHECK(a.run_ids == std::vector<std::string>{id, "b-run"});
    CHECK(result::from_json(a.to_json()).run_ids == a.run_ids);

    // Written before run ids existed: none.
    auto old = sample(10, 1ms, false).to_json();
    old.as_object().erase("run_ids");
    CHECK(result::from_json(old).run_ids.empty());
    auto bad = sample(10, 1ms, false).to_json();
    bad.as_object()["run_ids"] = "not a list";
    CHECK_THROWS_WITH(result::from_json(bad), Catch::Contains("run_ids"));
}

TEST_CASE(
    "unanswered requests and malformed reasons survive JSON and a merge, and count as failed") {
    result r = sample(10, 1ms, false);  // 12 sent: 10 answered, 2 errors
    r.sent += 3;
    r.unanswered = 3;
    r.malformed_reasons["not an HTTP/1.x status line"] = 1;
    const result back = result::from_json(r.to_json());
    CHECK(back.unanswered == 3);
    CHECK(back.malformed_reasons == r.malformed_reasons);
    result merged = back;
    merged += back;
    CHECK(merged.unanswered == 6);
    CHECK(merged.malformed_reasons.at("not an HTTP/1.x status line") == 2);
    CHECK(r.error_percent() == Approx(100.0 * 5 / 15));

    const auto text = fanout::load::to_text(r);
    CHECK(text.find("2 errors, 3 unanswered") != std::string::npos);
    CHECK(text.find("15 requests = 10 answered + 2 errors + 3 unanswered") != std::string::npos);
    CHECK(text.find("malformed   not an HTTP/1.x status line 1") != std::string::npos);

    // A result written before these were counted reads back with none.
    auto older = r.to_json();
    older.as_object().erase("unanswered");
    older.as_object().erase("malformed_reasons");
    const result old = result::from_json(older);
    CHECK(old.unanswered == 0);
    CHECK(old.malformed_reasons.empty());
}

TEST_CASE("a result carries its time series through JSON and merges it") {
    auto one = sample(10, 1ms, true);
    one.series.start_unix_ns = 1'700'000'000'000'000'000;
    one.series.at(50ms).sent = 12;
    one.series.at(50ms).latency.record(3ms);
    const auto again = result::from_json(boost::json::parse(boost::json::serialize(one.to_json())));
    CHECK(again.series == one.series);
    auto merged = one;
    merged += again;
    CHECK(merged.series.total().sent == 24);
}

TEST_CASE("a result of format version 1 still reads, with no series; a newer one is refused") {
    auto old = sample(10, 1ms, false).to_json();
    old.as_object()["version"] = 1;
    old.as_object().erase("series");
    const auto read = result::from_json(old);
    CHECK(read.responses == 10);
    CHECK(read.series.intervals.empty());
    auto newer = sample(10, 1ms, false).to_json();
    newer.as_object()["version"] = result::json_version + 1;
    CHECK_THROWS_WITH(result::from_json(newer), Catch::Contains("version 3 is not supported"));
    auto missing = sample(10, 1ms, false).to_json();
    missing.as_object().erase("series");
    CHECK_THROWS_WITH(result::from_json(missing), Catch::Contains("series"));
}

TEST_CASE(
    "a result says its protocol and h2 reset codes through JSON; older files read as http/1.1") {
    auto h2 = sample(10, 1ms, false);
    h2.protocol = "h2";
    h2.pipeline = 32;
    h2.reset_codes["INTERNAL_ERROR"] = 3;
    const auto back = result::from_json(h2.to_json());
    CHECK(back.protocol == "h2");
    CHECK(back.pipeline == 32);
    CHECK(back.reset_codes == h2.reset_codes);
    CHECK(fanout::load::to_text(back).find("h2, 8 connections, 2 threads, streams 32") !=
          std::string::npos);
    CHECK(fanout::load::to_text(back).find("resets      INTERNAL_ERROR 3") != std::string::npos);

    auto old = sample(10, 1ms, false).to_json();
    old.as_object().erase("protocol");
    old.as_object().erase("reset_codes");
    const auto read = result::from_json(old);
    CHECK(read.protocol == "http/1.1");
    CHECK(read.reset_codes.empty());
    CHECK(fanout::load::to_text(read).find("http/1.1, 8 connections, 2 threads, pipeline 1") !=
          std::string::npos);

    auto bad = h2.to_json();
    bad.as_object()["protocol"] = "spdy";
    CHECK_THROWS_WITH(result::from_json(bad), Catch::Contains("\"protocol\""));

    auto mixed = read;
    mixed += back;
    CHECK(mixed.protocol == "mixed");
    CHECK(mixed.reset_codes.at("INTERNAL_ERROR") == 3);
}
