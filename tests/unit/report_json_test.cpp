#include <fanout/report/json.hpp>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::string json_string(std::string_view text) {
    std::string out;
    fanout::report::append_json_string(out, text);
    return out;
}

std::string millis(std::chrono::nanoseconds d) {
    std::string out;
    fanout::report::append_milliseconds(out, d);
    return out;
}

}  // namespace

TEST_CASE("plain text becomes a JSON string as it is") {
    CHECK(json_string("www.example.test") == "\"www.example.test\"");
    CHECK(json_string("") == "\"\"");
}

TEST_CASE("quotes, backslashes, control characters and UTF-8 are escaped and read back") {
    for (const std::string& text :
         std::vector<std::string>{"say \"hi\"", "C:\\path", "tab\there\nnewline", "h\xc3\xa9llo",
                                  std::string("nul\0byte", 8)}) {
        const auto written = json_string(text);
        INFO(written);
        CHECK(boost::json::parse(written).as_string() == text);
    }
}

TEST_CASE("durations are written as milliseconds with three decimals") {
    CHECK(millis(0ns) == "0.000");
    CHECK(millis(1234567ns) == "1.234");
    CHECK(millis(50us) == "0.050");
    CHECK(millis(2s) == "2000.000");
    CHECK(millis(-1500us) == "-1.500");
}

TEST_CASE("text that is not UTF-8 becomes valid JSON, each bad byte U+FFFD, and says so") {
    std::string out;
    CHECK(fanout::report::append_json_string(out, "ab\xff\"c\xe2\x82"));
    CHECK(boost::json::parse(out).as_string() == "ab\xef\xbf\xbd\"c\xef\xbf\xbd\xef\xbf\xbd");
    out.clear();
    CHECK_FALSE(fanout::report::append_json_string(out, "h\xc3\xa9llo"));
    CHECK_FALSE(fanout::report::append_json_string(out, "plain"));
}
