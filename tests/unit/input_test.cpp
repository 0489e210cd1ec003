#include <fanout/input.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

std::vector<std::pair<std::size_t, std::string>> items_of(std::istream& in, fanout::shard slice) {
    std::vector<std::pair<std::size_t, std::string>> out;
    for (const auto& item : fanout::item_lines(in, slice)) out.emplace_back(item.number, item.text);
    return out;
}

}  // namespace

TEST_CASE("item lines skip blanks and comments, trim, and keep their line numbers") {
    std::istringstream in("# header\n\n  first  \n\t\n\tsecond\r\n  # indented comment\nthird");
    const auto items = items_of(in, {});
    REQUIRE(items.size() == 3);
    CHECK(items[0] == std::pair<std::size_t, std::string>{3, "first"});
    CHECK(items[1] == std::pair<std::size_t, std::string>{5, "second"});
    CHECK(items[2] == std::pair<std::size_t, std::string>{7, "third"});
}

TEST_CASE("item lines of shards 1/2 and 2/2 split by line number, comments included") {
    std::string text;
    for (int i = 1; i <= 10; ++i)
        text += (i == 4 ? "# comment" : "item" + std::to_string(i)) + "\n";
    std::istringstream first(text), second(text);
    const auto a = items_of(first, {1, 2});
    const auto b = items_of(second, {2, 2});
    CHECK(a.size() == 5);
    CHECK(b.size() == 4);  // line 4 is the comment
    for (const auto& [number, item] : a) CHECK(number % 2 == 1);
    for (const auto& [number, item] : b) CHECK(number % 2 == 0);
}

TEST_CASE("item lines read one line only when the next item is pulled") {
    std::istringstream in("a\nb\nc\n");
    auto items = fanout::item_lines(in);
    auto it = items.begin();
    CHECK((*it).text == "a");
    CHECK(in.tellg() == 2);  // "a\n" read, nothing more
    ++it;
    CHECK((*it).text == "b");
    CHECK(in.tellg() == 4);
}

TEST_CASE("a generated range yields what next() returns until it returns nothing") {
    struct count_to {
        int next = 0;
        int last = 0;
        std::optional<int> operator()() {
            if (next >= last) return std::nullopt;
            return next++;
        }
    };
    std::vector<int> seen;
    for (const int i : fanout::generated(count_to{0, 4})) seen.push_back(i);
    CHECK(seen == std::vector<int>{0, 1, 2, 3});
    auto empty = fanout::generated(count_to{0, 0});
    CHECK(empty.begin() == empty.end());
}

TEST_CASE("loops pulling from one shared input take every item exactly once") {
    std::string text;
    constexpr int items = 20'000;
    for (int i = 0; i < items; ++i) text += std::to_string(i) + "\n";
    std::istringstream in(text);
    fanout::shared_input source(fanout::item_lines(in));
    std::vector<std::vector<std::size_t>> taken(4);
    std::vector<std::thread> threads;
    for (auto& mine : taken)
        threads.emplace_back([&source, &mine] {
            for (const auto& item : source.pull()) mine.push_back(item.number);
        });
    for (auto& t : threads) t.join();
    std::multiset<std::size_t> all;
    for (const auto& mine : taken) all.insert(mine.begin(), mine.end());
    CHECK(all.size() == items);
    CHECK(std::set<std::size_t>(all.begin(), all.end()).size() == items);
    CHECK(!source.next());  // the end stays the end
}

TEST_CASE("an input file is stdin for '-' and not open when the file is missing") {
    fanout::input_file standard("-");
    CHECK(standard.is_open());
    CHECK(&standard.stream() == &std::cin);
    fanout::input_file missing("/nonexistent/fanout/targets.txt");
    CHECK(!missing.is_open());
}
