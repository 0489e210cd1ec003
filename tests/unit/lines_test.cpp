#include <fanout/lines.hpp>

#include "test_loop.hpp"

#include <fanout/gather.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace net = boost::asio;
using fanout::test::run_bounded;

static_assert(std::ranges::input_range<fanout::line_range>);
static_assert(std::ranges::view<fanout::line_range>);

TEST_CASE("lines are numbered from one and lose their line ends") {
    std::istringstream in("first\nsecond\r\n\nlast without newline");
    std::vector<fanout::line> seen;
    for (const auto& l : fanout::lines(in)) seen.push_back(l);
    REQUIRE(seen.size() == 4);
    CHECK(seen[0].number == 1);
    CHECK(seen[0].text == "first");
    CHECK(seen[1].text == "second");
    CHECK(seen[2].text.empty());
    CHECK(seen[3].number == 4);
    CHECK(seen[3].text == "last without newline");
}

TEST_CASE("an empty stream has no lines") {
    std::istringstream in("");
    auto range = fanout::lines(in);
    CHECK(range.begin() == range.end());
}

TEST_CASE("gather_each reads a stream lazily, one line per worker pull") {
    std::string text;
    for (int i = 0; i < 20'000; ++i) text += "name-" + std::to_string(i) + "\n";
    std::istringstream in(text);
    const auto total = static_cast<std::streamoff>(text.size());

    net::io_context io;
    std::streamoff furthest_read_at_first_outcome = -1;
    std::vector<std::size_t> numbers;
    auto summary = run_bounded(io, fanout::gather_each(
                                       fanout::lines(in),
                                       [](const fanout::line& l) -> net::awaitable<std::size_t> {
                                           co_await net::post(co_await net::this_coro::executor,
                                                              net::use_awaitable);
                                           co_return l.number;
                                       },
                                       [&](fanout::outcome<std::size_t>&& out) {
                                           if (furthest_read_at_first_outcome < 0)
                                               furthest_read_at_first_outcome = in.tellg();
                                           numbers.push_back(out.value());
                                       },
                                       {.limit = 8}));
    CHECK(summary.total == 20'000);
    // When the first item ended, only about `limit` lines had been read.
    CHECK(furthest_read_at_first_outcome > 0);
    CHECK(furthest_read_at_first_outcome < total / 100);
    std::sort(numbers.begin(), numbers.end());
    CHECK(numbers.front() == 1);
    CHECK(numbers.back() == 20'000);
    CHECK(std::adjacent_find(numbers.begin(), numbers.end()) == numbers.end());
}
