#include <fanout/prometheus.hpp>

#include "child_process.hpp"
#include "cli_output.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using fanout::histogram;
using fanout::prometheus_labels;

namespace {

// One sample line, parsed.
struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    std::string label_text;  // as written, for the duplicate check
    double value = 0;
};

// Parses `text` by the text format's rules (0.0.4) and fails the test at
// the first line that breaks one: each line a HELP, a TYPE or a sample;
// valid names; label values in double quotes with only \\, \" and \n as
// escapes; a family's HELP and TYPE once each and before its samples; a
// family's samples together; no series twice; counters whole, finite and
// not negative; histograms with ascending le bounds, non-decreasing bucket
// counts, a +Inf bucket equal to _count, and _sum and _count. Returns the
// samples, and each family's type.
std::vector<sample> check_exposition(const std::string& text,
                                     std::map<std::string, std::string>* types_out = nullptr) {
    const std::regex metric_name("[a-zA-Z_:][a-zA-Z0-9_:]*");
    const std::regex label_name("[a-zA-Z_][a-zA-Z0-9_]*");
    REQUIRE_FALSE(text.empty());
    REQUIRE(text.back() == '\n');

    std::map<std::string, std::string> types;
    std::set<std::string> helped;
    std::set<std::string> finished;  // families whose samples are behind us
    std::string current;             // the family of the last line
    std::set<std::string> series;
    std::vector<sample> out;

    const auto family_of = [&](const std::string& name) {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string s = suffix;
            if (name.size() > s.size() && name.ends_with(s)) {
                const auto base = name.substr(0, name.size() - s.size());
                if (types.contains(base) && types[base] == "histogram") return base;
            }
        }
        return name;
    };
    const auto enter = [&](const std::string& family) {
        if (family == current) return;
        INFO("family " << family);
        CHECK_FALSE(finished.contains(family));  // its lines are together
        if (!current.empty()) finished.insert(current);
        current = family;
    };

    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        INFO("line: " << line);
        REQUIRE_FALSE(line.empty());
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const auto rest = line.substr(7);
            const auto space = rest.find(' ');
            REQUIRE(space != std::string::npos);
            const auto name = rest.substr(0, space);
            REQUIRE(std::regex_match(name, metric_name));
            enter(name);
            if (line[2] == 'H') {
                CHECK(helped.insert(name).second);
                CHECK_FALSE(types.contains(name));  // HELP first, as the clients write it
                // Only \\ and \n are escapes in help text.
                const auto help = rest.substr(space + 1);
                for (std::size_t i = 0; i < help.size(); ++i)
                    if (help[i] == '\\') {
                        REQUIRE(i + 1 < help.size());
                        CHECK((help[i + 1] == '\\' || help[i + 1] == 'n'));
                        ++i;
                    }
            } else {
                const auto type = rest.substr(space + 1);
                CHECK((type == "counter" || type == "gauge" || type == "histogram" ||
                       type == "summary" || type == "untyped"));
                CHECK(types.emplace(name, type).second);
            }
            continue;
        }
        REQUIRE(line[0] != '#');

        sample s;
        std::size_t at = 0;
        while (at < line.size() && line[at] != '{' && line[at] != ' ') ++at;
        s.name = line.substr(0, at);
        REQUIRE(std::regex_match(s.name, metric_name));
        if (at < line.size() && line[at] == '{') {
            const auto open = at++;
            while (line.at(at) != '}') {
                const auto eq = line.find('=', at);
                REQUIRE(eq != std::string::npos);
                const auto name = line.substr(at, eq - at);
                REQUIRE(std::regex_match(name, label_name));
                CHECK_FALSE(name.starts_with("__"));
                REQUIRE(line.at(eq + 1) == '"');
                std::string value;
                at = eq + 2;
                for (;; ++at) {
                    REQUIRE(at < line.size());
                    const char c = line[at];
                    if (c == '"') break;
                    if (c == '\\') {
                        const char next = line.at(++at);
                        REQUIRE((next == '\\' || next == '"' || next == 'n'));
                        value += next == 'n' ? '\n' : next;
                    } else {
                        CHECK(static_cast<unsigned char>(c) >= 0x20);
                        value += c;
                    }
                }
                CHECK(s.labels.emplace(name, value).second);
                ++at;
                if (line.at(at) == ',') ++at;
            }
            s.label_text = line.substr(open, at + 1 - open);
            ++at;
        }
        REQUIRE(line.at(at) == ' ');
        const auto value_text = line.substr(at + 1);
        REQUIRE(value_text.find(' ') == std::string::npos);  // no timestamps here
        std::size_t used = 0;
        s.value = std::stod(value_text, &used);
        CHECK(used == value_text.size());

        const auto family = family_of(s.name);
        enter(family);
        REQUIRE(types.contains(family));  // TYPE before the samples
        CHECK(helped.contains(family));
        CHECK(series.insert(s.name + s.label_text).second);
        const auto& type = types[family];
        if (type == "counter") {
            CHECK(s.name.ends_with("_total"));
            CHECK(s.value >= 0);
            CHECK(s.value == static_cast<double>(static_cast<std::uint64_t>(s.value)));
        }
        if (type == "histogram") CHECK(s.name != family);  // only _bucket, _sum, _count
        out.push_back(std::move(s));
    }

    // Histograms: per label set (le aside), ascending bounds, cumulative
    // counts, +Inf == _count, and a _sum.
    for (const auto& [family, type] : types) {
        if (type != "histogram") continue;
        INFO("histogram " << family);
        std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>>
            buckets;
        std::map<std::map<std::string, std::string>, double> counts;
        std::set<std::map<std::string, std::string>> sums;
        for (const auto& s : out) {
            auto labels = s.labels;
            if (s.name == family + "_bucket") {
                REQUIRE(labels.contains("le"));
                const auto le = labels["le"];
                labels.erase("le");
                const double bound =
                    le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le);
                buckets[labels].emplace_back(bound, s.value);
            } else if (s.name == family + "_count") {
                counts[labels] = s.value;
            } else if (s.name == family + "_sum") {
                sums.insert(labels);
            }
        }
        REQUIRE_FALSE(buckets.empty());
        for (const auto& [labels, list] : buckets) {
            for (std::size_t i = 1; i < list.size(); ++i) {
                CHECK(list[i - 1].first < list[i].first);
                CHECK(list[i - 1].second <= list[i].second);
            }
            REQUIRE(list.back().first == std::numeric_limits<double>::infinity());
            REQUIRE(counts.contains(labels));
            CHECK(list.back().second == counts[labels]);
            CHECK(sums.contains(labels));
        }
    }
    if (types_out) *types_out = types;
    return out;
}

const sample& find(const std::vector<sample>& samples, const std::string& name,
                   const std::map<std::string, std::string>& labels = {}) {
    const auto it = std::ranges::find_if(
        samples, [&](const sample& s) { return s.name == name && s.labels == labels; });
    REQUIRE(it != samples.end());
    return *it;
}

histogram four_records() {
    histogram h;
    h.record(500us);
    h.record(1ms);  // on a bound: counted at or below it
    h.record(5ms);
    h.record(20ms);
    return h;
}

}  // namespace

TEST_CASE("a histogram is exposed as cumulative buckets in seconds, a +Inf bucket, sum and count") {
    const std::vector<std::chrono::nanoseconds> bounds{1ms, 10ms};
    std::string out;
    fanout::append_prometheus_histogram(out, four_records(), "rpc_latency_seconds",
                                        "Latency of one call.", bounds);
    CHECK(out ==
          "# HELP rpc_latency_seconds Latency of one call.\n"
          "# TYPE rpc_latency_seconds histogram\n"
          "rpc_latency_seconds_bucket{le=\"0.001\"} 2\n"
          "rpc_latency_seconds_bucket{le=\"0.01\"} 3\n"
          "rpc_latency_seconds_bucket{le=\"+Inf\"} 4\n"
          "rpc_latency_seconds_sum 0.0265\n"
          "rpc_latency_seconds_count 4\n");
    check_exposition(out);
}

TEST_CASE("the default latency buckets run from 1 ms to 10 s, and an empty histogram is zeros") {
    const auto bounds = fanout::default_latency_buckets();
    REQUIRE(bounds.size() == 13);
    CHECK(bounds.front() == 1ms);
    CHECK(bounds[1] == 2500us);
    CHECK(bounds.back() == 10s);
    CHECK(std::ranges::is_sorted(bounds));

    std::string out;
    fanout::append_prometheus_histogram(out, histogram(), "idle_seconds", "Nothing yet.",
                                        {{"backend", "eu-1"}});
    const auto samples = check_exposition(out);
    CHECK(samples.size() == 13 + 1 + 2);
    for (const auto& s : samples) CHECK(s.value == 0);
    CHECK(find(samples, "idle_seconds_bucket", {{"backend", "eu-1"}, {"le", "2.5"}}).value == 0);
}

TEST_CASE("label values are escaped, and characters the format cannot escape are replaced") {
    std::string out;
    const std::string awkward = std::string("a\"b\\c\nd\re") + '\0' + "f";
    fanout::append_prometheus_histogram(out, four_records(), "calls_seconds",
                                        "Help with a \\ and a\nline feed.",
                                        {{"target", awkward}, {"zone", "eu"}});
    CHECK(out.find("{target=\"a\\\"b\\\\c\\nd\xEF\xBF\xBD"
                   "e\xEF\xBF\xBD"
                   "f\",zone=\"eu\",le=\"0.001\"}") != std::string::npos);
    CHECK(out.find("# HELP calls_seconds Help with a \\\\ and a\\nline feed.\n") !=
          std::string::npos);
    const auto samples = check_exposition(out);
    CHECK(find(samples, "calls_seconds_count",
               {{"target",
                 "a\"b\\c\nd\xEF\xBF\xBD"
                 "e\xEF\xBF\xBD"
                 "f"},
                {"zone", "eu"}})
              .value == 4);
}

TEST_CASE("progress counters are exposed as counters and gauges, the total only when known") {
    fanout::progress_snapshot snapshot;
    snapshot.started = 120;
    snapshot.done = 100;
    snapshot.failed = 7;
    snapshot.retried = 3;
    std::string lazy;
    fanout::append_prometheus_progress(lazy, snapshot, "fanout_checks", {{"job", "sweep"}});
    std::map<std::string, std::string> types;
    const auto samples = check_exposition(lazy, &types);
    const std::map<std::string, std::string> job{{"job", "sweep"}};
    CHECK(find(samples, "fanout_checks_started_total", job).value == 120);
    CHECK(find(samples, "fanout_checks_done_total", job).value == 100);
    CHECK(find(samples, "fanout_checks_failed_total", job).value == 7);
    CHECK(find(samples, "fanout_checks_retried_total", job).value == 3);
    CHECK(find(samples, "fanout_checks_in_flight", job).value == 20);
    CHECK(types["fanout_checks_started_total"] == "counter");
    CHECK(types["fanout_checks_in_flight"] == "gauge");
    CHECK_FALSE(types.contains("fanout_checks_items"));

    snapshot.total = 500;
    std::string sized;
    fanout::append_prometheus_progress(sized, snapshot, "fanout_checks");
    const auto with_total = check_exposition(sized, &types);
    CHECK(find(with_total, "fanout_checks_items").value == 500);
    CHECK(types["fanout_checks_items"] == "gauge");
}

TEST_CASE("names Prometheus would reject are refused") {
    std::string out;
    const histogram h;
    CHECK_THROWS_AS(fanout::append_prometheus_histogram(out, h, "9lives", "x"),
                    std::invalid_argument);
    CHECK_THROWS_AS(fanout::append_prometheus_histogram(out, h, "a-b", "x"), std::invalid_argument);
    CHECK_THROWS_AS(fanout::append_prometheus_histogram(out, h, "ok", "x", {{"le", "1"}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(fanout::append_prometheus_histogram(out, h, "ok", "x", {{"__name", "1"}}),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        fanout::append_prometheus_histogram(out, h, "ok", "x", {{"a", "1"}, {"a", "2"}}),
        std::invalid_argument);
    const std::vector<std::chrono::nanoseconds> descending{10ms, 1ms};
    CHECK_THROWS_AS(fanout::append_prometheus_histogram(out, h, "ok", "x", descending),
                    std::invalid_argument);
    CHECK_THROWS_AS(fanout::append_prometheus_progress(out, {}, "with space"),
                    std::invalid_argument);
    CHECK(out.empty());  // nothing half-written
}

TEST_CASE("a scrape of histograms and progress passes Prometheus's own promtool") {
#ifndef FANOUT_PROMTOOL
    WARN("promtool not found at configure time (Debian package prometheus): not run");
#else
    std::string scrape;
    fanout::append_prometheus_histogram(scrape, four_records(), "fanout_call_latency_seconds",
                                        "How long one call took.",
                                        {{"backend", "a \"quoted\" \\ name\n"}});
    fanout::progress_snapshot snapshot;
    snapshot.total = 10;
    snapshot.started = 4;
    snapshot.done = 3;
    snapshot.failed = 1;
    fanout::append_prometheus_progress(scrape, snapshot, "fanout_calls", {{"backend", "b"}});
    check_exposition(scrape);
    const fanout::test::temp_file file(scrape);
    fanout::test::child_process lint(
        {"/bin/sh", "-c", std::string(FANOUT_PROMTOOL) + " check metrics < " + file.path.string()});
    const auto status = lint.wait_for_exit(std::chrono::seconds(30));
    INFO(scrape);
    INFO(lint.output() << lint.errors());
    REQUIRE(status.exited);
    CHECK(status.code == 0);
    CHECK(lint.output().empty());
    CHECK(lint.errors().empty());
#endif
}
