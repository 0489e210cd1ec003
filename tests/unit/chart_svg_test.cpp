#include "chart/svg.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace chart = fanout::chart;

namespace {

std::vector<double> values(const chart::axis_ticks& axis) {
    std::vector<double> out;
    for (const auto& t : axis.ticks) out.push_back(t.value);
    return out;
}

std::vector<std::string> labels(const chart::axis_ticks& axis) {
    std::vector<std::string> out;
    for (const auto& t : axis.ticks) out.push_back(t.label);
    return out;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("numbers are labelled with three significant digits and k, M, G") {
    CHECK(chart::format_number(0) == "0");
    CHECK(chart::format_number(0.25) == "0.25");
    CHECK(chart::format_number(12.5) == "12.5");
    CHECK(chart::format_number(250) == "250");
    CHECK(chart::format_number(1500) == "1.5k");
    CHECK(chart::format_number(25'000) == "25k");
    CHECK(chart::format_number(999'999) == "1M");
    CHECK(chart::format_number(2'500'000'000) == "2.5G");
    CHECK(chart::format_number(-1500) == "-1.5k");
    CHECK(chart::format_number(0.0012) == "0.0012");
}

TEST_CASE("durations in milliseconds are labelled in µs, ms or s") {
    CHECK(chart::format_value(0.25, chart::unit::milliseconds) == "250 µs");
    CHECK(chart::format_value(12.5, chart::unit::milliseconds) == "12.5 ms");
    CHECK(chart::format_value(1500, chart::unit::milliseconds) == "1.5 s");
    CHECK(chart::format_value(30, chart::unit::seconds) == "30 s");
    CHECK(chart::format_value(600, chart::unit::seconds) == "10 min");
    CHECK(chart::format_value(1500, chart::unit::per_second) == "1.5k/s");
    CHECK(chart::format_value(99.9, chart::unit::percent) == "99.9%");
}

TEST_CASE("linear ticks fall on 1, 2 or 5 times a power of ten and cover the range") {
    const auto axis = chart::linear_ticks(0, 97, 6, chart::unit::number);
    CHECK(values(axis) == std::vector<double>{0, 20, 40, 60, 80, 100});
    CHECK(axis.low == 0);
    CHECK(axis.high == 100);
    const auto small = chart::linear_ticks(0.13, 0.61, 6, chart::unit::number);
    CHECK(labels(small) ==
          std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"});
    CHECK(chart::linear_ticks(0, 1e6, 9, chart::unit::number).ticks.size() <= 9);
}

TEST_CASE("a flat linear range is widened so that it has ticks") {
    const auto axis = chart::linear_ticks(5, 5, 6, chart::unit::number);
    CHECK(axis.low < 5);
    CHECK(axis.high > 5);
    CHECK(axis.ticks.size() >= 2);
    CHECK(chart::linear_ticks(0, 0, 6, chart::unit::number).high > 0);
}

TEST_CASE("a long time axis ticks on whole minutes") {
    const auto axis = chart::linear_ticks(0, 3600, 9, chart::unit::seconds);
    for (const auto& t : axis.ticks) CHECK(std::fmod(t.value, 60) == 0);
    CHECK(axis.ticks.back().label == "60 min");
}

TEST_CASE("log ticks fall on decades, with 2 and 5 between over a short range") {
    const auto wide = chart::log_ticks(0.3, 250, chart::unit::milliseconds);
    CHECK(values(wide) == std::vector<double>{0.1, 1, 10, 100, 1000});
    CHECK(labels(wide) == std::vector<std::string>{"100 µs", "1 ms", "10 ms", "100 ms", "1 s"});
    const auto narrow = chart::log_ticks(1.5, 40, chart::unit::number);
    CHECK(values(narrow).size() == 7);  // 1 2 5 10 20 50 100
    CHECK(narrow.low == 1);
    CHECK(narrow.high == 100);
    const auto one_value = chart::log_ticks(10, 10, chart::unit::number);
    CHECK(one_value.low < one_value.high);
}

TEST_CASE("downsampling keeps each bucket's lowest and highest point, in order") {
    std::vector<chart::point> points;
    for (int i = 0; i < 10'000; ++i) points.push_back({double(i), 1.0});
    points[4321].y = 500;  // a spike
    points[8765].y = -3;   // a dip
    const auto kept = chart::downsample(points, 2000);
    CHECK(kept.size() <= 2000);
    CHECK(kept.size() >= 1000);
    bool spike = false;
    bool dip = false;
    for (std::size_t i = 0; i < kept.size(); ++i) {
        if (i > 0) CHECK(kept[i].x > kept[i - 1].x);
        spike = spike || kept[i].y == 500;
        dip = dip || kept[i].y == -3;
    }
    CHECK(spike);
    CHECK(dip);
    CHECK(chart::downsample(std::vector<chart::point>(10, {1, 1}), 2000).size() == 10);
}

TEST_CASE("a line chart draws one path per series, a legend and escaped names") {
    chart::line_chart c;
    c.id = "latency";
    c.title = "Latency <over> time";
    c.log_y = true;
    c.y_unit = chart::unit::milliseconds;
    c.lines.push_back({"p50", {{0, 1}, {1, 2}, {2, 1.5}}, 0});
    c.lines.push_back({"p99 & more", {{0, 5}, {1, 50}, {2, 7}}, 1});
    const auto svg = chart::render(c);
    CHECK(svg.find(R"(data-chart="latency")") != std::string::npos);
    CHECK(occurrences(svg, R"(class="series")") == 2);
    CHECK(occurrences(svg, R"(class="legend")") == 2);
    CHECK(svg.find("p99 &amp; more") != std::string::npos);
    CHECK(svg.find("<over>") == std::string::npos);
    CHECK(svg.find(R"(d="M)") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);
}

TEST_CASE("a chart with no points draws its axes and says so") {
    chart::line_chart c;
    c.id = "empty";
    c.log_y = true;
    c.lines.push_back({"p50", {{0, 0}}, 0});  // not drawable on a log axis
    const auto svg = chart::render(c);
    CHECK(svg.find("no data") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);
}

TEST_CASE("a bar chart draws one bar per entry") {
    chart::bar_chart c;
    c.id = "status";
    c.bars = {{"200", 990}, {"503", 10}};
    const auto svg = chart::render(c);
    CHECK(occurrences(svg, R"(class="bar")") == 2);
    CHECK(svg.find(">990<") != std::string::npos);
}

TEST_CASE("a gap in a series breaks its line instead of joining across it") {
    chart::line_chart c;
    c.id = "gaps";
    c.lines.push_back({"p50", {{0, 1}, {1, 2}, {2, chart::gap}, {3, 2}, {4, 1}}, 0});
    const auto svg = chart::render(c);
    const auto d = svg.find(R"(class="series")");
    REQUIRE(d != std::string::npos);
    const auto path = svg.substr(d, svg.find("/>", d) - d);
    CHECK(occurrences(path, "M") == 2);
    CHECK(occurrences(path, "L") == 2);
    CHECK(svg.find("nan") == std::string::npos);
}
