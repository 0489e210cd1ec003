#include <fanout/shard.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

TEST_CASE("shards K/N together take every line exactly once") {
    constexpr std::size_t lines = 1000;
    for (std::size_t count : {1u, 3u, 7u}) {
        std::vector<int> taken(lines + 1, 0);
        for (std::size_t index = 1; index <= count; ++index) {
            const fanout::shard s{index, count};
            for (std::size_t line = 1; line <= lines; ++line)
                taken[line] += s.includes(line) ? 1 : 0;
        }
        for (std::size_t line = 1; line <= lines; ++line) {
            INFO(count << " shards, line " << line);
            REQUIRE(taken[line] == 1);
        }
    }
}

TEST_CASE("a shard parses from K/N and names bad text") {
    CHECK(fanout::parse_shard("2/8").value() == fanout::shard{2, 8});
    CHECK(fanout::to_string(fanout::shard{2, 8}) == "2/8");
    for (const char* bad : {"", "3", "0/3", "4/3", "a/3", "1/", "/3", "1/0", "1/3x"}) {
        INFO(bad);
        const auto parsed = fanout::parse_shard(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == fanout::errc::invalid_input);
        CHECK(parsed.error().text().find(std::string("'") + bad + "'") != std::string::npos);
    }
}

TEST_CASE("a bad shard says which of K and N is wrong") {
    CHECK(fanout::parse_shard("1/0").error().text().find("N (the number of shards) must be at "
                                                         "least 1") != std::string::npos);
    CHECK(fanout::parse_shard("0/3").error().text().find("K counts from 1") != std::string::npos);
    CHECK(fanout::parse_shard("4/3").error().text().find("K (4) is more than N (3)") !=
          std::string::npos);
}
