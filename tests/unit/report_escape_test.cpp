#include <fanout/report/escape.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace report = fanout::report;

TEST_CASE("UTF-8 is valid by RFC 3629: no overlong forms, surrogates or code points past 10FFFF") {
    for (const std::string& good :
         std::vector<std::string>{"", "ascii", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                  "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", std::string("nul\0", 4)})
        CHECK(report::is_valid_utf8(good));
    for (const std::string& bad : std::vector<std::string>{
             "\xff", "\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
             "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x82", "\xc3"})
        CHECK_FALSE(report::is_valid_utf8(bad));
}

TEST_CASE("each byte that begins no valid sequence is replaced by U+FFFD") {
    std::string out;
    CHECK(report::append_valid_utf8(out, "a\xe2\x82z\xff\xc3\xa9"));
    CHECK(out == "a\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xc3\xa9");
    out.clear();
    CHECK_FALSE(report::append_valid_utf8(out, "caf\xc3\xa9"));
    CHECK(out == "caf\xc3\xa9");
}

TEST_CASE("printable text escapes C0, DEL, C1 and invalid bytes, and keeps the rest") {
    CHECK(report::printable("plain text, caf\xc3\xa9 \xe2\x82\xac") ==
          "plain text, caf\xc3\xa9 \xe2\x82\xac");
    CHECK(report::printable("\x1b[2J\r\n\t") == "\\x1b[2J\\x0d\\x0a\\x09");
    CHECK(report::printable(std::string("a\0b\x7f", 4)) == "a\\x00b\\x7f");
    CHECK(report::printable("csi \xc2\x9b, bad \xff\xc3") == "csi \\xc2\\x9b, bad \\xff\\xc3");
}
