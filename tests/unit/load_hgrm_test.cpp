#include <fanout/load/hgrm.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct hgrm_row {
    double value;
    double percentile;
    std::uint64_t total_count;
};

struct parsed_hgrm {
    std::vector<hgrm_row> rows;
    std::string header;
    std::vector<std::string> footers;
};

// Reads the text as HdrHistogram's plotters do: a header line, rows of four
// columns, lines starting with '#' as footers.
parsed_hgrm parse(const std::string& text) {
    parsed_hgrm out;
    std::istringstream in(text);
    std::getline(in, out.header);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        if (line[0] == '#') {
            out.footers.push_back(line);
            continue;
        }
        std::istringstream fields(line);
        hgrm_row row{};
        std::string inverted;
        fields >> row.value >> row.percentile >> row.total_count >> inverted;
        REQUIRE(fields);
        out.rows.push_back(row);
    }
    return out;
}

}  // namespace

TEST_CASE(
    "the hgrm text reads back with ascending percentiles ending at 100% and the run's count") {
    fanout::histogram h;
    for (int i = 1; i <= 10'000; ++i) h.record(std::chrono::microseconds(i));
    const auto parsed = parse(fanout::load::to_hgrm(h));
    CHECK(parsed.header.find("Value") != std::string::npos);
    CHECK(parsed.header.find("1/(1-Percentile)") != std::string::npos);
    REQUIRE(parsed.rows.size() > 50);
    for (std::size_t i = 1; i < parsed.rows.size(); ++i) {
        CHECK(parsed.rows[i].percentile >= parsed.rows[i - 1].percentile);
        CHECK(parsed.rows[i].value >= parsed.rows[i - 1].value);
        CHECK(parsed.rows[i].total_count >= parsed.rows[i - 1].total_count);
    }
    CHECK(parsed.rows.front().percentile == 0.0);
    CHECK(parsed.rows.back().percentile == 1.0);
    CHECK(parsed.rows.back().total_count == 10'000);
    CHECK(parsed.rows.back().value == Approx(10.0));  // the max, in ms
    // The median row: half the records, about 5 ms.
    for (const auto& row : parsed.rows)
        if (row.percentile == 0.5) CHECK(row.value == Approx(5.0).epsilon(0.002));
    REQUIRE(parsed.footers.size() == 3);
    CHECK(parsed.footers[0].find("#[Mean    =        5.000") == 0);
    CHECK(parsed.footers[1].find("Total count    =        10000]") != std::string::npos);
    CHECK(parsed.footers[2].find("#[Buckets =") == 0);
}

TEST_CASE("an empty histogram gives an hgrm with no rows") {
    const auto parsed = parse(fanout::load::to_hgrm(fanout::histogram{}));
    CHECK(parsed.rows.empty());
    CHECK(parsed.footers.size() == 3);
}

TEST_CASE("an hgrm of one value has a row at 0% and one at 100%") {
    fanout::histogram h;
    h.record(3ms);
    const auto parsed = parse(fanout::load::to_hgrm(h));
    REQUIRE(parsed.rows.size() == 2);
    CHECK(parsed.rows[0].percentile == 0.0);
    CHECK(parsed.rows[1].percentile == 1.0);
    CHECK(parsed.rows[1].total_count == 1);
}
